package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/sqlite"
)

const crashDBEnv = "INGREN_SQLITE_CRASH_DB"

// TestStoreSurvivesKillNine kills a process that is finishing emails from
// several goroutines, with SIGKILL, and checks the file it leaves: intact,
// every Finish the process saw commit is there, and the counters match the
// emails exactly.
func TestStoreSurvivesKillNine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ingren.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNineChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var id string
	done := map[int]bool{}
	lines := bufio.NewScanner(out)
	for len(done) < 300 && lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 2 && f[0] == "created":
			id = f[1]
		case len(f) == 2 && f[0] == "finished":
			i, _ := strconv.Atoi(f[1])
			done[i] = true
		}
	}
	if id == "" || len(done) < 300 {
		t.Fatalf("child stopped early: campaign %q, %d finished, %v", id, len(done), lines.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s := MustStore(t, path)
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	c, err := s.Get(context.Background(), "tenant-a", id)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := storetest.AllItems(t, s, id, 1000)
	finished := 0
	for _, it := range items {
		if it.Status != campaign.EmailPending {
			finished++
		} else if done[it.Index] {
			t.Errorf("item %d was reported finished but is pending", it.Index)
		}
	}
	t.Logf("killed after %d reported finishes; %d items finished in the file, counters %d+%d", len(done), finished, c.Succeeded, c.Failed)
	if c.Succeeded+c.Failed != finished {
		t.Errorf("counters %d+%d, but %d items finished", c.Succeeded, c.Failed, finished)
	}
}

// TestKillNineChild is the process TestStoreSurvivesKillNine kills. It
// finishes emails until killed (or all are done) and prints each commit.
func TestKillNineChild(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("run by TestStoreSurvivesKillNine")
	}
	s := MustStore(t, path)
	c := storetest.NewCampaign("tenant-a", 1000)
	storetest.MustCreate(t, s, c, storetest.NewItems(c))
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	say("created %s", c.ID)
	indexes := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range indexes {
				if err := s.Finish(context.Background(), c.ID, i, campaign.EmailSucceeded, campaign.Outcome{Subject: "s"}, time.Now()); err != nil {
					t.Error(err)
					return
				}
				say("finished %d", i)
			}
		})
	}
	for i := range c.Total {
		indexes <- i
	}
	close(indexes)
	wg.Wait()
}
