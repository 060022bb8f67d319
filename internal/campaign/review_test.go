package campaign_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/lint"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/prompts"
)

// scriptedComposer writes every email at once: a prospect named "Fail"
// fails (a refused request, which is not retried) and one named "Flag"
// needs review, until heal is set; the others succeed. Each call costs 10
// tokens. With fail set every call fails. With gate set each call says so
// on started and waits for gate. It keeps every request it was given.
type scriptedComposer struct {
	fail, heal atomic.Bool
	started    chan struct{}
	gate       chan struct{}

	mu   sync.Mutex
	reqs []email.Request
}

var callUsage = email.Usage{PromptTokens: 6, CompletionTokens: 4, TotalTokens: 10}

func (c *scriptedComposer) Compose(ctx context.Context, req *email.Request) (email.Result, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, *req)
	c.mu.Unlock()
	if c.gate != nil {
		c.started <- struct{}{}
		select {
		case <-c.gate:
		case <-ctx.Done():
			return email.Result{}, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return email.Result{}, err // as a model call would
	}
	name := req.Prospect.FirstName
	if c.fail.Load() || (name == "Fail" && !c.heal.Load()) {
		return email.Result{}, &email.Error{Kind: email.KindRejected}
	}
	subject := "Hi " + name
	if req.Rewrite != nil {
		subject = "Again " + name
	}
	return email.Result{Emails: []email.Checked{{Subject: subject, Body: "Body for " + name}}, Model: "scripted", Usage: callUsage,
		NeedsReview: name == "Flag" && !c.heal.Load()}, nil
}

func (c *scriptedComposer) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

func (c *scriptedComposer) last() email.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs[len(c.reqs)-1]
}

// countNotifier counts the webhooks it was asked to send.
type countNotifier struct{ n atomic.Int32 }

func (n *countNotifier) Notify(context.Context, *campaign.Campaign) error {
	n.n.Add(1)
	return nil
}

// reviewEnv is the local program's parts with a scripted model: a Service
// and a Worker on one SQLite store and queue.
type reviewEnv struct {
	store  *sqlite.Store
	queue  *sqlite.Queue
	svc    *campaign.Service
	worker *campaign.Worker
	model  *scriptedComposer
	hooks  *countNotifier
}

func newReviewEnv(t *testing.T) *reviewEnv {
	t.Helper()
	store, queue := testprog.LocalParts(t, time.Hour)
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	env := &reviewEnv{store: store, queue: queue, model: &scriptedComposer{}, hooks: &countNotifier{}}
	env.svc = &campaign.Service{Store: store, Queue: queue, Composer: env.model, Checker: &email.Composer{Prompts: set}}
	env.worker = &campaign.Worker{Store: store, Queue: queue, Composer: env.model, Notifier: env.hooks}
	return env
}

// submit submits a campaign of one prospect per name, with a webhook,
// works it to its end and returns its id.
func (env *reviewEnv) submit(t *testing.T, names ...string) string {
	t.Helper()
	var prospects []map[string]any
	for _, n := range names {
		prospects = append(prospects, map[string]any{"prospect": map[string]any{"first_name": n},
			"company": map[string]any{"company_name": "Acme"}})
	}
	body, _ := json.Marshal(map[string]any{"webhook_url": "https://hooks.example.com/done", "prospects": prospects})
	sub, err := env.svc.Submit(context.Background(), "t", "", body)
	if err != nil {
		t.Fatal(err)
	}
	env.drain(t)
	if c := env.campaign(t, sub.Campaign.ID); !c.Status.Final() {
		t.Fatalf("the campaign did not finish: %+v", c)
	}
	return sub.Campaign.ID
}

