package campaign_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/price"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/prompts"
)

// batchEnv is a batch campaign's world: the local store and queue, the
// test OpenAI server with its Batch API, and the worker with a 1 s poll,
// driven by the local program's poller.
type batchEnv struct {
	store  campaign.Store
	queue  *sqlite.Queue
	up     *openaitest.Server
	svc    *campaign.Service
	worker *campaign.Worker
}

type batchOpts struct {
	cfg        openaitest.BatchConfig
	maxLines   int
	maxReceive int
	// store wraps the store the worker uses.
	store func(campaign.Store) campaign.Store
	// noBatches leaves the worker without a Batch API (offline mode).
	noBatches bool
}

func newBatchEnv(t *testing.T, o batchOpts) *batchEnv {
	t.Helper()
	store, queue := testprog.LocalParts(t, 30*time.Second)
	up := openaitest.New(t, openaitest.WithBatch(o.cfg))
	w, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	composer := &email.Composer{Writer: w, Prompts: set}
	var ws campaign.Store = store
	if o.store != nil {
		ws = o.store(store)
	}
	worker := &campaign.Worker{Store: ws, Queue: queue, Composer: composer, Batches: w.Batches(), Prices: price.Default(),
		BatchPollInterval: time.Second, BatchMaxRequests: o.maxLines, MaxReceive: o.maxReceive, RetryDelay: 100 * time.Millisecond}
	if o.noBatches {
		worker.Batches = nil
	}
	env := &batchEnv{store: store, queue: queue, up: up, worker: worker,
		svc: &campaign.Service{Store: store, Queue: queue, Composer: composer, Checker: composer}}
	testprog.RunPoller(t, &campaign.Poller{Queue: queue, Worker: worker, Concurrency: 8, RetryDelay: 100 * time.Millisecond})
	return env
}

// submit submits a batch campaign of n prospects named P0, P1, … and
// returns its id.
func (env *batchEnv) submit(t *testing.T, n int) string {
	t.Helper()
	prospects := make([]map[string]any, n)
	for i := range prospects {
		prospects[i] = map[string]any{"prospect": map[string]any{"first_name": fmt.Sprintf("P%d", i), "job_title": "VP Sales"},
			"company": map[string]any{"company_name": "Acme", "industry": "Logistics"}}
	}
	body, _ := json.Marshal(map[string]any{"mode": "batch", "defaults": map[string]any{
		"sender": map[string]any{"name": "Sam", "company": "Ingren", "value_proposition": "Faster outbound"},
		"cta":    map[string]any{"ask": "a 15-minute call"}}, "prospects": prospects})
	sub, err := env.svc.Submit(context.Background(), "t", "", body)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Campaign.Mode != campaign.ModeBatch {
		t.Fatalf("submitted mode %q, want batch", sub.Campaign.Mode)
	}
	return sub.Campaign.ID
}

