package campaign

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// Status is a campaign's state.
type Status string

// Campaign states. Queued and Running are live; the others are final.
const (
	StatusQueued              Status = "queued"
	StatusRunning             Status = "running"
	StatusCompleted           Status = "completed"
	StatusCompletedWithErrors Status = "completed_with_errors"
	StatusCancelled           Status = "cancelled"
)

// Final reports whether s is an end state.
func (s Status) Final() bool {
	return s == StatusCompleted || s == StatusCompletedWithErrors || s == StatusCancelled
}

// EmailStatus is one prospect's state.
type EmailStatus string

// Email states. Only pending emails are worked; the others are final.
const (
	EmailPending     EmailStatus = "pending"
	EmailSucceeded   EmailStatus = "succeeded"
	EmailNeedsReview EmailStatus = "needs_review"
	EmailFailed      EmailStatus = "failed"
	// EmailSkipped: a budget left no room for the prospect's model call
	// (Outcome.Error says which); it counts as failed, as NeedsReview
	// counts as succeeded.
	EmailSkipped EmailStatus = "skipped"
)

// Tally is what one finished email adds to its campaign's counters.
// Skipped is part of Failed, as NeedsReview is of Succeeded.
type Tally struct{ Succeeded, NeedsReview, Failed, Skipped int }

// Finishing returns what Store.Finish records for an email that ends with
// status and outcome r: the tally it adds to its campaign, and r as the JSON
// a store keeps. A status that is not an outcome (pending, or unknown) is an
// error.
func Finishing(status EmailStatus, r Outcome) (Tally, []byte, error) {
	var t Tally
	switch status {
	case EmailSucceeded:
		t.Succeeded = 1
	case EmailNeedsReview:
		t.Succeeded, t.NeedsReview = 1, 1
	case EmailFailed:
		t.Failed = 1
	case EmailSkipped:
		t.Failed, t.Skipped = 1, 1
	default:
		return Tally{}, nil, fmt.Errorf("%q is not an outcome", status)
	}
	output, err := json.Marshal(r)
	return t, output, err
}

// Task is a one-off job of a campaign that several processes may race to
// do (Store.ClaimTask lets one do it).
type Task string

// Tasks.
const (
	// TaskExpand is enqueueing the campaign's expand message: a replayed
	// submit does it only if the first did not.
	TaskExpand Task = "expand"
	// TaskNotify is calling the campaign's webhook once it finished.
	TaskNotify Task = "notify"
)

// Valid reports whether t is one of the tasks above; stores refuse others.
func (t Task) Valid() bool { return t == TaskExpand || t == TaskNotify }

// Campaign is a batch of prospects submitted at once by one tenant.
type Campaign struct {
	ID     string
	Tenant string
	Name   string
	Status Status
	Total  int
	// Succeeded counts emails with an email (NeedsReview ones included);
	// Failed counts emails without. The campaign is done when
	// Succeeded+Failed == Total.
	Succeeded   int
	Failed      int
	NeedsReview int
	// Skipped counts the emails a budget skipped: part of Failed.
	Skipped int
	// Approved and Rejected count the emails with that review decision.
	Approved int
	Rejected int
	// Round counts the campaign's retries (Store.Reopen). Retrying is true
	// from a retry's Reopen until its worker made every email to retry
	// pending again (Store.EndRetry): meanwhile the campaign is not
	// finished even if its counters say every email is done.
	Round    int
	Retrying bool
	Usage    email.Usage
	// MaxCostMicroUSD caps what the campaign's model calls may cost, in
	// millionths of a dollar (0: no cap); Create stores it and nothing
	// changes it. ReservedMicroUSD is what the emails being written hold of
	// it (Store.Reserve) until Finish settles their real cost into
	// Usage.CostMicroUSD: a new hold must fit under the cap with both.
	MaxCostMicroUSD  int64
	ReservedMicroUSD int64
	// Mode is how the emails are written; Create stores it as given (""
	// as realtime), and a campaign stored before modes existed reads as
	// realtime. Warnings are what the campaign's owner should know that
	// happened while it ran (SwitchMode adds one).
	Mode       Mode
	Warnings   []string
	WebhookURL string
	// Columns is a CSV campaign's header as the file had it, in its order;
	// nil for a JSON campaign. The CSV export with columns=input starts
	// each row with the email's Cells under these names.
	Columns []string
	// IdempotencyKey and RequestHash make a repeated submit return the
	// same campaign.
	IdempotencyKey string
	RequestHash    string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    time.Time // zero until final
	ExpiresAt      time.Time // the store may delete the campaign after this
}

// Unskipped counts the emails that failed other than by a budget: what
// the API and the webhook call failed, where each prospect counts in one
// status.
func (c *Campaign) Unskipped() int { return c.Failed - c.Skipped }

// Pending counts emails not yet worked.
func (c *Campaign) Pending() int { return c.Total - c.Succeeded - c.Failed }

// Clean counts the emails written without a finding that needs review:
// Succeeded less NeedsReview, what the API and the webhook call
// succeeded, where each prospect counts in one status.
func (c *Campaign) Clean() int { return c.Succeeded - c.NeedsReview }