// drain works the queue, one message at a time, until it is empty, and
// returns how many messages of each type it worked. A message that fails
// fails the test.
func (env *reviewEnv) drain(t *testing.T) map[string]int {
	t.Helper()
	ctx := context.Background()
	worked := map[string]int{}
	for range 10_000 {
		msgs, err := env.queue.Receive(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return worked
		}
		worked[typeOf(t, msgs[0])]++
		if failed := env.worker.Process(ctx, msgs); len(failed) != 0 {
			t.Fatalf("message %s failed", msgs[0].Body)
		}
		if err := env.queue.Delete(ctx, []string{msgs[0].Handle}); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the queue never emptied")
	return nil
}

func typeOf(t *testing.T, m campaign.Delivery) string {
	t.Helper()
	var v struct{ Type string }
	if err := json.Unmarshal(m.Body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Type
}

// retried submits a campaign of two failing prospects and one that
// succeeds, heals the model, starts a retry and returns the campaign's id
// and the retry's message, not yet worked.
func (env *reviewEnv) retried(t *testing.T) (string, campaign.Delivery) {
	t.Helper()
	id := env.submit(t, "Fail", "Fail", "Ann")
	env.model.heal.Store(true)
	if _, _, err := env.svc.Retry(context.Background(), "t", id, false); err != nil {
		t.Fatal(err)
	}
	return id, env.retryMessage(t)
}

// retryMessage receives the one message queued, which must be a retry's:
// the tests that deliver it themselves (twice, to a dying worker) start
// from it.
func (env *reviewEnv) retryMessage(t *testing.T) campaign.Delivery {
	t.Helper()
	msgs, err := env.queue.Receive(context.Background(), 1, time.Second)
	if err != nil || len(msgs) != 1 || typeOf(t, msgs[0]) != "retry" {
		t.Fatalf("want the retry message: %d messages, %v", len(msgs), err)
	}
	return msgs[0]
}

func (env *reviewEnv) campaign(t *testing.T, id string) *campaign.Campaign {
	t.Helper()
	c, err := env.store.Get(context.Background(), "t", id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (env *reviewEnv) email(t *testing.T, id string, index int) *campaign.Email {
	t.Helper()
	e, err := env.svc.Email(context.Background(), "t", id, index)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, what string, err error, code fault.Code, fields ...string) {
	t.Helper()
	fe, ok := errors.AsType[*fault.Error](err)
	if !ok || fe.Code != code {
		t.Fatalf("%s: %v, want a %s error", what, err, code)
	}
	for _, f := range fields {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: %v does not name %s", what, err, f)
		}
	}
}

func TestEmailChecksTheTenant(t *testing.T) {
	env := newReviewEnv(t)
	id := env.submit(t, "Ann")
	if _, err := env.svc.Email(context.Background(), "other", id, 0); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("another tenant's email: %v, want ErrNotFound", err)
	}
	if _, err := env.svc.Email(context.Background(), "t", id, 1); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("an index out of range: %v, want ErrNotFound", err)
	}
}

func TestChange(t *testing.T) {
	ctx := context.Background()
	t.Run("OKEditRelintedDraftKept", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		before := env.email(t, id, 0)
		// Only the body: the subject stays the draft's. The greeting names
		// someone else, which the lint must find in the edit.
		e, err := env.svc.Change(ctx, "t", id, 0, before.Version, campaign.Change{Body: ptr("Hi Mark,\n\nA new body.\n\nBest,")})
		if err != nil {
			t.Fatal(err)
		}
		if e.Edit == nil || e.Edit.Subject != "Hi Ann" || e.Edit.Body != "Hi Mark,\n\nA new body.\n\nBest," {
			t.Fatalf("edit %+v, want the draft's subject and the new body", e.Edit)
		}
		if !hasFinding(e.Edit.Quality, lint.CodeWrongName) {
			t.Errorf("the edit was not linted: %+v", e.Edit.Quality)
		}
		if e.Outcome == nil || e.Outcome.Subject != before.Outcome.Subject || e.Outcome.Body != before.Outcome.Body {
			t.Errorf("the draft was not kept: %+v", e.Outcome)
		}
		if e.Version != before.Version+1 {
			t.Errorf("version %d, want %d", e.Version, before.Version+1)
		}
		// Then only the subject: the body stays the edit's.
		e, err = env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{Subject: ptr("New subject")})
		if err != nil {
			t.Fatal(err)
		}
		if e.Edit.Subject != "New subject" || e.Edit.Body != "Hi Mark,\n\nA new body.\n\nBest," {
			t.Errorf("edit %+v, want the new subject and the edited body", e.Edit)
		}
	})
	t.Run("OKReviewCounters", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Ann", "Bob")
		steps := []struct {
			index              int
			review             campaign.Review
			approved, rejected int
		}{
			{0, campaign.ReviewApproved, 1, 0},
			{1, campaign.ReviewApproved, 2, 0},
			{0, campaign.ReviewRejected, 1, 1},
			{1, campaign.ReviewNone, 0, 1},
		}
		for _, s := range steps {
			e, err := env.svc.Change(ctx, "t", id, s.index, campaign.AnyVersion, campaign.Change{Review: ptr(s.review), Note: ptr("checked")})
			if err != nil {
				t.Fatal(err)
			}
			if e.Review != s.review || e.Note != "checked" {
				t.Errorf("email %d: review %q note %q, want %q", s.index, e.Review, e.Note, s.review)
			}
			if c := env.campaign(t, id); c.Approved != s.approved || c.Rejected != s.rejected {
				t.Errorf("after %s of %d: approved %d rejected %d, want %d %d", s.review, s.index, c.Approved, c.Rejected, s.approved, s.rejected)
			}
		}
	})
	t.Run("ErrStaleVersion", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		read := env.email(t, id, 0)
		if _, err := env.svc.Change(ctx, "t", id, 0, read.Version, campaign.Change{Note: ptr("first")}); err != nil {
			t.Fatal(err)
		}
		_, err := env.svc.Change(ctx, "t", id, 0, read.Version, campaign.Change{Note: ptr("second")})
		if !errors.Is(err, campaign.ErrVersionMismatch) {
			t.Fatalf("a change of a stale version: %v, want ErrVersionMismatch", err)
		}
		if e := env.email(t, id, 0); e.Note != "first" {
			t.Errorf("note %q: the stale change overwrote the first", e.Note)
		}
	})
	t.Run("ErrNoDraft", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Fail")
		_, err := env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{Review: ptr(campaign.ReviewApproved)})
		wantCode(t, "approving a failed email", err, fault.WrongState)
	})
	t.Run("ErrLimits", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		_, err := env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{
			Subject: ptr(strings.Repeat("s", email.MaxLintSubject+1)), Body: ptr(strings.Repeat("b", email.MaxLintBody+1)),
			Review: ptr(campaign.Review("maybe")), Note: ptr(strings.Repeat("n", campaign.MaxNote+1))})
		wantCode(t, "a change over every limit", err, fault.Invalid, "subject", "body", "review", "note")
		_, err = env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{Subject: ptr("  ")})
		wantCode(t, "an empty subject", err, fault.Invalid, "subject")
		_, err = env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{Body: ptr("Hi\x00"), Note: ptr("\x1b[31m")})
		wantCode(t, "control characters", err, fault.Invalid, "body", "note", "U+0000")
		_, err = env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{})
		wantCode(t, "an empty change", err, fault.Invalid, "nothing to change")
		// At the limits, in characters rather than bytes.
		_, err = env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{
			Subject: ptr(strings.Repeat("é", email.MaxLintSubject)), Note: ptr(strings.Repeat("é", campaign.MaxNote))})
		if err != nil {
			t.Fatalf("a change at the limits: %v", err)
		}
		if e := env.email(t, id, 0); e.Version != 2 {
			t.Errorf("version %d: a refused change was written", e.Version)
		}
	})
}

