package email_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
)

// repairs records what a RepairObserver is told.
type repairs struct {
	mu  sync.Mutex
	got []string
}

func (r *repairs) Repaired(model string, reason email.RepairReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, model+" "+string(reason))
}

// TestComposeObserver: the Composer tells its Observer of each repair
// round it runs, and of nothing else.
func TestComposeObserver(t *testing.T) {
	bad := strings.Replace(goodBody, "Hi Sarah,", "Hi [First Name],", 1)
	tests := []struct {
		name   string
		script []openaitest.Reply
		want   []string
	}{
		{"NoneWithoutRepair", []openaitest.Reply{reply("Hiring in sales", goodBody)}, nil},
		{"OnePerRepairRound", []openaitest.Reply{reply("Hiring in sales", bad), reply("Hiring in sales", goodBody)},
			[]string{"gpt-4o-mini quality"}},
		{"OneWhenTheRepairFailsToo", []openaitest.Reply{reply("Hiring in sales", bad), reply("Hiring in sales", bad)},
			[]string{"gpt-4o-mini quality"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := openaitest.New(t, openaitest.WithScript(tt.script...))
			c := composer(t, up)
			obs := &repairs{}
			c.Observer = obs
			if _, err := c.Compose(context.Background(), request()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(obs.got, tt.want) {
				t.Errorf("observed %q, want %q", obs.got, tt.want)
			}
		})
	}
}
