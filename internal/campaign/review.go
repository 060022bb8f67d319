package campaign

import (
	"time"

	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/lint"
)

// Review is a reviewer's decision on an email's draft. Only an email with
// a draft (succeeded or needs_review) is reviewed.
type Review string

// Review decisions. ReviewNone is an email nobody decided on yet; the API
// calls it "unreviewed".
const (
	ReviewNone     Review = ""
	ReviewApproved Review = "approved"
	ReviewRejected Review = "rejected"
)

// Edit is a reviewer's change to an email's main (first) email. The
// model's draft stays in the Email's Outcome beside it.
type Edit struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	// Quality is the edit linted again, against the same request.
	Quality  lint.Report `json:"quality"`
	EditedAt time.Time   `json:"edited_at"`
}

// EmailFilter narrows Store.Emails. Within Statuses, and within Reviews,
// an email matches any one; an email must match both lists. An empty list
// matches every email.
type EmailFilter struct {
	Statuses []EmailStatus
	// Reviews: ReviewNone matches an email with a draft (succeeded or
	// needs_review) and no decision; approved and rejected ones match
	// their decision.
	Reviews []Review
}

// Empty reports whether f matches every email.
func (f EmailFilter) Empty() bool { return len(f.Statuses) == 0 && len(f.Reviews) == 0 }

// Match reports whether e passes f: what a store's filtered Emails must
// return, for stores (and tests) that filter in Go.
func (f EmailFilter) Match(e *Email) bool {
	if len(f.Statuses) > 0 && !contains(f.Statuses, e.Status) {
		return false
	}
	if len(f.Reviews) == 0 {
		return true
	}
	if e.Review == ReviewNone && e.Status != EmailSucceeded && e.Status != EmailNeedsReview {
		return false // no draft: neither reviewed nor waiting for it
	}
	return contains(f.Reviews, e.Review)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Revision is a change to a finished email that Store.Revise makes in one
// atomic write with the campaign's counters. Nil members leave their part
// unchanged.
type Revision struct {
	// Draft, when not nil, replaces the email's outcome with a new one
	// (regenerate): Status becomes its status (succeeded, needs_review or
	// failed), the counters move from the old status to it, Draft.Usage
	// (the new calls' usage) is added to the email's usage and to the
	// campaign's, and the edit, review (with ReviewedAt) and note are
	// cleared. Edit, Review and Note must then be nil; without a Draft,
	// Status must be empty.
	Draft  *Outcome
	Status EmailStatus
	// Reserved is what the Draft's calls held of the key's budget
	// (Ledger.ReserveKey): the write releases it and books the Draft's
	// usage.
	Reserved Reservation
	// Edit replaces the reviewer's edit.
	Edit *Edit
	// Review sets the decision (ReviewNone clears it), moving the
	// campaign's approved and rejected counts; ReviewedAt becomes the
	// write's now.
	Review *Review
	// Note replaces the reviewer's note.
	Note *string
}

// ErrVersionMismatch is a write conditional on an email's Version that
// found another: someone changed the email since it was read (the API's
// 412 on a stale If-Match).
var ErrVersionMismatch = &fault.Error{Code: fault.PreconditionFailed,
	Message: "the email changed since you read it; read it again and reapply your change"}
