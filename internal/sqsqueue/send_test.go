package sqsqueue

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// fakeSQS answers SendMessageBatch in SQS's JSON protocol and fails the
// entries that fail says to, so the retry of failed entries can be tested
// without an emulator that never fails any.
type fakeSQS struct {
	// fail returns the error code and sender fault of a failed entry, or ""
	// for success. attempt counts from 1 per entry id.
	fail func(id, attempt int) (code string, senderFault bool)

	mu       sync.Mutex
	attempts map[int]int
	sent     map[int]bool
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("X-Amz-Target"); got != "AmazonSQS.SendMessageBatch" {
		http.Error(w, "unexpected target "+got, http.StatusBadRequest)
		return
	}
	var in struct {
		Entries []struct{ Id, MessageBody string }
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	type ok struct{ Id, MessageId string }
	type failed struct {
		Id, Code, Message string
		SenderFault       bool
	}
	out := struct {
		Successful []ok
		Failed     []failed
	}{Successful: []ok{}, Failed: []failed{}}
	f.mu.Lock()
	for _, e := range in.Entries {
		id, _ := strconv.Atoi(e.Id)
		f.attempts[id]++
		if code, sender := f.fail(id, f.attempts[id]); code != "" {
			out.Failed = append(out.Failed, failed{e.Id, code, "injected", sender})
			continue
		}
		f.sent[id] = true
		out.Successful = append(out.Successful, ok{e.Id, "m-" + e.Id})
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}

func newFake(t *testing.T, fail func(id, attempt int) (string, bool)) (*Queue, *fakeSQS) {
	t.Helper()
	f := &fakeSQS{fail: fail, attempts: map[int]int{}, sent: map[int]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	q := New(client, srv.URL+"/000000000000/q")
	q.backoff = time.Millisecond
	return q, f
}

func TestSendRetriesFailedEntries(t *testing.T) {
	const n = 25
	cases := []struct {
		name     string
		fail     func(id, attempt int) (string, bool)
		wantErr  string // "" for none
		wantSent int
		// wantAttempts is the attempts of entry 7.
		wantAttempts int
	}{
		{
			name: "OKAfterTransientFailures",
			fail: func(id, attempt int) (string, bool) {
				if id%7 == 0 && attempt < 3 {
					return "InternalError", false
				}
				return "", false
			},
			wantSent:     n,
			wantAttempts: 3,
		},
		{
			name: "ErrCountsWhatFailedEveryAttempt",
			fail: func(id, attempt int) (string, bool) {
				if id%7 == 0 {
					return "InternalError", false
				}
				return "", false
			},
			wantErr:      "4 of 25 messages not sent",
			wantSent:     n - 4,
			wantAttempts: 4,
		},
		{
			name: "ErrSenderFaultNotRetried",
			fail: func(id, attempt int) (string, bool) {
				if id == 7 {
					return "InvalidMessageContents", true
				}
				return "", false
			},
			wantErr:      "1 of 25 messages not sent",
			wantSent:     n - 1,
			wantAttempts: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, f := newFake(t, c.fail)
			bodies := make([][]byte, n)
			for i := range bodies {
				bodies[i] = fmt.Appendf(nil, "body %d", i)
			}
			err := q.Send(t.Context(), bodies)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Send: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Send: %v, want an error with %q", err, c.wantErr)
			}
			if len(f.sent) != c.wantSent {
				t.Errorf("%d entries sent, want %d", len(f.sent), c.wantSent)
			}
			if got := f.attempts[7]; got != c.wantAttempts {
				t.Errorf("entry 7 tried %d times, want %d", got, c.wantAttempts)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	sizes := func(ns ...int) [][]byte {
		bs := make([][]byte, len(ns))
		for i, n := range ns {
			bs[i] = make([]byte, n)
		}
		return bs
	}
	cases := []struct {
		name   string
		bodies [][]byte
		want   []int // entries per batch
	}{
		{"Empty", nil, nil},
		{"TenPerBatch", sizes(make([]int, 25)...), []int{10, 10, 5}},
		{"SplitBySize", sizes(MaxBodySize, 1, 100<<10, 100<<10, 100<<10), []int{1, 3, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int
			for _, b := range batches(c.bodies) {
				got = append(got, len(b))
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("batch sizes %v, want %v", got, c.want)
			}
		})
	}
}
