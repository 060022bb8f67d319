package campaign

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ingren/ingren/internal/email"
)

// Service submits, reads, cancels and retries campaigns, and has their
// emails reviewed, edited and regenerated.
type Service struct {
	Store Store
	Queue Queue
	// Composer writes a regenerated email; Checker lints an edited one.
	// *email.Composer is both. Without them Regenerate and an edit fail.
	Composer Composer
	Checker  Checker
	// Prices counts what a regenerated email cost (nil: no model has a
	// price), and turns an estimate's tokens into dollars (nil: the
	// embedded table, price.Default()).
	Prices Prices
	// KeyBudgets gives each tenant's monthly budget (nil: none): a
	// submit or a regenerate of a key whose month is spent is refused.
	KeyBudgets KeyBudgets
	// Observer is told of each regenerated draft; nil for none.
	Observer Observer
	// RegenerateTimeout bounds one Regenerate's model work, repair round
	// included, when the caller's context ends later (default
	// DefaultRegenerateTimeout).
	RegenerateTimeout time.Duration
	// MaxProspects bounds one campaign (default 10,000).
	MaxProspects int
	// AllowedModels are the names options.model may take (see
	// email.Composer).
	AllowedModels []string
	// Model is the model a request that names none is written with, for
	// Estimate (default: the first of AllowedModels, the Writer's own).
	Model string
	// TTL is how long a campaign is kept (default 30 days).
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Submitted is the outcome of Submit.
type Submitted struct {
	Campaign *Campaign
	// Replayed is true when an Idempotency-Key matched an earlier submit.
	Replayed bool
	Warnings []string
	// Skipped lists the inputs SubmitInputs left out, in order.
	Skipped []Skipped
}

// Submit validates the whole body, stores the campaign and its emails, then
// enqueues one message that a worker expands into one message per email.
// Nothing is stored unless every entry is valid. With an idempotency key, a
// repeat of the same body returns the first campaign; another body is
// ErrIdempotencyConflict.
func (s *Service) Submit(ctx context.Context, tenant, idemKey string, body []byte) (*Submitted, error) {
	sub, reqs, warnings, err := DecodeSubmission(body, s.maxProspects(), s.AllowedModels)
	if err != nil {
		return nil, err
	}
	return s.submit(ctx, tenant, idemKey, body, sub, reqs, warnings)
}

func (s *Service) maxProspects() int {
	if s.MaxProspects == 0 {
		return DefaultMaxProspects
	}
	return s.MaxProspects
}

// submit stores the valid sub, whose requests are reqs, and enqueues it;
// body, hashed, tells a replay of an idempotency key from another request.
func (s *Service) submit(ctx context.Context, tenant, idemKey string, body []byte, sub *Submission, reqs []email.Request, warnings []string) (*Submitted, error) {
	now := s.now()
	if _, _, err := s.checkBudgets(ctx, tenant, sub, reqs, now); err != nil {
		return nil, err
	}
	ttl := s.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	sum := sha256.Sum256(body)
	c := &Campaign{
		ID:              NewID(now),
		Tenant:          tenant,
		Name:            sub.Name,
		Status:          StatusQueued,
		Total:           len(reqs),
		WebhookURL:      sub.WebhookURL,
		MaxCostMicroUSD: MicroUSD(sub.MaxCostUSD),
		Mode:            Mode(or(string(sub.Mode), string(ModeRealtime))),
		Columns:         sub.Columns,
		IdempotencyKey:  idemKey,
		RequestHash:     hex.EncodeToString(sum[:]),
		CreatedAt:       now,
		UpdatedAt:       now,
		ExpiresAt:       now.Add(ttl),
	}
	emails := make([]Email, len(reqs))
	for i := range reqs {
		emails[i] = Email{CampaignID: c.ID, Index: i, Ref: sub.Prospects[i].Ref, Request: reqs[i],
			Cells: sub.Prospects[i].Cells, Status: EmailPending}
	}
	existing, err := s.Store.Create(ctx, c, emails)
	switch {
	case errors.Is(err, ErrConflict) && existing != nil:
		if existing.RequestHash != c.RequestHash {
			return nil, ErrIdempotencyConflict
		}
		// A replay. If the first submit died before it enqueued the
		// campaign's expansion, this one does; of racing replays one does.
		if existing.Status == StatusQueued && existing.Succeeded+existing.Failed == 0 {
			switch err := s.enqueueExpand(ctx, existing); {
			case errors.Is(err, ErrClaimed):
				// Another submit is enqueueing it, or died doing so; then
				// a retry after expandLease takes over.
				return nil, ErrIdempotencyInProgress
			case err != nil && !errors.Is(err, ErrAlreadyDone):
				return nil, err
			}
		}
		return &Submitted{Campaign: existing, Replayed: true, Warnings: warnings}, nil
	case errors.Is(err, ErrConflict):
		return nil, ErrIdempotencyInProgress
	case err != nil:
		return nil, fmt.Errorf("store campaign: %w", err)
	}
	// ErrClaimed or ErrAlreadyDone: a replay racing this submit took the
	// enqueueing over.
	if err := s.enqueueExpand(ctx, c); err != nil && !errors.Is(err, ErrClaimed) && !errors.Is(err, ErrAlreadyDone) {
		// Do not leave a queued campaign that nothing will work: cancel it.
		// The client may submit again (with the same Idempotency-Key, it gets
		// a new try at enqueueing only while the campaign is queued).
		if terr := s.Store.Transition(context.WithoutCancel(ctx), c.ID, []Status{StatusQueued}, StatusCancelled, s.now()); terr != nil {
			err = errors.Join(err, terr)
		}
		return nil, fmt.Errorf("enqueue campaign: %w", err)
	}
	return &Submitted{Campaign: c, Warnings: warnings}, nil
}

// expandLease is how long a submit holds TaskExpand before a replay may
// take it over: longer than a submit runs (the API Lambda stops after 29 s).
const expandLease = time.Minute

// enqueueExpand sends c's expand message unless another submit of c did or
// is doing so: it claims TaskExpand first, and returns ErrAlreadyDone or a
// *ClaimedError (ErrClaimed) when it may not. Of racing submits exactly one
// sends, and once one has sent, no replay sends again.
func (s *Service) enqueueExpand(ctx context.Context, c *Campaign) error {
	b, err := json.Marshal(message{Type: msgExpand, Tenant: c.Tenant, CampaignID: c.ID, Total: c.Total})
	if err != nil {
		return err
	}
	owner, now := randomHex(8), s.now()
	if err := s.Store.ClaimTask(ctx, c.ID, TaskExpand, owner, now, now.Add(expandLease)); err != nil {
		return err
	}
	if err := s.Queue.Send(ctx, [][]byte{b}); err != nil {
		// Give the task up, so that the client's retry may enqueue at once.
		if gerr := s.Store.ClaimTask(context.WithoutCancel(ctx), c.ID, TaskExpand, owner, now, now); gerr != nil {
			err = errors.Join(err, gerr)
		}
		return err
	}
	// Sent. Should this write fail, a replay after expandLease sends a
	// second expand message, which is harmless (emails are idempotent):
	// not a reason to fail a submit whose campaign is on its way.
	_ = s.Store.FinishTask(context.WithoutCancel(ctx), c.ID, TaskExpand)
	return nil
}

// randomHex returns n random bytes in hex: unique, not secret.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// finishGrace is how long after its last email's write a campaign whose
// emails are all done must stay unfinished before Get finishes it. The
// worker that wrote the last email finishes it at once and sends the
// webhook; a Get that won that race would leave the campaign without one.
const finishGrace = time.Minute

// Get returns the tenant's campaign. A campaign whose emails are all done
// but whose status was not moved for finishGrace (no worker completed it)
// is finished here, unless a retry is still making emails pending again.
func (s *Service) Get(ctx context.Context, tenant, id string) (*Campaign, error) {
	c, err := s.Store.Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if !c.Status.Final() && c.Done() && !c.Retrying && s.now().Sub(c.UpdatedAt) >= finishGrace {
		to := finalStatus(c)
		if err := s.Store.Transition(ctx, c.ID, []Status{StatusQueued, StatusRunning}, to, s.now()); err != nil && !errors.Is(err, ErrConflict) {
			return nil, err
		}
		return s.Store.Get(ctx, tenant, id)
	}
	return c, nil
}

// Batches returns the provider batches of c, a campaign Get returned to
// its tenant, oldest first: none for a realtime campaign.
func (s *Service) Batches(ctx context.Context, c *Campaign) ([]Batch, error) {
	return s.Store.Batches(ctx, c.ID)
}

// List returns a page of the tenant's campaigns, newest first.
func (s *Service) List(ctx context.Context, tenant string, p Page) ([]Campaign, string, error) {
	return s.Store.List(ctx, tenant, p)
}

// Emails returns a page of the tenant's campaign's emails, in input order.
func (s *Service) Emails(ctx context.Context, tenant, id string, p Page) ([]Email, string, error) {
	if _, err := s.Store.Get(ctx, tenant, id); err != nil {
		return nil, "", err
	}
	return s.Store.Emails(ctx, id, p)
}

// Cancel stops a live campaign: its pending emails are not sent to the
// model. Cancelling a finished campaign returns it unchanged.
func (s *Service) Cancel(ctx context.Context, tenant, id string) (*Campaign, error) {
	if _, err := s.Store.Get(ctx, tenant, id); err != nil {
		return nil, err
	}
	err := s.Store.Transition(ctx, id, []Status{StatusQueued, StatusRunning}, StatusCancelled, s.now())
	if err != nil && !errors.Is(err, ErrConflict) {
		return nil, err
	}
	c, err := s.Store.Get(ctx, tenant, id)
	if err == nil && c.Status == StatusCancelled {
		s.cancelBatches(ctx, c)
		if err := s.releaseReservations(ctx, c); err != nil {
			return nil, err
		}
	}
	return c, err
}

// releaseReservations gives back what a cancelled campaign's pending
// emails hold of its budgets: emails of cancelled batches, and emails
// whose delivery died holding, are never finished. A call still running
// settles its real cost when it finishes. A failure leaves the rest for
// the cancel's retry (cancelling twice is allowed).
func (s *Service) releaseReservations(ctx context.Context, c *Campaign) error {
	if c.ReservedMicroUSD <= 0 {
		return nil
	}
	p := Page{Limit: 100, Filter: EmailFilter{Statuses: []EmailStatus{EmailPending}}}
	for {
		emails, next, err := s.Store.Emails(ctx, c.ID, p)
		if err != nil {
			return fmt.Errorf("release the budget campaign %s holds: %w", c.ID, err)
		}
		for _, e := range emails {
			if e.Reserved.Amount == 0 {
				continue
			}
			if err := s.Store.Unreserve(ctx, c.ID, e.Index, c.Tenant); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("release the budget email %d of campaign %s holds: %w", e.Index, c.ID, err)
			}
		}
		if next == "" {
			return nil
		}
		p.Cursor = next
	}
}