// wait polls the campaign until it is final, for at most a minute.
func (env *batchEnv) wait(t *testing.T, id string) *campaign.Campaign {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		c, err := env.svc.Get(context.Background(), "t", id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status.Final() {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, _ := env.svc.Get(context.Background(), "t", id)
	t.Fatalf("campaign not final after 90 s: %+v", c)
	return nil
}

func (env *batchEnv) emails(t *testing.T, id string) []campaign.Email {
	t.Helper()
	var out []campaign.Email
	cursor := ""
	for {
		page, next, err := env.store.Emails(context.Background(), id, campaign.Page{Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

func (env *batchEnv) batches(t *testing.T, id string) []campaign.Batch {
	t.Helper()
	c, err := env.svc.Get(context.Background(), "t", id)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := env.svc.Batches(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// realtimeCalls counts the chat completions made outside a batch.
func (env *batchEnv) realtimeCalls() int {
	n := 0
	for _, r := range env.up.Requests() {
		if strings.HasSuffix(r.Path, "/chat/completions") {
			n++
		}
	}
	return n
}

// A batch campaign is split into batches of at most BatchMaxRequests,
// every email is written once from its batch line with no realtime call,
// its usage is batch usage, and every file is deleted at the end.
func TestBatchCampaignWritesEveryEmailFromItsBatch(t *testing.T) {
	env := newBatchEnv(t, batchOpts{maxLines: 20})
	id := env.submit(t, 50)
	c := env.wait(t, id)
	if c.Status != campaign.StatusCompleted || c.Succeeded != 50 || c.Failed != 0 {
		t.Fatalf("campaign %s: %d succeeded, %d failed; want completed, 50, 0", c.Status, c.Succeeded, c.Failed)
	}
	if c.Usage.BatchPromptTokens == 0 || c.Usage.BatchPromptTokens != c.Usage.PromptTokens ||
		c.Usage.BatchCompletionTokens != c.Usage.CompletionTokens {
		t.Fatalf("usage %+v: want every token counted as batch usage", c.Usage)
	}
	bs := env.batches(t, id)
	if len(bs) != 3 {
		t.Fatalf("%d batches, want 3 (20 + 20 + 10)", len(bs))
	}
	for _, b := range bs {
		if b.Status != campaign.BatchCompleted || !b.Collected || b.ProviderID == "" {
			t.Fatalf("batch %+v: want completed, collected, with a provider id", b)
		}
	}
	for _, e := range env.emails(t, id) {
		if e.Status != campaign.EmailSucceeded && e.Status != campaign.EmailNeedsReview {
			t.Fatalf("email %d: %s (%+v)", e.Index, e.Status, e.Outcome)
		}
		if !strings.Contains(e.Outcome.Body, fmt.Sprintf("P%d", e.Index)) && !strings.Contains(e.Outcome.Subject, fmt.Sprintf("P%d", e.Index)) {
			t.Fatalf("email %d is not written to P%d: %q", e.Index, e.Index, e.Outcome.Subject)
		}
	}
	st := env.up.BatchStats()
	if st.BatchesCreated != 3 || st.LinesAnswered != 50 {
		t.Fatalf("server: %d batches created, %d lines answered; want 3, 50", st.BatchesCreated, st.LinesAnswered)
	}
	if n := env.realtimeCalls(); n > c.NeedsReview+50 {
		t.Fatalf("%d realtime calls", n)
	}
	waitFor(t, "every file deleted", func() bool { return env.up.BatchStats().FilesStored == 0 })
}

// A batch campaign costs half: each email written from its batch line
// alone costs half its tokens' realtime price, and the campaign's cost is
// its emails' sum.
func TestBatchCampaignCostsHalf(t *testing.T) {
	env := newBatchEnv(t, batchOpts{})
	id := env.submit(t, 6)
	c := env.wait(t, id)
	total, ok := c.Cost()
	if !ok || total == 0 {
		t.Fatalf("campaign cost %v, %v; want a cost", total, ok)
	}
	var sum int64
	halves := 0
	for _, e := range env.emails(t, id) {
		usd, ok := e.Cost(price.Default())
		if !ok {
			t.Fatalf("email %d (model %q): no cost", e.Index, e.Outcome.Model)
		}
		sum += campaign.MicroUSD(usd)
		u := e.Outcome.Usage
		if u.BatchPromptTokens != u.PromptTokens || u.BatchCompletionTokens != u.CompletionTokens {
			continue // repaired in realtime
		}
		halves++
		realtime := u
		realtime.BatchPromptTokens, realtime.BatchCompletionTokens = 0, 0
		full, _ := price.Default().Cost(e.Outcome.Model, realtime)
		if got, want := campaign.MicroUSD(usd), campaign.MicroUSD(full/2); got != want {
			t.Errorf("email %d costs %d µ$, want half of %v: %d µ$", e.Index, got, full, want)
		}
	}
	if halves == 0 {
		t.Fatal("no email written from its batch line alone")
	}
	if campaign.MicroUSD(total) != sum {
		t.Fatalf("campaign cost %v, want its emails' sum %d µ$", total, sum)
	}
}

// Lines the provider fails go into a new batch, which answers them.
func TestBatchRetriesFailedLines(t *testing.T) {
	env := newBatchEnv(t, batchOpts{maxReceive: 3, cfg: openaitest.BatchConfig{FailEvery: 4}})
	id := env.submit(t, 12)
	c := env.wait(t, id)
	// FailEvery 4 fails lines 4, 8 and 12 of the first batch (3 lines),
	// then line 4 of none (3 lines): attempt 2 answers them all.
	if c.Status != campaign.StatusCompleted || c.Succeeded != 12 {
		t.Fatalf("campaign %s, %d succeeded; want completed, 12", c.Status, c.Succeeded)
	}
	if bs := env.batches(t, id); len(bs) != 2 || bs[1].Attempt != 2 || len(bs[1].Indexes) != 3 {
		t.Fatalf("batches %+v: want a second of 3 lines", bs)
	}
}

// An expired batch's unanswered lines are retried in a new batch, and the
// campaign completes.
func TestBatchExpiredAndFailedBatches(t *testing.T) {
	env := newBatchEnv(t, batchOpts{maxReceive: 4, cfg: openaitest.BatchConfig{ExpireBatches: 1, ExpireAfter: 5, InvalidBatches: 0}})
	id := env.submit(t, 10)
	c := env.wait(t, id)
	if c.Status != campaign.StatusCompleted || c.Succeeded != 10 {
		t.Fatalf("campaign %s, %d succeeded; want completed, 10", c.Status, c.Succeeded)
	}
	bs := env.batches(t, id)
	if len(bs) != 2 || bs[0].Status != campaign.BatchExpired || len(bs[1].Indexes) != 5 {
		t.Fatalf("batches %+v: want the first expired and a second of its 5 unanswered lines", bs)
	}
}

// A batch that fails validation is retried, and after MaxReceive batches
// its emails fail with the provider's reason.
func TestBatchFailedValidationRetriesThenFails(t *testing.T) {
	env := newBatchEnv(t, batchOpts{maxReceive: 2, cfg: openaitest.BatchConfig{InvalidBatches: 5, InvalidMessage: "bad input file"}})
	id := env.submit(t, 3)
	c := env.wait(t, id)
	if c.Status != campaign.StatusCompletedWithErrors || c.Failed != 3 {
		t.Fatalf("campaign %s, %d failed; want completed_with_errors, 3", c.Status, c.Failed)
	}
	for _, e := range env.emails(t, id) {
		if e.Status != campaign.EmailFailed || !strings.Contains(e.Outcome.Error, "bad input file") || !strings.Contains(e.Outcome.Error, "2 batches") {
			t.Fatalf("email %d: %s %q; want failed naming the provider's reason after 2 batches", e.Index, e.Status, e.Outcome.Error)
		}
	}
	if st := env.up.BatchStats(); st.BatchesCreated != 2 {
		t.Fatalf("%d batches created, want 2", st.BatchesCreated)
	}
}

// A provider without the Batch API: the campaign falls back to realtime at
// the first upload, says so, and completes.
func TestBatchFallsBackToRealtimeWithoutABatchAPI(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    batchOpts
		want string
	}{
		{"ProviderAnswers404", batchOpts{cfg: openaitest.BatchConfig{Unsupported: true}}, "404"},
		{"OfflineWorker", batchOpts{noBatches: true}, "offline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newBatchEnv(t, tc.o)
			id := env.submit(t, 5)
			c := env.wait(t, id)
			if c.Status != campaign.StatusCompleted || c.Succeeded != 5 || c.Mode != campaign.ModeRealtime {
				t.Fatalf("campaign %s, %d succeeded, mode %s; want completed, 5, realtime", c.Status, c.Succeeded, c.Mode)
			}
			if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], tc.want) {
				t.Fatalf("warnings %q, want one naming %q", c.Warnings, tc.want)
			}
			if c.Usage.BatchPromptTokens != 0 {
				t.Fatalf("usage %+v: no batch usage expected", c.Usage)
			}
		})
	}
}

// Cancelling a batch campaign cancels its provider batch.
func TestBatchCancel(t *testing.T) {
	env := newBatchEnv(t, batchOpts{cfg: openaitest.BatchConfig{StageTime: 3 * time.Second}})
	id := env.submit(t, 5)
	waitFor(t, "the provider's batch", func() bool {
		bs := env.batches(t, id)
		return len(bs) == 1 && bs[0].ProviderID != ""
	})
	if _, err := env.svc.Cancel(context.Background(), "t", id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the batch cancelled at the provider", func() bool { return env.up.BatchStats().BatchesCancelled == 1 })
	waitFor(t, "the batch collected", func() bool { return env.batches(t, id)[0].Collected })
	if c, _ := env.svc.Get(context.Background(), "t", id); c.Status != campaign.StatusCancelled || c.Succeeded != 0 {
		t.Fatalf("campaign %+v: want cancelled with nothing written", c)
	}
	waitFor(t, "the input file deleted", func() bool { return env.up.BatchStats().FilesStored == 0 })
}

// loseCreate fails the first UpdateBatch that records a provider's batch
// id, as a worker that died right after creating the batch.
type loseCreate struct {
	campaign.Store
	lost atomic.Bool
}

func (s *loseCreate) UpdateBatch(ctx context.Context, id string, b *campaign.Batch, now time.Time) error {
	if b.ProviderID != "" && s.lost.CompareAndSwap(false, true) {
		return errors.New("the worker died")
	}
	return s.Store.UpdateBatch(ctx, id, b, now)
}

// A worker that created the provider's batch and died before recording
// it is followed by one that finds that batch: the provider gets one
// batch, and every line is paid once. Duplicate check messages (a
// redelivered expand) poll it without creating another.
func TestBatchCreatedOnceAcrossCrashesAndDuplicates(t *testing.T) {
	lose := &loseCreate{}
	env := newBatchEnv(t, batchOpts{cfg: openaitest.BatchConfig{StageTime: 500 * time.Millisecond},
		store: func(s campaign.Store) campaign.Store { lose.Store = s; return lose }})
	id := env.submit(t, 6)
	waitFor(t, "batch 1", func() bool { return len(env.batches(t, id)) == 1 })
	// Three more chains of checks of batch 1, as a redelivered expand
	// would start, while the first is at work.
	for i := range 3 {
		body, _ := json.Marshal(map[string]any{"type": "batch", "tenant": "t", "campaign_id": id, "key": "1", "check": fmt.Sprintf("dup%d", i)})
		if err := env.queue.Send(context.Background(), [][]byte{body}); err != nil {
			t.Fatal(err)
		}
	}
	c := env.wait(t, id)
	if c.Succeeded != 6 || !lose.lost.Load() {
		t.Fatalf("campaign %+v; lost a create: %v", c, lose.lost.Load())
	}
	if st := env.up.BatchStats(); st.BatchesCreated != 1 || st.LinesAnswered != 6 {
		t.Fatalf("server: %d batches created, %d lines answered; want 1, 6", st.BatchesCreated, st.LinesAnswered)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// The provider's Files and Batches endpoints fail every other request at
// first (500, 503, 429): each step is tried again, the campaign completes,
// and the provider gets one batch.
func TestBatchSurvivesProviderErrors(t *testing.T) {
	var script []openaitest.Reply
	for _, code := range []int{500, 503, 429, 500, 503, 429} {
		script = append(script, openaitest.Status(200), openaitest.Status(code))
	}
	env := newBatchEnv(t, batchOpts{cfg: openaitest.BatchConfig{Script: script}})
	id := env.submit(t, 5)
	c := env.wait(t, id)
	if c.Status != campaign.StatusCompleted || c.Succeeded != 5 {
		t.Fatalf("campaign %s, %d succeeded; want completed, 5", c.Status, c.Succeeded)
	}
	if st := env.up.BatchStats(); st.BatchesCreated != 1 || st.LinesAnswered != 5 {
		t.Fatalf("server: %d batches created, %d lines answered; want 1, 5", st.BatchesCreated, st.LinesAnswered)
	}
}

// A check message the queue gave up on is sent again, after the poll
// interval and in the same chain, while its campaign lives: a batch is
// never left unpolled. A finished campaign's is dropped.
func TestBatchDeadLetteredCheckIsSentAgain(t *testing.T) {
	store, queue := testprog.LocalParts(t, 30*time.Second)
	svc := &campaign.Service{Store: store, Queue: queue}
	w := &campaign.Worker{Store: store, Queue: queue, BatchPollInterval: time.Second}
	ctx := context.Background()
	sub, err := svc.Submit(ctx, "t", "", []byte(`{"mode": "batch", "prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	drop, err := queue.Receive(ctx, 10, time.Second) // the expand message
	if err != nil || len(drop) != 1 {
		t.Fatalf("expand: %d messages, %v", len(drop), err)
	}
	_ = queue.Delete(ctx, []string{drop[0].Handle})
	dead := campaign.Delivery{ID: "m1", Body: []byte(`{"type": "batch", "tenant": "t", "campaign_id": "` + sub.Campaign.ID + `", "key": "1", "check": "chain-a"}`)}
	if err := w.DeadLetter(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if got, _ := queue.Receive(ctx, 10, 0); len(got) != 0 {
		t.Fatalf("the check came back at once: %s", got[0].Body)
	}
	var got []campaign.Delivery
	waitFor(t, "the check sent again", func() bool {
		got, err = queue.Receive(ctx, 10, 200*time.Millisecond)
		return err == nil && len(got) > 0
	})
	var msg struct{ Type, Key, Check string }
	if err := json.Unmarshal(got[0].Body, &msg); err != nil || msg.Type != "batch" || msg.Key != "1" || msg.Check != "chain-a" {
		t.Fatalf("sent again: %s (%v); want batch 1 of chain-a", got[0].Body, err)
	}
	_ = queue.Delete(ctx, []string{got[0].Handle})

	if _, err := svc.Cancel(ctx, "t", sub.Campaign.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.DeadLetter(ctx, dead); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the poll interval
	if got, _ := queue.Receive(ctx, 10, 0); len(got) != 0 {
		t.Fatalf("a cancelled campaign's check was sent again: %s", got[0].Body)
	}
}
