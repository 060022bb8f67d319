package campaign

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ingren/ingren/internal/email"
)

// BatchComposer is what the worker needs of its Composer for batch mode:
// the first call of an email rendered on its own, and the email composed
// from that call's answer. *email.Composer is one.
type BatchComposer interface {
	FirstPrompt(req *email.Request) (email.Prompt, error)
	ComposeAnswered(ctx context.Context, req *email.Request, first email.Completion) (email.Result, error)
}

// Batch limits: OpenAI's, with room to spare for the bytes.
const (
	// DefaultBatchMaxRequests is the most lines of one batch input file.
	DefaultBatchMaxRequests = 50_000
	// DefaultBatchMaxBytes is the largest batch input file (OpenAI takes
	// 200 MB).
	DefaultBatchMaxBytes = 190 << 20
	// DefaultBatchPollInterval is how often a batch's status is checked
	// (BATCH_POLL_INTERVAL).
	DefaultBatchPollInterval = time.Minute
)

// The warnings a campaign gets when it falls back to realtime.
const (
	warnNoBatchAPI = "batch mode fell back to realtime: the model provider has no Batch API (it answered 404); the emails were written at the realtime price"
	warnNoBatches  = "batch mode fell back to realtime: this deployment has no model provider with a Batch API (offline mode); the emails were written at the realtime price"
)

func (w *Worker) pollInterval() time.Duration {
	if w.BatchPollInterval <= 0 {
		return DefaultBatchPollInterval
	}
	return min(w.BatchPollInterval, MaxSendDelay)
}

// batching returns the Batches and the composer batch mode needs, or ok
// false when this worker has none (offline mode).
func (w *Worker) batching() (Batches, BatchComposer, bool) {
	bc, ok := w.Composer.(BatchComposer)
	if w.Batches == nil || !ok {
		return nil, nil, false
	}
	return w.Batches, bc, true
}

// customID names email index of campaign id in a batch file.
func customID(id string, index int) string { return id + "/" + strconv.Itoa(index) }

// indexOf reads a customID of campaign id; ok false for another's.
func indexOf(id, custom string) (int, bool) {
	rest, ok := strings.CutPrefix(custom, id+"/")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// newCheck names one chain of check messages of a batch.
func newCheck() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// expandBatch plans a batch campaign's batches: every email, in order, one
// model's emails together, cut where a batch would pass BatchMaxRequests
// lines or BatchMaxBytes. The
// plan depends on the emails alone, so a redelivered expand adds the
// batches the first one did not (AddBatch refuses a key twice) and sends
// each its first check message again (the chains of one batch settle on
// one: see checkBatch).
func (w *Worker) expandBatch(ctx context.Context, c *Campaign) error {
	batches, bc, ok := w.batching()
	if !ok {
		return w.fallBack(ctx, c, warnNoBatches)
	}
	if c.Status == StatusQueued {
		if err := w.Store.Transition(ctx, c.ID, []Status{StatusQueued}, StatusRunning, w.now()); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	}
	maxLines, maxBytes := w.BatchMaxRequests, w.BatchMaxBytes
	if maxLines <= 0 {
		maxLines = DefaultBatchMaxRequests
	}
	if maxBytes <= 0 {
		maxBytes = DefaultBatchMaxBytes
	}
	// A batch holds one model's lines (OpenAI requires it): emails whose
	// options.model differ go to batches of their own.
	type open struct {
		indexes []int
		bytes   int
	}
	var (
		plan   [][]int
		models = map[string]*open{}
		order  []string
	)
	err := w.eachEmail(ctx, c.ID, func(e *Email) error {
		p, err := bc.FirstPrompt(&e.Request)
		if err != nil {
			return fmt.Errorf("render email %d: %w", e.Index, err)
		}
		line, err := batches.Line(customID(e.CampaignID, e.Index), p)
		if err != nil {
			return err
		}
		cur := models[p.Model]
		if cur == nil {
			cur = &open{}
			models[p.Model] = cur
			order = append(order, p.Model)
		}
		if len(cur.indexes) > 0 && (len(cur.indexes) == maxLines || cur.bytes+len(line)+1 > maxBytes) {
			plan = append(plan, cur.indexes)
			*cur = open{}
		}
		cur.indexes, cur.bytes = append(cur.indexes, e.Index), cur.bytes+len(line)+1
		return nil
	})
	if err != nil {
		return fmt.Errorf("plan the batches of campaign %s: %w", c.ID, err)
	}
	for _, m := range order {
		if cur := models[m]; len(cur.indexes) > 0 {
			plan = append(plan, cur.indexes)
		}
	}
	bodies := make([][]byte, 0, len(plan))
	for n, indexes := range plan {
		b := &Batch{Key: strconv.Itoa(n + 1), Attempt: 1, Indexes: indexes, Status: BatchPreparing}
		if err := w.Store.AddBatch(ctx, c.ID, b, w.now()); err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("add batch %s: %w", b.Key, err)
		}
		body, err := json.Marshal(message{Type: msgBatch, Tenant: c.Tenant, CampaignID: c.ID, Key: b.Key, Check: newCheck()})
		if err != nil {
			return err
		}
		bodies = append(bodies, body)
	}
	if err := w.Queue.Send(ctx, bodies); err != nil {
		return fmt.Errorf("enqueue the batches of campaign %s: %w", c.ID, err)
	}
	w.log().InfoContext(ctx, "campaign planned in batches", slog.Int("total", c.Total), slog.Int("batches", len(plan)))
	return nil
}