// Unreviewed counts the drafts (succeeded and needs_review) nobody decided
// on yet.
func (c *Campaign) Unreviewed() int { return c.Succeeded - c.Approved - c.Rejected }

// Done reports whether every email has an outcome.
func (c *Campaign) Done() bool { return c.Succeeded+c.Failed >= c.Total }

// Email is one prospect of a campaign, in input order from 0.
type Email struct {
	CampaignID string
	Index      int
	Ref        string
	Request    email.Request // campaign defaults already merged in
	// Cells are a CSV campaign's row of this prospect as the file had it,
	// one per Campaign.Columns; nil for a JSON campaign's email.
	Cells   []string
	Status  EmailStatus
	Outcome *Outcome // nil while pending
	// Version counts the changes to what a reader of the email sees: 0
	// until first written; Finish, Revise and Reset each add 1. The API's
	// ETag is made of it.
	Version int
	// Round is the retry round that last made the email pending again
	// (Store.Reset); 0 if none did.
	Round int
	// Edit is a reviewer's change to the draft, nil if none; the draft
	// stays in Outcome.
	Edit *Edit
	// Review is the reviewer's decision, Note their note, ReviewedAt when
	// the decision was last set (zero if never).
	Review     Review
	Note       string
	ReviewedAt time.Time
	// Reserved is the budget a pending email holds while its model call runs
	// (Store.Reserve); zero when none. Finish releases it.
	Reserved Reservation
}

// CheckEmails enforces Store.Create's numbering: emails[i] is email i of
// c.Total.
func CheckEmails(c *Campaign, emails []Email) error {
	if len(emails) != c.Total {
		return fmt.Errorf("create campaign %s: %d items for a total of %d", c.ID, len(emails), c.Total)
	}
	for i := range emails {
		if emails[i].Index != i {
			return fmt.Errorf("create campaign %s: item %d has index %d", c.ID, i, emails[i].Index)
		}
	}
	return nil
}

// Outcome is what working an email produced.
type Outcome struct {
	// Subject and Body are the main (first) email's.
	Subject string      `json:"subject,omitempty"`
	Body    string      `json:"body,omitempty"`
	Model   string      `json:"model,omitempty"`
	Usage   email.Usage `json:"usage"`
	Error   string      `json:"error,omitempty"`
	// Emails holds every email with its quality report: one, or the
	// variants or sequence the prospect's options asked for.
	Emails []email.Checked `json:"emails,omitempty"`
	// Kind says what Emails are: one email, variants or a sequence.
	Kind email.RequestKind `json:"kind,omitempty"`
}

// Errors the ports and the Service return and callers branch on, each a
// *fault.Error whose Code the API answers by.
var (
	// ErrNotFound: no such campaign or email for this tenant.
	ErrNotFound = &fault.Error{Code: fault.NotFound, Message: "not found"}
	// ErrConflict: the state was not what the write required (a status
	// transition from another state, an id that exists, or an idempotency
	// key used with another body).
	ErrConflict = &fault.Error{Code: fault.Conflict, Message: "conflict"}
	// ErrAlreadyDone: the email was not pending (a redelivered message).
	ErrAlreadyDone = &fault.Error{Code: fault.Conflict, Message: "email already done"}
	// ErrClaimed: another delivery holds the email's lease (see
	// ClaimedError).
	ErrClaimed = &fault.Error{Code: fault.Conflict, Message: "email claimed by another delivery"}
	// ErrBadCursor: a Page.Cursor that the store did not return.
	ErrBadCursor = fault.Fields{{Field: "cursor", Message: "is not a cursor this listing returned"}}.Err()
	// ErrIdempotencyConflict is an Idempotency-Key reused with another body.
	ErrIdempotencyConflict = &fault.Error{Code: fault.IdempotencyConflict,
		Message: "idempotency key already used with a different body"}
	// ErrIdempotencyInProgress is an Idempotency-Key whose first submit is
	// still being stored: the client retries shortly.
	ErrIdempotencyInProgress = &fault.Error{Code: fault.IdempotencyInProgress,
		Message: "a submit with this idempotency key is still in progress; retry shortly"}
)

// ClaimedError is Store.Claim's error when another owner holds an unexpired
// lease on the email. errors.Is(err, ErrClaimed) holds.
type ClaimedError struct {
	// Until is when the holder's lease ends.
	Until time.Time
}

func (e *ClaimedError) Error() string {
	return fmt.Sprintf("%v until %s", ErrClaimed, e.Until.Format(time.RFC3339Nano))
}

// Unwrap makes errors.Is(err, ErrClaimed) true.
func (e *ClaimedError) Unwrap() error { return ErrClaimed }

// Page asks for one page of a listing. Cursor is opaque, "" for the first
// page.
type Page struct {
	Limit  int
	Cursor string
	// Filter narrows Store.Emails (List ignores it). A filtered page, too,
	// holds Limit emails unless it is the last one.
	Filter EmailFilter
}