// cancelBatches has the worker cancel the campaign's open provider
// batches now rather than at their next check, which would do it too:
// best effort.
func (s *Service) cancelBatches(ctx context.Context, c *Campaign) {
	if c.Mode != ModeBatch {
		return
	}
	all, err := s.Store.Batches(ctx, c.ID)
	if err != nil {
		return
	}
	var bodies [][]byte
	for _, b := range all {
		if b.Collected {
			continue
		}
		body, err := json.Marshal(message{Type: msgBatch, Tenant: c.Tenant, CampaignID: c.ID, Key: b.Key, Force: true})
		if err == nil {
			bodies = append(bodies, body)
		}
	}
	if len(bodies) > 0 {
		_ = s.Queue.Send(context.WithoutCancel(ctx), bodies)
	}
}

func finalStatus(c *Campaign) Status {
	if c.Failed > 0 {
		return StatusCompletedWithErrors
	}
	return StatusCompleted
}

// NewID returns a new campaign id: sortable by creation time, unguessable.
func NewID(now time.Time) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return fmt.Sprintf("cmp_%011x%s", now.UnixMilli(), hex.EncodeToString(b))
}

// message is a queue message body.
type message struct {
	Type       string `json:"type"`
	Tenant     string `json:"tenant,omitempty"`
	CampaignID string `json:"campaign_id"`
	Index      int    `json:"index,omitempty"`
	Total      int    `json:"total,omitempty"`
	// Round and Statuses are a retry's: the round Service.Retry started,
	// and the statuses of the emails it makes pending again.
	Round    int           `json:"round,omitempty"`
	Statuses []EmailStatus `json:"statuses,omitempty"`
	// Answer is a batch's answer to an email's first call: the item
	// message writes the email from it instead of calling the model.
	Answer *email.Completion `json:"answer,omitempty"`
	// Key and Check are a batch check's: the batch, and the chain of
	// check messages it belongs to. Force marks a cancel's check, which
	// acts at once and starts no chain.
	Key   string `json:"key,omitempty"`
	Check string `json:"check,omitempty"`
	Force bool   `json:"force,omitempty"`
}

const (
	msgExpand = "expand"
	msgEmail  = "item"
	msgNotify = "notify"
	msgRetry  = "retry"
	msgBatch  = "batch"
)
