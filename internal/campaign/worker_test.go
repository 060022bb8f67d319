package campaign_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/prompts"
)

// oneEmail submits a campaign of one prospect for tenant "t", works its
// expand message and returns the campaign's id and the email's message, as
// received once.
func oneEmail(t *testing.T, store *sqlite.Store, queue *sqlite.Queue) (string, []campaign.Delivery) {
	t.Helper()
	ctx := context.Background()
	svc := &campaign.Service{Store: store, Queue: queue}
	c, err := svc.Submit(ctx, "t", "", []byte(`{"prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	expander := &campaign.Worker{Store: store, Queue: queue} // expanding calls no model
	expand, err := queue.Receive(ctx, 10, time.Second)
	if err != nil || len(expand) != 1 || len(expander.Process(ctx, expand)) != 0 {
		t.Fatalf("expand: %d messages, %v", len(expand), err)
	}
	_ = queue.Delete(ctx, []string{expand[0].Handle})
	msgs, err := queue.Receive(ctx, 10, time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("email: %d messages, %v", len(msgs), err)
	}
	return c.Campaign.ID, msgs
}

// gatedComposer counts its calls and holds each until release is closed.
type gatedComposer struct {
	calls   atomic.Int32
	started chan struct{}
	release chan struct{}
}

func (g *gatedComposer) Compose(ctx context.Context, req *email.Request) (email.Result, error) {
	g.calls.Add(1)
	g.started <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return email.Result{}, ctx.Err()
	}
	return email.Result{Emails: []email.Checked{{Subject: "Hi " + req.Prospect.FirstName, Body: "Body"}}, Model: "gated"}, nil
}

// Two deliveries of one email at once: the one that claims it calls the
// model; the other comes back when the claim's lease ends (the holder's
// context deadline, as in a Lambda invocation), finds the email done and is
// deleted. The model is called once.
func TestDuplicateDeliveryCallsTheModelOnce(t *testing.T) {
	ctx := context.Background()
	store, queue := testprog.LocalParts(t, time.Hour)
	id, msgs := oneEmail(t, store, queue)
	gate := &gatedComposer{started: make(chan struct{}, 2), release: make(chan struct{})}
	worker := &campaign.Worker{Store: store, Queue: queue, Composer: gate}

	// The first delivery claims the email until its deadline and blocks in
	// the model call.
	lease := 2 * time.Second
	hctx, cancel := context.WithTimeout(ctx, lease)
	defer cancel()
	holder := make(chan []string, 1)
	go func() { holder <- worker.Process(hctx, msgs) }()
	<-gate.started

	// The second delivery of the same message is turned away and asked
	// back after the lease. (Its deadline only bounds a broken worker that
	// calls the model anyway.)
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	if failed := worker.Process(dctx, msgs); len(failed) != 1 {
		t.Fatalf("the duplicate was not asked back: failed %v", failed)
	}
	close(gate.release)
	if failed := <-holder; len(failed) != 0 {
		t.Fatalf("the holder failed: %v", failed)
	}
	got, err := store.Get(ctx, "t", id)
	if err != nil || got.Status != campaign.StatusCompleted || got.Succeeded != 1 {
		t.Fatalf("campaign after the holder: %+v, %v", got, err)
	}

	// The duplicate comes back no sooner than the lease's end, finds the
	// email done and is done itself, without a model call.
	back, err := queue.Receive(ctx, 10, 5*time.Second)
	if err != nil || len(back) != 1 || back[0].ReceiveCount != 2 {
		t.Fatalf("the duplicate did not come back within 5 s: %d messages, %v", len(back), err)
	}
	if failed := worker.Process(ctx, back); len(failed) != 0 {
		t.Fatalf("the returned duplicate failed: %v", failed)
	}
	if n := gate.calls.Load(); n != 1 {
		t.Errorf("model calls %d, want 1", n)
	}
	got, _ = store.Get(ctx, "t", id)
	if got.Succeeded != 1 || got.Failed != 0 {
		t.Errorf("campaign %+v: counted more than once", got)
	}
}

// claimHook is a Store that runs before once, just before the first Claim.
type claimHook struct {
	campaign.Store
	once   sync.Once
	before func()
}

func (h *claimHook) Claim(ctx context.Context, campaignID string, index int, owner string, now, until time.Time) error {
	h.once.Do(h.before)
	return h.Store.Claim(ctx, campaignID, index, owner, now, until)
}

// A delivery reads the email while it is pending; before it claims the email,
// a duplicate works it and completes the campaign, which ends the leases.
// The late delivery must see that the email is done rather than call the
// model a second time. (CI once saw 201 model calls for 200 prospects
// before Claim looked at the email.)
func TestDeliveryThatClaimsAFinishedEmailDoesNotCallTheModel(t *testing.T) {
	ctx := context.Background()
	store, queue := testprog.LocalParts(t, time.Hour)
	id, msgs := oneEmail(t, store, queue)
	model := &gatedComposer{started: make(chan struct{}, 2), release: make(chan struct{})}
	close(model.release)
	plain := &campaign.Worker{Store: store, Queue: queue, Composer: model}

	var first []string
	hook := &claimHook{Store: store, before: func() { first = plain.Process(ctx, msgs) }}
	late := &campaign.Worker{Store: hook, Queue: queue, Composer: model}
	if failed := late.Process(ctx, msgs); len(failed) != 0 {
		t.Errorf("the late delivery failed: %v", failed)
	}
	if len(first) != 0 {
		t.Errorf("the first delivery failed: %v", first)
	}
	if n := model.calls.Load(); n != 1 {
		t.Errorf("model calls %d, want 1", n)
	}
	got, err := store.Get(ctx, "t", id)
	if err != nil || got.Status != campaign.StatusCompleted || got.Succeeded != 1 {
		t.Errorf("campaign %+v, %v; want completed with 1 succeeded", got, err)
	}
}

// A transient failure comes back after the worker's backoff, not after the
// queue's visibility timeout (an hour here; 12 minutes on AWS).
func TestProcessRetriesTransientFailuresAfterBackoff(t *testing.T) {
	ctx := context.Background()
	store, queue := testprog.LocalParts(t, time.Hour)
	up := openaitest.New(t, openaitest.WithFailRate(1))
	set, _ := prompt.Load(prompts.FS)
	w, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, msgs := oneEmail(t, store, queue)
	worker := &campaign.Worker{Store: store, Queue: queue, Composer: &email.Composer{Writer: w, Prompts: set}, RetryDelay: 300 * time.Millisecond}

	// The email message fails (500).
	if failed := worker.Process(ctx, msgs); len(failed) != 1 || failed[0] != msgs[0].ID {
		t.Fatalf("a 500 must be reported as a batch item failure: %v", failed)
	}
	start := time.Now()
	msgs, err = queue.Receive(ctx, 10, 5*time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].ReceiveCount != 2 {
		t.Fatalf("the failed message did not come back within 5 s: %d messages, %v", len(msgs), err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Fatalf("came back after %v", waited)
	}
}

// failingItems is a store whose Email always fails, as a throttled or
// unreachable DynamoDB does.
type failingItems struct{ campaign.Store }

func (failingItems) Email(context.Context, string, int) (*campaign.Email, error) {
	return nil, errors.New("ProvisionedThroughputExceededException: throttled")
}

// A store failure sends the message back, and says so in the log: without
// the line an operator sees prospects retried and no reason.
func TestProcessLogsStoreFailures(t *testing.T) {
	ctx := context.Background()
	store, queue := testprog.LocalParts(t, time.Hour)
	_, msgs := oneEmail(t, store, queue)
	var logs bytes.Buffer
	worker := &campaign.Worker{Store: failingItems{store}, Queue: queue, Composer: &gatedComposer{},
		Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	if failed := worker.Process(ctx, msgs); len(failed) != 1 {
		t.Fatalf("a store failure must send the message back: failed %v", failed)
	}
	if !strings.Contains(logs.String(), `"msg":"message failed; it will be delivered again"`) ||
		!strings.Contains(logs.String(), "throttled") {
		t.Fatalf("no warning names the failure:\n%s", logs.String())
	}
}