// eachEmail calls fn for every email of the campaign, in index order.
func (w *Worker) eachEmail(ctx context.Context, id string, fn func(*Email) error) error {
	cursor := ""
	for {
		page, next, err := w.Store.Emails(ctx, id, Page{Limit: 100, Cursor: cursor})
		if err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

func renderLine(batches Batches, bc BatchComposer, e *Email) ([]byte, error) {
	p, err := bc.FirstPrompt(&e.Request)
	if err != nil {
		return nil, fmt.Errorf("render email %d: %w", e.Index, err)
	}
	return batches.Line(customID(e.CampaignID, e.Index), p)
}

// toRealtime moves a batch campaign to realtime, saying why in its
// warnings. Of several messages of one campaign falling back at once one
// switches; each then sends its own emails.
func (w *Worker) toRealtime(ctx context.Context, c *Campaign, why string) error {
	if err := w.Store.SwitchMode(ctx, c.ID, ModeBatch, ModeRealtime, why, w.now()); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	w.log().WarnContext(ctx, "batch campaign falls back to realtime", slog.String("reason", why))
	return nil
}

// fallBack is a batch campaign expanded by a worker without a Batch API:
// it goes realtime, every email with it.
func (w *Worker) fallBack(ctx context.Context, c *Campaign, why string) error {
	if err := w.toRealtime(ctx, c, why); err != nil {
		return err
	}
	return w.sendEmails(ctx, c, everyEmail(c), nil)
}

// everyEmail lists the indexes of all of c's emails.
func everyEmail(c *Campaign) []int {
	indexes := make([]int, c.Total)
	for i := range indexes {
		indexes[i] = i
	}
	return indexes
}

// sendEmails sends one item message per index, each with its answer when
// answers has one.
func (w *Worker) sendEmails(ctx context.Context, c *Campaign, indexes []int, answers map[int]*email.Completion) error {
	bodies := make([][]byte, len(indexes))
	for k, i := range indexes {
		msg := message{Type: msgEmail, Tenant: c.Tenant, CampaignID: c.ID, Index: i}
		msg.Answer = answers[i] // nil without one (a nil map reads as empty)
		b, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		bodies[k] = b
	}
	if err := w.Queue.Send(ctx, bodies); err != nil {
		return fmt.Errorf("enqueue %d emails of campaign %s: %w", len(bodies), c.ID, err)
	}
	return nil
}

// checkBatch works one check message of a batch: it creates the provider's
// batch if it has none yet, reads its status, and once it ended hands its
// results on (collect); until then it sends the next check after
// BatchPollInterval, which survives any restart: the message is the
// schedule.
//
// A batch has one chain of check messages: each message names its chain,
// the first chain to check the batch records itself (CheckedBy), and a
// message of another chain (a redelivered expand sends each batch's first
// check again) ends there. A chain never ends before its batch is
// collected: a check sends the next before its own message is deleted, a
// failed one comes back, and a dead-lettered one is sent again in the
// same chain (deadBatch). msg.Force is a cancel's message: it acts at once
// and starts no chain.
func (w *Worker) checkBatch(ctx context.Context, msg message) error {
	c, err := w.Store.Get(ctx, msg.Tenant, msg.CampaignID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	b, err := w.Store.Batch(ctx, c.ID, msg.Key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if b.Collected {
		return nil
	}
	batches, bc, ok := w.batching()
	if c.Mode != ModeBatch || !ok {
		// Another batch fell back to realtime: this one's emails follow.
		return w.batchToRealtime(ctx, c, b)
	}
	if c.Status == StatusCancelled && (msg.Force || b.CheckedBy == msg.Check || b.CheckedBy == "") {
		return w.cancelBatch(ctx, batches, c, b, msg)
	}
	if msg.Force {
		return nil // a cancel's message, for a campaign no longer cancelled
	}
	now := w.now()
	if b.CheckedBy != msg.Check {
		if b.CheckedBy != "" {
			return nil // another chain polls this batch
		}
		b.CheckedBy, b.CheckedAt = msg.Check, now
		if err := w.Store.UpdateBatch(ctx, c.ID, b, now); err != nil {
			if errors.Is(err, ErrConflict) {
				return nil // another chain took it first
			}
			return err
		}
	}
	if b.ProviderID == "" {
		if err := w.submitBatch(ctx, batches, bc, c, b); err != nil {
			return err
		}
		if b.Collected {
			return nil
		}
		return w.nextCheck(ctx, c, b, msg.Check)
	}
	info, err := batches.Get(ctx, b.ProviderID)
	if err != nil {
		return fmt.Errorf("read batch %s: %w", b.ProviderID, err)
	}
	if changed := b.sync(info); changed {
		if err := w.Store.UpdateBatch(ctx, c.ID, b, w.now()); err != nil {
			if errors.Is(err, ErrConflict) {
				return nil
			}
			return err
		}
	}
	if !info.Status.Ended() {
		return w.nextCheck(ctx, c, b, msg.Check)
	}
	return w.collect(ctx, batches, c, b, info)
}

// sync copies what the provider says of a batch into b, and reports
// whether anything changed.
func (b *Batch) sync(info BatchInfo) bool {
	before := *b
	b.Status, b.Completed, b.Failed = info.Status, info.Completed, info.Failed
	b.OutputFileID, b.ErrorFileID = info.OutputFileID, info.ErrorFileID
	if len(info.Errors) > 0 {
		b.Error = strings.Join(info.Errors, "; ")
	}
	return b.Status != before.Status || b.Completed != before.Completed || b.Failed != before.Failed ||
		b.OutputFileID != before.OutputFileID || b.ErrorFileID != before.ErrorFileID || b.Error != before.Error
}

// nextCheck sends the chain's next check message, after the interval:
// the same chain, so that its message is the batch's CheckedBy.
func (w *Worker) nextCheck(ctx context.Context, c *Campaign, b *Batch, check string) error {
	body, err := json.Marshal(message{Type: msgBatch, Tenant: c.Tenant, CampaignID: c.ID, Key: b.Key, Check: check})
	if err != nil {
		return err
	}
	if err := w.Queue.SendAfter(ctx, body, w.pollInterval()); err != nil {
		return fmt.Errorf("schedule the next check of batch %s: %w", b.Key, err)
	}
	return nil
}

// submitBatch uploads b's input file and creates the provider's batch over
// it, recording each step before the next, so that a worker that dies
// between two steps is followed by one that picks up after the last
// recorded one. Creating a batch costs money: it is done by the one chain
// that recorded the input file, and one that finds a file recorded but no
// batch asks the provider for a batch over that file before creating one.
func (w *Worker) submitBatch(ctx context.Context, batches Batches, bc BatchComposer, c *Campaign, b *Batch) error {
	uploaded := false
	if b.InputFileID == "" {
		lines, err := w.renderBatch(ctx, batches, bc, c, b)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			// A budget skipped every email: nothing to send, and the
			// batch reads as done with none of its lines answered.
			b.Collected, b.Status = true, BatchCompleted
			if err := w.Store.UpdateBatch(ctx, c.ID, b, w.now()); err != nil && !errors.Is(err, ErrConflict) {
				return err
			}
			return w.complete(ctx, c.Tenant, c.ID)
		}
		id, err := batches.Upload(ctx, fmt.Sprintf("ingren-%s-%s.jsonl", c.ID, b.Key), lines)
		if errors.Is(err, ErrBatchUnsupported) {
			return w.batchFallBack(ctx, c, b)
		}
		if err != nil {
			return fmt.Errorf("upload batch %s: %w", b.Key, err)
		}
		b.InputFileID = id
		if err := w.Store.UpdateBatch(ctx, c.ID, b, w.now()); err != nil {
			w.deleteFiles(ctx, batches, id)
			if errors.Is(err, ErrConflict) {
				return nil
			}
			return err
		}
		uploaded = true
	}
	if !uploaded {
		if info, found, err := batches.Find(ctx, b.InputFileID); err != nil {
			return fmt.Errorf("look for batch %s at the provider: %w", b.Key, err)
		} else if found {
			return w.recordCreated(ctx, batches, c, b, info)
		}
	}
	info, err := batches.Create(ctx, b.InputFileID, map[string]string{"campaign_id": c.ID, "batch": b.Key})
	if errors.Is(err, ErrBatchUnsupported) {
		return w.batchFallBack(ctx, c, b)
	}
	if err != nil {
		return fmt.Errorf("create batch %s: %w", b.Key, err)
	}
	return w.recordCreated(ctx, batches, c, b, info)
}

// recordCreated stores the provider's id of b. If another write won the
// batch over, the provider's batch is cancelled: its results would be
// nobody's. Any other failure leaves it to the message's next delivery,
// which finds it by its input file.
func (w *Worker) recordCreated(ctx context.Context, batches Batches, c *Campaign, b *Batch, info BatchInfo) error {
	b.ProviderID = info.ID
	b.sync(info)
	err := w.Store.UpdateBatch(ctx, c.ID, b, w.now())
	switch {
	case err == nil:
		w.log().InfoContext(ctx, "batch created", slog.String("batch", b.Key), slog.String("provider_batch", info.ID), slog.Int("lines", len(b.Indexes)))
		return nil
	case errors.Is(err, ErrConflict):
		if cerr := batches.Cancel(context.WithoutCancel(ctx), info.ID); cerr != nil {
			w.log().WarnContext(ctx, "could not cancel a batch that could not be recorded", slog.String("provider_batch", info.ID), slog.String("error", cerr.Error()))
		}
		return nil
	default:
		return fmt.Errorf("record batch %s: %w", b.Key, err)
	}
}

// renderBatch renders the lines of b's emails that are still pending.
// When a budget applies, each email first holds its expected cost at the
// batch price, as a realtime email does before its call: one that finds
// no room ends skipped and gets no line.
func (w *Worker) renderBatch(ctx context.Context, batches Batches, bc BatchComposer, c *Campaign, b *Batch) ([][]byte, error) {
	want := make(map[int]bool, len(b.Indexes))
	for _, i := range b.Indexes {
		want[i] = true
	}
	var pending []Email
	err := w.eachEmail(ctx, c.ID, func(e *Email) error {
		if want[e.Index] && e.Status == EmailPending {
			pending = append(pending, *e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("render batch %s: %w", b.Key, err)
	}
	if pending, err = w.reserveBatch(ctx, c, pending); err != nil {
		return nil, fmt.Errorf("render batch %s: %w", b.Key, err)
	}
	lines := make([][]byte, 0, len(pending))
	for i := range pending {
		line, err := renderLine(batches, bc, &pending[i])
		if err != nil {
			return nil, fmt.Errorf("render batch %s: %w", b.Key, err)
		}
		lines = append(lines, line)
	}
	return lines, nil
}

// reserveBatch holds the budget of a batch's pending emails, Concurrency
// at a time, and returns those that may go in the batch; the others end
// skipped.
func (w *Worker) reserveBatch(ctx context.Context, c *Campaign, pending []Email) ([]Email, error) {
	if _, ok := w.budgeted(c); !ok {
		return pending, nil
	}
	keep := make([]bool, len(pending))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.concurrency())
	for i := range pending {
		g.Go(func() error {
			skip, err := w.reserve(gctx, c, &pending[i], true)
			switch {
			case errors.Is(err, ErrAlreadyDone):
				return nil // written since it was read
			case err != nil:
				return err
			case skip == "":
				keep[i] = true
				return nil
			}
			if err := w.finishSkipped(gctx, c, &pending[i], skip); err != nil && !errors.Is(err, ErrAlreadyDone) {
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := pending[:0]
	for i := range pending {
		if keep[i] {
			kept = append(kept, pending[i])
		}
	}
	if skipped := len(pending) - len(kept); skipped > 0 {
		w.log().InfoContext(ctx, "emails skipped: a budget leaves no room", slog.Int("skipped", skipped))
	}
	return kept, nil
}

// batchFallBack is a provider found without the Batch API while b was
// submitted: the campaign goes realtime, b's emails with it.
func (w *Worker) batchFallBack(ctx context.Context, c *Campaign, b *Batch) error {
	if err := w.toRealtime(ctx, c, warnNoBatchAPI); err != nil {
		return err
	}
	return w.batchToRealtime(ctx, c, b)
}

// batchToRealtime sends b's emails the realtime way and ends its chain. A
// batch the provider has already (another of the campaign's batches fell
// back after this one was created) is cancelled first, so that no line is
// paid twice.
func (w *Worker) batchToRealtime(ctx context.Context, c *Campaign, b *Batch) error {
	if batches, _, ok := w.batching(); ok && b.ProviderID != "" && !b.Status.Ended() {
		if err := batches.Cancel(ctx, b.ProviderID); err != nil {
			return fmt.Errorf("cancel batch %s before writing its emails in realtime: %w", b.ProviderID, err)
		}
	}
	if err := w.sendEmails(ctx, c, b.Indexes, nil); err != nil {
		return err
	}
	b.Collected = true
	if err := w.Store.UpdateBatch(ctx, c.ID, b, w.now()); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return nil
}

// collect hands an ended batch's results on: one item message per
// answered line, carrying the answer, which the item path checks,
// repairs and records exactly once; the lines the provider failed or
// never answered (an expired or failed batch) go into a new batch, up to
// MaxReceive attempts, after which their emails fail with the provider's
// reason. A collect that dies midway is done again by the next delivery:
// item messages twice are harmless, and the retry batch's key is fixed.
func (w *Worker) collect(ctx context.Context, batches Batches, c *Campaign, b *Batch, info BatchInfo) error {
	inBatch := make(map[int]bool, len(b.Indexes))
	for _, i := range b.Indexes {
		inBatch[i] = true
	}
	answers := map[int]*email.Completion{}
	reasons := map[int]string{}
	for _, file := range []string{info.OutputFileID, info.ErrorFileID} {
		if file == "" {
			continue
		}
		results, err := batches.Results(ctx, file)
		if err != nil {
			return fmt.Errorf("read the results of batch %s: %w", b.Key, err)
		}
		for _, r := range results {
			i, ok := indexOf(c.ID, r.CustomID)
			if !ok || !inBatch[i] {
				w.log().WarnContext(ctx, "batch result for no email of this batch ignored", slog.String("custom_id", r.CustomID))
				continue
			}
			if r.Answer != nil {
				answers[i] = r.Answer
				delete(reasons, i)
			} else if answers[i] == nil {
				reasons[i] = r.Error
			}
		}
	}
	var answered, again []int
	for _, i := range b.Indexes {
		switch {
		case answers[i] != nil:
			answered = append(answered, i)
		default:
			if reasons[i] == "" {
				reasons[i] = unanswered(b, info)
			}
			again = append(again, i)
		}
	}
	if len(answered) > 0 {
		if err := w.sendEmails(ctx, c, answered, answers); err != nil {
			return err
		}
	}
	if len(again) > 0 {
		if err := w.retryLines(ctx, c, b, again, reasons); err != nil {
			return err
		}
	}
	b.Collected = true
	if err := w.Store.UpdateBatch(ctx, c.ID, b, w.now()); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	w.log().InfoContext(ctx, "batch collected", slog.String("batch", b.Key), slog.String("status", string(info.Status)),
		slog.Int("answered", len(answered)), slog.Int("unanswered", len(again)))
	return nil
}

// unanswered is the reason for a line of b that the provider neither
// answered nor failed.
func unanswered(b *Batch, info BatchInfo) string {
	switch info.Status {
	case BatchExpired:
		return "the batch expired (24 h) before this line was answered"
	case BatchFailed:
		if b.Error != "" {
			return "the batch failed: " + b.Error
		}
		return "the batch failed"
	case BatchCancelled:
		return "the batch was cancelled at the provider"
	}
	return "the batch ended without an answer for this line"
}

// retryLines puts the lines of b that got no answer into a new batch, sent
// one poll interval later, or,
// after MaxReceive attempts, fails their emails with the provider's
// reason.
func (w *Worker) retryLines(ctx context.Context, c *Campaign, b *Batch, indexes []int, reasons map[int]string) error {
	if b.Attempt < w.maxReceive() {
		next := &Batch{Key: b.Key + "." + strconv.Itoa(b.Attempt+1), Attempt: b.Attempt + 1, Indexes: indexes, Status: BatchPreparing}
		if err := w.Store.AddBatch(ctx, c.ID, next, w.now()); err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("add batch %s: %w", next.Key, err)
		}
		body, err := json.Marshal(message{Type: msgBatch, Tenant: c.Tenant, CampaignID: c.ID, Key: next.Key, Check: newCheck()})
		if err != nil {
			return err
		}
		// After a poll interval: a batch that failed on the provider's
		// limits (its queue of enqueued tokens full) needs a while.
		return w.Queue.SendAfter(ctx, body, w.pollInterval())
	}
	owner := "batch " + c.ID + "/" + b.Key + "#" + newCheck()
	var (
		failed atomic.Int64
		g      errgroup.Group
	)
	g.SetLimit(w.concurrency())
	for _, i := range indexes {
		g.Go(func() error {
			ok, err := w.failEmail(ctx, owner, c.ID, i, fmt.Sprintf("no answer after %d batches: %s", b.Attempt, reasons[i]))
			if ok {
				failed.Add(1)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	w.log().WarnContext(ctx, "batch lines failed for good", slog.String("batch", b.Key), slog.Int64("emails", failed.Load()))
	return w.complete(ctx, c.Tenant, c.ID)
}

// cancelBatch cancels b at the provider while it still runs there, and
// once it ended (a cancelled batch may leave output and error files)
// deletes its files and ends its chain. A cancel's own message (force)
// starts no chain: the batch's chain sees it through.
func (w *Worker) cancelBatch(ctx context.Context, batches Batches, c *Campaign, b *Batch, msg message) error {
	if b.ProviderID != "" {
		info, err := batches.Get(ctx, b.ProviderID)
		if err != nil {
			return fmt.Errorf("read batch %s: %w", b.ProviderID, err)
		}
		if !info.Status.Ended() {
			if info.Status != BatchCancelling {
				if err := batches.Cancel(ctx, b.ProviderID); err != nil {
					return fmt.Errorf("cancel batch %s: %w", b.ProviderID, err)
				}
				info.Status = BatchCancelling
				w.log().InfoContext(ctx, "batch cancelled with its campaign", slog.String("batch", b.Key))
			}
			if b.sync(info) {
				if err := w.Store.UpdateBatch(ctx, c.ID, b, w.now()); err != nil {
					if errors.Is(err, ErrConflict) {
						return nil
					}
					return err
				}
			}
			if msg.Force {
				return nil
			}
			return w.nextCheck(ctx, c, b, msg.Check)
		}
		b.sync(info)
	}
	w.deleteFiles(ctx, batches, b.InputFileID, b.OutputFileID, b.ErrorFileID)
	b.Collected = true
	if err := w.Store.UpdateBatch(ctx, c.ID, b, w.now()); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return nil
}

// deleteFiles deletes provider files, best effort: one left behind costs
// only storage.
func (w *Worker) deleteFiles(ctx context.Context, batches Batches, ids ...string) {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if err := batches.DeleteFile(context.WithoutCancel(ctx), id); err != nil {
			w.log().WarnContext(ctx, "could not delete a batch file", slog.String("file", id), slog.String("error", err.Error()))
		}
	}
}

// cleanUp deletes the files of a finished batch campaign's batches: their
// results are stored.
func (w *Worker) cleanUp(ctx context.Context, c *Campaign) {
	if c.Mode != ModeBatch {
		// A campaign that fell back may have batches too.
		if len(c.Warnings) == 0 {
			return
		}
	}
	batches, _, ok := w.batching()
	if !ok {
		return
	}
	all, err := w.Store.Batches(ctx, c.ID)
	if err != nil {
		w.log().WarnContext(ctx, "could not list a campaign's batches to delete their files", slog.String("error", err.Error()))
		return
	}
	var ids []string
	for _, b := range all {
		ids = append(ids, b.InputFileID, b.OutputFileID, b.ErrorFileID)
	}
	ids = slices.DeleteFunc(ids, func(s string) bool { return s == "" })
	w.deleteFiles(ctx, batches, ids...)
}

// deadBatch settles a check message the queue gave up on: the batch's
// chain must not end while the campaign lives, so the message is sent
// again, after the interval, in the same chain.
func (w *Worker) deadBatch(ctx context.Context, msg message) error {
	c, live, err := w.liveCampaign(ctx, msg)
	if err != nil || !live {
		return err
	}
	body, err := json.Marshal(message{Type: msgBatch, Tenant: c.Tenant, CampaignID: c.ID, Key: msg.Key, Check: msg.Check})
	if err != nil {
		return err
	}
	return w.Queue.SendAfter(ctx, body, w.pollInterval())
}

// handleBatch is checkBatch with its failures bounded: a check that
// failed on its last allowed receive is sent again, in the same chain,
// after the interval, rather than dead-lettered (a batch is polled until
// it ends or its campaign is gone).
func (w *Worker) handleBatch(ctx context.Context, m Delivery, msg message) error {
	err := w.checkBatch(ctx, msg)
	if err == nil || m.ReceiveCount < w.maxReceive() {
		return err
	}
	w.log().WarnContext(ctx, "batch check failed on its last receive; checking again later", slog.String("error", err.Error()))
	if derr := w.deadBatch(ctx, msg); derr != nil {
		return errors.Join(err, derr)
	}
	return nil
}

// composeAnswered writes an email from a batch's answer to its first call.
func (w *Worker) composeAnswered(ctx context.Context, req *email.Request, first email.Completion) (email.Result, error) {
	bc, ok := w.Composer.(BatchComposer)
	if !ok {
		return email.Result{}, errors.New("a batch answer came to a worker whose composer cannot take one")
	}
	return bc.ComposeAnswered(ctx, req, first)
}
