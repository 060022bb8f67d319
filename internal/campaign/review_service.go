package campaign

import (
	"context"
	"errors"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/lint"
)

// Checker lints a reviewer's edit of an email against the request it was
// written for; *email.Composer is one.
type Checker interface {
	CheckEdit(req *email.Request, subject, body string) lint.Report
}

// Change is a reviewer's change to one email (the API's PATCH): nil
// members are left as they are.
type Change struct {
	Subject, Body *string
	Review        *Review
	Note          *string
}

// AnyVersion, as an ifMatch, is a request without If-Match: the change
// applies to whatever version the email is at.
const AnyVersion = -1

var errNotYet = errors.New("campaign: review not implemented yet")

// Email returns one of the tenant's campaign's emails.
func (s *Service) Email(ctx context.Context, tenant, id string, index int) (*Email, error) {
	return nil, errNotYet
}

// Change applies a reviewer's change to an email with a draft (succeeded
// or needs_review): an edit is linted again (the draft is kept beside it),
// a review decision and a note are recorded. ifMatch is the Version the
// reviewer read, or AnyVersion; another is ErrVersionMismatch.
func (s *Service) Change(ctx context.Context, tenant, id string, index, ifMatch int, ch Change) (*Email, error) {
	return nil, errNotYet
}

// Regenerate writes a new draft of a finished email through the model,
// following the reviewer's instructions (which may be empty), and returns
// the email with it: linted, repaired once if need be, its usage counted.
func (s *Service) Regenerate(ctx context.Context, tenant, id string, index, ifMatch int, instructions string) (*Email, error) {
	return nil, errNotYet
}

// Retry makes every failed email of a finished campaign (and, with
// includeNeedsReview, every flagged one not approved) pending again and
// queues each exactly once. It returns the campaign, running again, and
// how many emails it retries.
func (s *Service) Retry(ctx context.Context, tenant, id string, includeNeedsReview bool) (*Campaign, int, error) {
	return nil, 0, errNotYet
}
