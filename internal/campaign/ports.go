package campaign

import (
	"context"
	"time"
)

// Store keeps campaigns and their emails.
//
// Implementations are safe for concurrent use by many processes. Writes that
// decide an outcome are conditional, so that at-least-once delivery of work
// never counts an email twice and a crash never loses a count.
//
// Times are kept to the millisecond and come back in UTC; ExpiresAt is kept
// to the second. A Page.Limit <= 0 means 100; a malformed cursor is
// ErrBadCursor. storetest.Run checks all of this.
//
// A campaign whose ExpiresAt is not after the store's clock has expired:
// from then on it reads as gone (Get and Email return ErrNotFound, List and
// Emails leave it out; so do Revise, Hold, Reopen, Reset and EndRetry) and
// its idempotency key no longer binds, even while its records are still
// stored (DynamoDB's TTL deletes up to days late).
type Store interface {
	Ledger

	// Create stores c and its emails. c.ID is new. When c.IdempotencyKey is
	// set and the tenant already used it, Create stores nothing and returns
	// the existing campaign with ErrConflict; the caller compares
	// RequestHash. A campaign becomes visible to Get only once all its emails
	// are stored. Emails number from 0 to c.Total-1: len(emails) must be
	// c.Total and emails[i].Index i. An id already used is ErrConflict. A zero
	// ExpiresAt lets the store choose one. Create returns the campaign as
	// Get will. A store whose Create is not one transaction may, for the
	// same key and RequestHash, complete the campaign that an earlier Create
	// left half-written, and return that with ErrConflict.
	Create(ctx context.Context, c *Campaign, emails []Email) (*Campaign, error)

	// Get returns the tenant's campaign, or ErrNotFound (also when the
	// campaign belongs to another tenant).
	Get(ctx context.Context, tenant, id string) (*Campaign, error)

	// List returns the tenant's campaigns, newest first, and the cursor of
	// the next page ("" after the last).
	List(ctx context.Context, tenant string, p Page) ([]Campaign, string, error)

	// Emails returns a page of the campaign's emails in index order that
	// pass p.Filter, and the next cursor. It does not check the tenant:
	// call Get first.
	Emails(ctx context.Context, campaignID string, p Page) ([]Email, string, error)

	// Email returns one email, or ErrNotFound.
	Email(ctx context.Context, campaignID string, index int) (*Email, error)

	// Finish records a pending email's outcome (status EmailSucceeded,
	// EmailNeedsReview, EmailFailed or EmailSkipped) and adds it to the
	// campaign's counters and usage in one atomic write, and sets the
	// campaign's UpdatedAt to now. The same write releases the email's
	// Held and books the outcome in the Ledger. It returns ErrAlreadyDone, changing nothing, when the email is no
	// longer pending, and ErrNotFound when there is no such email.
	Finish(ctx context.Context, campaignID string, index int, status EmailStatus, r Outcome, now time.Time) error

	// Claim leases a pending email to owner until until, so that of several
	// deliveries of one email (SQS delivers at least once, and a redelivered
	// expand message sends every email again) one calls the model while the
	// others wait. It succeeds when the email has no lease, an expired one
	// (its until not after now), or owner's own (which it moves to until).
	// Otherwise it returns a *ClaimedError with the holder's until. When
	// the email is no longer pending it returns ErrAlreadyDone instead, as
	// of after the lease was taken: a delivery that read the email just
	// before another finished it never calls the model, even if that
	// other's lease has ended since. The email must exist (read it first).
	// Finish leaves the lease in place. Exactly one of several owners
	// racing for a free email succeeds.
	Claim(ctx context.Context, campaignID string, index int, owner string, now, until time.Time) error

	// Release ends owner's lease on the email if owner still holds it, so
	// that a retry of the email need not wait for the lease to expire.
	// Releasing a lease that is gone or another's is not an error.
	Release(ctx context.Context, campaignID string, index int, owner string) error

	// ClaimTask leases one of the campaign's one-off tasks (enqueueing its
	// expansion, calling its webhook) to owner until until, so that of
	// several submits or deliveries racing to do it one does. Like Claim,
	// it succeeds when nobody holds the task, the holder's lease has ended
	// (its until not after now), or owner holds it (moved to until; until
	// = now gives it up). Otherwise it returns a *ClaimedError with the
	// holder's until. Once FinishTask marked the task done it returns
	// ErrAlreadyDone; with no such campaign, ErrNotFound. Exactly one of
	// several owners racing for a free task succeeds.
	ClaimTask(ctx context.Context, campaignID string, task Task, owner string, now, until time.Time) error

	// FinishTask marks the campaign's task done, whoever holds it: every
	// later ClaimTask returns ErrAlreadyDone. Finishing a done task is not
	// an error; with no such campaign it returns ErrNotFound.
	FinishTask(ctx context.Context, campaignID string, task Task) error

	// Transition moves the campaign to status to if it is in one of from,
	// setting UpdatedAt (and CompletedAt for a final status), or returns
	// ErrConflict (ErrNotFound when there is no such campaign). Exactly one
	// of several racing callers succeeds.
	Transition(ctx context.Context, campaignID string, from []Status, to Status, now time.Time) error

	// Revise changes a finished email (succeeded, needs_review, failed or
	// skipped)
	// whose Version is still version, and moves the campaign's counters
	// (succeeded, failed, needs_review, approved, rejected, usage) with it,
	// in one atomic write: see Revision. It adds 1 to the Version, sets the
	// campaign's UpdatedAt to now, releases any Hold, and returns the
	// email as Email will. ErrVersionMismatch when the Version is another
	// (a pending email's too), ErrNotFound when there is no such email.
	// Exactly one of several racing Revises of one version succeeds.
	Revise(ctx context.Context, campaignID string, index, version int, r Revision, now time.Time) (*Email, error)

	// Hold leases a finished email to owner until until, for a request
	// that calls the model to regenerate it, so that of two such requests
	// one pays for a call. It succeeds when the email's Version is
	// version and it has no unexpired hold but owner's (moved to until;
	// until = now gives it up). Otherwise ErrVersionMismatch (a pending
	// email's too), or a *ClaimedError with the holder's until; ErrNotFound
	// when there is no such email. Exactly one of several owners racing
	// for a free email succeeds. A hold is apart from Claim's
	// lease, which a finished email may keep until its campaign ends.
	Hold(ctx context.Context, campaignID string, index, version int, owner string, now, until time.Time) error

	// Reopen starts retry round round+1 of a finished campaign
	// (completed or completed_with_errors) whose Round is round: it
	// becomes running with Round round+1 and Retrying true, CompletedAt
	// cleared and UpdatedAt now, and TaskNotify is made undone (the
	// webhook is called again when the campaign finishes again).
	// ErrConflict when the campaign is in another status or round (of
	// several racing Reopens one succeeds), ErrNotFound without it.
	Reopen(ctx context.Context, campaignID string, round int, now time.Time) error

	// Reset makes a finished email pending again for retry round round,
	// if its Status is one of from, its Review is not approved and its
	// Round is below round: Status pending, Round round, Version plus 1,
	// Outcome, Edit, Review, Note and ReviewedAt cleared, any lease or
	// hold released, and the campaign's counters moved back (its usage
	// stays: it was paid for) and its UpdatedAt set to now, in one atomic
	// write. Otherwise it returns ErrAlreadyDone, changing nothing, or
	// ErrNotFound when there is no such email. Exactly one of several
	// racing Resets of one email succeeds.
	Reset(ctx context.Context, campaignID string, index int, from []EmailStatus, round int, now time.Time) error

	// EndRetry sets Retrying false if the campaign's Round is round (and
	// UpdatedAt to now); otherwise it changes nothing and returns nil.
	// ErrNotFound without the campaign.
	EndRetry(ctx context.Context, campaignID string, round int, now time.Time) error

	// AddBatch stores a new batch of a batch-mode campaign: b.Version
	// becomes 1 and CreatedAt and UpdatedAt now (b is updated in place).
	// ErrConflict, storing nothing, when the campaign has a batch of that
	// Key already (of several racing AddBatches of one key one succeeds);
	// ErrNotFound without the campaign.
	AddBatch(ctx context.Context, campaignID string, b *Batch, now time.Time) error

	// Batch returns one of the campaign's batches, or ErrNotFound.
	Batch(ctx context.Context, campaignID, key string) (*Batch, error)

	// Batches returns all the campaign's batches, oldest first (by
	// CreatedAt, then Key); none is an empty slice.
	Batches(ctx context.Context, campaignID string) ([]Batch, error)

	// UpdateBatch writes b over the stored batch of its Key if the stored
	// Version is still b.Version: every field but Key, Attempt, Indexes and
	// CreatedAt. Version gains 1 and UpdatedAt becomes now (b is updated in
	// place). ErrConflict, changing nothing, when the Version is another
	// (of several racing updates of one version one succeeds); ErrNotFound
	// without the batch.
	UpdateBatch(ctx context.Context, campaignID string, b *Batch, now time.Time) error

	// SwitchMode moves the campaign from mode from to mode to, appends
	// warning (when not "") to its Warnings, and sets UpdatedAt to now, in
	// one write. ErrConflict when its mode is not from (of several racing
	// switches one succeeds), ErrNotFound without the campaign.
	SwitchMode(ctx context.Context, campaignID string, from, to Mode, warning string, now time.Time) error

	// DeleteExpired deletes campaigns that expired by now, with their
	// emails, leases and idempotency keys, removing at most limit records
	// in one short write, and returns how many it removed: call it again
	// until it returns 0. A store whose records expire by themselves
	// (DynamoDB's TTL) deletes nothing and returns 0.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error)
}