func hasFinding(r lint.Report, code string) bool {
	for _, f := range r.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

// perToken prices the scripted model at 1 µ$ a token; other models have
// no price.
type perToken struct{}

func (perToken) Cost(model string, u email.Usage) (float64, bool) {
	return float64(u.PromptTokens+u.CompletionTokens) / 1e6, model == "scripted"
}

func TestRegenerate(t *testing.T) {
	ctx := context.Background()
	t.Run("OKCostAdded", func(t *testing.T) {
		env := newReviewEnv(t)
		env.svc.Prices, env.worker.Prices = perToken{}, perToken{}
		id := env.submit(t, "Ann", "Bob")
		if c := env.campaign(t, id); c.Usage.CostMicroUSD != 20 || c.Usage.Unpriced != 0 {
			t.Fatalf("campaign usage %+v: want 20 µ$ for two calls of 10 tokens", c.Usage)
		}
		e, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, "")
		if err != nil {
			t.Fatal(err)
		}
		if usd, ok := e.Cost(perToken{}); !ok || campaign.MicroUSD(usd) != 20 {
			t.Errorf("email cost %v, %v; want both calls' 20 µ$", usd, ok)
		}
		if c := env.campaign(t, id); c.Usage.CostMicroUSD != 30 {
			t.Errorf("campaign cost %d µ$, want 30: the regenerate's call added", c.Usage.CostMicroUSD)
		}
	})
	t.Run("OKNewDraftUsageOnceInstructionsReachTheModel", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Flag", "Bob")
		if _, err := env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{
			Body: ptr("Hi Flag,\n\nMy edit.\n\nBest,"), Review: ptr(campaign.ReviewRejected), Note: ptr("too long")}); err != nil {
			t.Fatal(err)
		}
		before, cBefore, calls := env.email(t, id, 0), env.campaign(t, id), env.model.calls()
		env.model.heal.Store(true)
		e, err := env.svc.Regenerate(ctx, "t", id, 0, before.Version, "shorter, and mention the funding round")
		if err != nil {
			t.Fatal(err)
		}
		if n := env.model.calls() - calls; n != 1 {
			t.Fatalf("%d model calls, want 1", n)
		}
		rw := env.model.last().Rewrite
		if rw == nil || rw.Instructions != "shorter, and mention the funding round" || rw.Subject != "Hi Flag" || rw.Body != "Hi Flag,\n\nMy edit.\n\nBest," {
			t.Fatalf("the model got rewrite %+v, want the edited draft and the instructions", rw)
		}
		if e.Status != campaign.EmailSucceeded || e.Outcome.Subject != "Again Flag" || e.Edit != nil || e.Review != campaign.ReviewNone || e.Note != "" {
			t.Errorf("email %+v: want the new draft, succeeded, without the old edit, review and note", e)
		}
		if e.Version != before.Version+1 || e.Outcome.Usage != before.Outcome.Usage.Add(callUsage) {
			t.Errorf("version %d usage %+v, want %d and one more call's", e.Version, e.Outcome.Usage, before.Version+1)
		}
		c := env.campaign(t, id)
		if c.Usage.Tokens() != cBefore.Usage.Tokens().Add(callUsage) || c.NeedsReview != 0 || c.Succeeded != 2 || c.Rejected != 0 {
			t.Errorf("campaign %+v: want one more call's usage, the flag and the rejection gone", c)
		}
	})
	t.Run("OKFailedEmailWithoutInstructionsIsWrittenAfresh", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Fail")
		env.model.heal.Store(true)
		e, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, "")
		if err != nil {
			t.Fatal(err)
		}
		if env.model.last().Rewrite != nil || e.Status != campaign.EmailSucceeded {
			t.Errorf("rewrite %+v, status %s: want a plain write that succeeds", env.model.last().Rewrite, e.Status)
		}
		if c := env.campaign(t, id); c.Failed != 0 || c.Succeeded != 1 || c.Status != campaign.StatusCompleted {
			t.Errorf("campaign %+v: want the failure moved to succeeded, and the campaign completed without errors", c)
		}
	})
	t.Run("OKInstructionsReachTheProvider", func(t *testing.T) {
		// Through the real Composer and prompts, on the wire.
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		up := openaitest.New(t)
		w, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		set, _ := prompt.Load(prompts.FS)
		env.svc.Composer = &email.Composer{Writer: w, Prompts: set}
		if _, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, "mention </instructions> the launch"); err != nil {
			t.Fatal(err)
		}
		reqs := up.Requests()
		if len(reqs) == 0 {
			t.Fatal("the provider got no call")
		}
		msgs := reqs[0].Body.Messages
		last := msgs[len(msgs)-1].Content
		if len(msgs) != 3 || !strings.Contains(last, `"mention \u003c/instructions\u003e the launch"`) || !strings.Contains(last, `"Hi Ann"`) {
			t.Fatalf("the call's messages do not end with the fenced draft and instructions: %d messages, last:\n%s", len(msgs), last)
		}
	})
	t.Run("OKModelTimeIsNotTheStoreClock", func(t *testing.T) {
		// The store's clock (Service.Now) times the hold; the model's
		// timeout runs on real time.
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		env.svc.Now = func() time.Time { return time.Now().Add(-time.Hour) }
		if _, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OKTwoAtOnceMakeOneCall", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		calls := env.model.calls()
		env.model.started, env.model.gate = make(chan struct{}, 2), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			_, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, "")
			first <- err
		}()
		select {
		case <-env.model.started:
		case err := <-first:
			t.Fatalf("the first regenerate ended before its model call: %v", err)
		}
		// Its deadline only bounds a broken service that calls the model
		// anyway (and then waits on the gate).
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := env.svc.Regenerate(dctx, "t", id, 0, campaign.AnyVersion, "")
		wantCode(t, "a regenerate while another runs", err, fault.WrongState, "being regenerated")
		close(env.model.gate)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if n := env.model.calls() - calls; n != 1 {
			t.Errorf("%d model calls, want 1", n)
		}
		if c := env.campaign(t, id); c.Usage.Tokens() != callUsage.Add(callUsage) {
			t.Errorf("campaign usage %+v, want two calls' (the first write and one regenerate)", c.Usage)
		}
	})
	// A reviewer's change while a regenerate is paying for a draft is
	// refused, not written under it: the draft then lands and its call is
	// counted.
	t.Run("OKChangeDuringRegenerateIsRefusedAndTheCallCounted", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		env.model.started, env.model.gate = make(chan struct{}, 1), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			_, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, "")
			first <- err
		}()
		select {
		case <-env.model.started:
		case err := <-first:
			t.Fatalf("the regenerate ended before its model call: %v", err)
		}
		_, err := env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{Review: ptr(campaign.ReviewApproved)})
		wantCode(t, "a change during a regenerate", err, fault.WrongState, "being regenerated")
		close(env.model.gate)
		if err := <-first; err != nil {
			t.Fatalf("the regenerate: %v", err)
		}
		if c := env.campaign(t, id); c.Usage.Tokens() != callUsage.Add(callUsage) || c.Approved != 0 {
			t.Errorf("campaign %+v: want two calls' usage and nothing approved", c)
		}
		if _, err := env.svc.Change(ctx, "t", id, 0, campaign.AnyVersion, campaign.Change{Review: ptr(campaign.ReviewApproved)}); err != nil {
			t.Fatalf("a change after the regenerate: %v", err)
		}
	})
	t.Run("ErrModelLeavesEmailAndReleasesHold", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		before, cBefore := env.email(t, id, 0), env.campaign(t, id)
		env.model.fail.Store(true)
		_, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, "shorter")
		if _, ok := errors.AsType[*email.Error](err); !ok {
			t.Fatalf("the model's failure: %v, want its *email.Error", err)
		}
		after := env.email(t, id, 0)
		if after.Version != before.Version || after.Outcome.Subject != before.Outcome.Subject || after.Outcome.Usage != before.Outcome.Usage {
			t.Errorf("email changed by a failed regenerate: %+v", after)
		}
		if c := env.campaign(t, id); c.Usage != cBefore.Usage || c.Succeeded != 1 {
			t.Errorf("campaign changed by a failed regenerate: %+v", c)
		}
		// The hold was given up: the next try need not wait for it.
		env.model.fail.Store(false)
		if _, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, "shorter"); err != nil {
			t.Fatalf("a regenerate after a failed one: %v", err)
		}
	})
	t.Run("ErrStateAndInput", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Ann")
		e := env.email(t, id, 0)
		_, err := env.svc.Regenerate(ctx, "t", id, 0, e.Version+1, "")
		if !errors.Is(err, campaign.ErrVersionMismatch) {
			t.Errorf("a stale If-Match: %v, want ErrVersionMismatch", err)
		}
		_, err = env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, strings.Repeat("é", email.MaxInstructions+1))
		wantCode(t, "instructions too long", err, fault.Invalid, "instructions")
		_, err = env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, "shorter\x00")
		wantCode(t, "instructions with a control character", err, fault.Invalid, "instructions", "U+0000")
		if _, err := env.svc.Regenerate(ctx, "other", id, 0, campaign.AnyVersion, ""); !errors.Is(err, campaign.ErrNotFound) {
			t.Errorf("another tenant's email: %v, want ErrNotFound", err)
		}
		// A pending email has nothing to regenerate.
		body := []byte(`{"prospects": [{"prospect": {"first_name": "P"}, "company": {"company_name": "X"}}]}`)
		sub, err := env.svc.Submit(ctx, "t", "", body)
		if err != nil {
			t.Fatal(err)
		}
		_, err = env.svc.Regenerate(ctx, "t", sub.Campaign.ID, 0, campaign.AnyVersion, "")
		wantCode(t, "a pending email", err, fault.WrongState, "pending")
		if n := env.model.calls(); n != 1 {
			t.Errorf("%d model calls, want only the first write's", n)
		}
	})
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	t.Run("OKFailedRequeuedOnceAndFinishesAgain", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Fail", "Ann", "Fail", "Flag")
		if c := env.campaign(t, id); c.Status != campaign.StatusCompletedWithErrors || env.hooks.n.Load() != 1 {
			t.Fatalf("campaign %+v, %d webhooks", c, env.hooks.n.Load())
		}
		calls := env.model.calls()
		env.model.heal.Store(true)
		c, n, err := env.svc.Retry(ctx, "t", id, false)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || c.Status != campaign.StatusRunning || !c.Retrying || c.Round != 1 {
			t.Fatalf("retry of %d: %+v; want 2, running, retrying, round 1", n, c)
		}
		worked := env.drain(t)
		if worked["retry"] != 1 || worked["item"] != 2 || worked["notify"] != 1 {
			t.Errorf("worked %v; want one retry, two emails, one webhook", worked)
		}
		if got := env.model.calls() - calls; got != 2 {
			t.Errorf("%d model calls, want 2", got)
		}
		c = env.campaign(t, id)
		if c.Status != campaign.StatusCompleted || c.Retrying || c.Failed != 0 || c.Succeeded != 4 || c.NeedsReview != 1 {
			t.Errorf("campaign %+v; want completed, 4 succeeded, the flagged one left", c)
		}
		if got := env.hooks.n.Load(); got != 2 {
			t.Errorf("%d webhooks, want a second one for the second finish", got)
		}
		if e := env.email(t, id, 2); e.Status != campaign.EmailSucceeded || e.Round != 1 {
			t.Errorf("email 2: %s round %d, want succeeded in round 1", e.Status, e.Round)
		}
	})
	t.Run("OKIncludeNeedsReviewSkipsApproved", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Flag", "Flag", "Flag", "Ann")
		if _, err := env.svc.Change(ctx, "t", id, 1, campaign.AnyVersion, campaign.Change{Review: ptr(campaign.ReviewApproved)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.svc.Retry(ctx, "t", id, false); err == nil {
			t.Fatal("a retry of failed emails where none failed was accepted")
		} else {
			wantCode(t, "nothing failed", err, fault.WrongState, "nothing to retry")
		}
		env.model.heal.Store(true)
		_, n, err := env.svc.Retry(ctx, "t", id, true)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("retries %d, want the two flagged ones not approved", n)
		}
		if worked := env.drain(t); worked["item"] != 2 {
			t.Errorf("worked %v, want two emails", worked)
		}
		if e := env.email(t, id, 1); e.Review != campaign.ReviewApproved || e.Round != 0 {
			t.Errorf("the approved email was retried: %+v", e)
		}
		if c := env.campaign(t, id); c.Status != campaign.StatusCompleted || c.NeedsReview != 1 || c.Approved != 1 {
			t.Errorf("campaign %+v, want completed with the approved flag left", c)
		}
	})
	t.Run("OKDuplicateDeliveryQueuesNothingTwice", func(t *testing.T) {
		env := newReviewEnv(t)
		id, msg := env.retried(t)
		for range 2 { // the same message delivered twice
			if err := env.worker.Handle(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		_ = env.queue.Delete(ctx, []string{msg.Handle})
		if worked := env.drain(t); worked["item"] != 2 || worked["retry"] != 0 {
			t.Errorf("worked %v; want each failed email once", worked)
		}
		if c := env.campaign(t, id); c.Status != campaign.StatusCompleted {
			t.Errorf("campaign %s, want completed", c.Status)
		}
	})
	t.Run("OKTwoAtOnceMakeOneRound", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Fail", "Ann", "Fail")
		env.model.heal.Store(true)
		calls := env.model.calls()
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 2 {
			wg.Go(func() {
				<-start
				_, _, err := env.svc.Retry(ctx, "t", id, false)
				if err == nil {
					ok.Add(1)
				} else if fe, is := errors.AsType[*fault.Error](err); is && fe.Code == fault.WrongState {
					refused.Add(1)
				} else {
					t.Errorf("Retry: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || refused.Load() != 1 {
			t.Fatalf("%d retries started, %d refused; want 1 and 1", ok.Load(), refused.Load())
		}
		if worked := env.drain(t); worked["item"] != 2 {
			t.Errorf("worked %v; want each failed email once", worked)
		}
		c := env.campaign(t, id)
		if c.Round != 1 || c.Status != campaign.StatusCompleted || c.Failed != 0 {
			t.Errorf("campaign %+v; want round 1, completed", c)
		}
		if got := env.model.calls() - calls; got != 2 {
			t.Errorf("%d model calls, want 2", got)
		}
	})
	t.Run("ErrNotFinished", func(t *testing.T) {
		env := newReviewEnv(t)
		sub, err := env.svc.Submit(ctx, "t", "", []byte(`{"prospects": [{"prospect": {"first_name": "Fail"}, "company": {"company_name": "X"}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = env.svc.Retry(ctx, "t", sub.Campaign.ID, false)
		wantCode(t, "a queued campaign", err, fault.WrongState, "queued")
		if _, _, err := env.svc.Retry(ctx, "other", sub.Campaign.ID, false); !errors.Is(err, campaign.ErrNotFound) {
			t.Errorf("another tenant's campaign: %v, want ErrNotFound", err)
		}
	})
	t.Run("OKNothingFinishesARetryingCampaign", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Fail", "Ann")
		if _, _, err := env.svc.Retry(ctx, "t", id, false); err != nil {
			t.Fatal(err)
		}
		// Its counters say done until the retry message resets the failed
		// email: neither a late delivery of a done email nor a read long
		// after may finish it.
		late := campaign.Delivery{ID: "late", Body: []byte(`{"type":"item","tenant":"t","campaign_id":"` + id + `","index":1}`), ReceiveCount: 2}
		if err := env.worker.Handle(ctx, late); err != nil {
			t.Fatal(err)
		}
		env.svc.Now = func() time.Time { return time.Now().Add(time.Hour) }
		c, err := env.svc.Get(ctx, "t", id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != campaign.StatusRunning || !c.Retrying {
			t.Fatalf("campaign %s, retrying %v: finished before its retry was queued", c.Status, c.Retrying)
		}
		env.drain(t)
		if c := env.campaign(t, id); c.Status != campaign.StatusCompletedWithErrors || c.Round != 1 || c.Retrying {
			t.Errorf("campaign %+v; want completed with errors (the email fails again) in round 1", c)
		}
	})
	t.Run("OKMessageOfARoundThatNeverStartedIsDropped", func(t *testing.T) {
		env := newReviewEnv(t)
		id := env.submit(t, "Fail")
		before := env.campaign(t, id)
		msg := []byte(`{"type":"retry","tenant":"t","campaign_id":"` + id + `","round":1,"statuses":["failed"]}`)
		for receive := 1; receive < campaign.DefaultMaxReceive; receive++ {
			if err := env.worker.Handle(ctx, campaign.Delivery{ID: "r", Body: msg, ReceiveCount: receive}); err == nil {
				t.Fatalf("receive %d: dropped before its last receive", receive)
			}
		}
		if err := env.worker.Handle(ctx, campaign.Delivery{ID: "r", Body: msg, ReceiveCount: campaign.DefaultMaxReceive}); err != nil {
			t.Fatalf("last receive: %v, want it dropped", err)
		}
		if worked := env.drain(t); len(worked) != 0 {
			t.Errorf("worked %v: the dropped retry queued something", worked)
		}
		if c := env.campaign(t, id); c.Round != 0 || c.Failed != 1 || c.Status != before.Status {
			t.Errorf("campaign %+v changed", c)
		}
	})
	t.Run("OKDeadLetterEndsTheRound", func(t *testing.T) {
		env := newReviewEnv(t)
		id, msg := env.retried(t)
		// Every delivery resets the emails and fails to queue them.
		broken := &campaign.Worker{Store: env.store, Queue: noEmailSends{env.queue}, Composer: env.model, Notifier: env.hooks}
		if err := broken.Handle(ctx, msg); err == nil {
			t.Fatal("the retry did not fail with a queue that refuses its emails")
		}
		if err := env.worker.DeadLetter(ctx, msg); err != nil {
			t.Fatal(err)
		}
		_ = env.queue.Delete(ctx, []string{msg.Handle})
		if worked := env.drain(t); worked["item"] != 2 {
			t.Errorf("worked %v; want the two reset emails queued by the dead letter", worked)
		}
		if c := env.campaign(t, id); c.Status != campaign.StatusCompleted || c.Retrying || c.Failed != 0 {
			t.Errorf("campaign %+v; want completed", c)
		}
	})
}

// diesAfterEndRetry is a Store whose EndRetry is written and then fails,
// as a worker killed right after it would.
type diesAfterEndRetry struct{ campaign.Store }

func (s diesAfterEndRetry) EndRetry(ctx context.Context, id string, round int, now time.Time) error {
	if err := s.Store.EndRetry(ctx, id, round, now); err != nil {
		return err
	}
	return errors.New("killed after EndRetry")
}

// A retry whose worker died between ending the round and completing the
// campaign is completed by the message's redelivery, webhook included.
func TestRetryRedeliveredAfterEndRetryCompletes(t *testing.T) {
	ctx := context.Background()
	env := newReviewEnv(t)
	id := env.submit(t, "Fail", "Ann")
	env.model.heal.Store(true)
	if _, _, err := env.svc.Retry(ctx, "t", id, false); err != nil {
		t.Fatal(err)
	}
	// The failed email is regenerated before the retry message is worked:
	// the round resets nothing, so no email message will complete it.
	if _, err := env.svc.Regenerate(ctx, "t", id, 0, campaign.AnyVersion, ""); err != nil {
		t.Fatal(err)
	}
	msg := env.retryMessage(t)
	dying := &campaign.Worker{Store: diesAfterEndRetry{env.store}, Queue: env.queue, Composer: env.model, Notifier: env.hooks}
	if err := dying.Handle(ctx, msg); err == nil {
		t.Fatal("the dying worker did not fail")
	}
	redelivered := msg
	redelivered.ReceiveCount++
	if err := env.worker.Handle(ctx, redelivered); err != nil {
		t.Fatal(err)
	}
	_ = env.queue.Delete(ctx, []string{msg.Handle})
	if worked := env.drain(t); worked["notify"] != 1 || worked["item"] != 0 {
		t.Errorf("worked %v, want the webhook alone", worked)
	}
	if c := env.campaign(t, id); c.Status != campaign.StatusCompleted || env.hooks.n.Load() != 2 {
		t.Errorf("campaign %s after %d webhooks, want completed after 2", c.Status, env.hooks.n.Load())
	}
}