// Delivery is a received unit of work.
type Delivery struct {
	// ID identifies the message (SQS message id).
	ID string
	// Handle deletes or extends this delivery (SQS receipt handle).
	Handle string
	Body   []byte
	// ReceiveCount is how many times the message was received, this time
	// included (SQS ApproximateReceiveCount).
	ReceiveCount int
}

// Queue is a work queue with SQS semantics: at-least-once delivery, a
// visibility timeout after which an undeleted message comes back, and a
// receive count.
//
// Implementations are safe for concurrent use.
type Queue interface {
	// Send enqueues the bodies (each at most 256 KiB, and text that SQS
	// accepts, such as JSON), batching and parallelising as the backend
	// allows. A body over 256 KiB is an error before anything is sent. On
	// other errors some bodies may have been sent: work must be idempotent.
	Send(ctx context.Context, bodies [][]byte) error

	// SendAfter enqueues body to become visible after delay (at most 15
	// minutes, SQS's longest; a longer delay is an error before anything
	// is sent). Its body is as Send's.
	SendAfter(ctx context.Context, body []byte, delay time.Duration) error

	// Receive returns up to max (1..10, else an error) messages, waiting up
	// to wait for the first one; it returns an empty slice, not an error,
	// when none came. SQS rounds wait up to whole seconds, at most 20.
	Receive(ctx context.Context, max int, wait time.Duration) ([]Delivery, error)

	// Delete acknowledges messages by handle; unknown or expired handles are
	// not an error.
	Delete(ctx context.Context, handles []string) error

	// Extend sets a received message's visibility timeout to d from now.
	// d = 0 makes it visible again at once. SQS rounds d up to whole
	// seconds, and returns an error when the delivery is no longer in
	// flight (deleted, or timed out); other backends may not.
	Extend(ctx context.Context, handle string, d time.Duration) error
}

// DeadLetterQueue is a Queue that keeps its dead letters itself, as the
// local program's goqite queue does; SQS moves them to a queue of their
// own, which Lambda hands to the worker as it does the work queue. The
// Poller takes them and has Worker.DeadLetter settle them.
type DeadLetterQueue interface {
	Queue
	// ReceiveDead returns up to max (1..10) dead letters: messages received
	// as many times as the queue allows whose last delivery ended without
	// a delete. It hides each from ReceiveDead for the queue's visibility
	// timeout, so that one that could not be settled comes back later.
	// Delete removes one for good.
	ReceiveDead(ctx context.Context, max int) ([]Delivery, error)
}
