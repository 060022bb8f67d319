// Package fault holds the one error type that the domain (email, campaign)
// and the stores return for what a caller branches on: an Error whose Code
// says what went wrong, whatever layer found it. The HTTP API alone turns
// codes into statuses (internal/api/errors.go), as WTF Dial's http package
// does with its domain's codes.
//
// Sentinels such as campaign.ErrNotFound are *Error values: errors.Is finds
// a sentinel through any wrapping, errors.As an *Error and its Code.
package fault

import (
	"fmt"
	"strings"
)

// Code says what kind of failure an Error is.
type Code string

// Codes.
const (
	// Invalid is input that cannot succeed as sent; Fields names every
	// problem.
	Invalid Code = "invalid"
	// NotFound is no such campaign or email for this tenant.
	NotFound Code = "not_found"
	// Conflict is a write whose condition the stored state did not meet: a
	// status transition from another state, an id or an idempotency key
	// already used, an email already done or claimed. The campaign Service
	// settles each one; none is a client's to see.
	Conflict Code = "conflict"
	// IdempotencyConflict is an Idempotency-Key reused with another body.
	IdempotencyConflict Code = "idempotency_conflict"
	// IdempotencyInProgress is an Idempotency-Key whose first submit is
	// still being stored or enqueued: the client retries shortly.
	IdempotencyInProgress Code = "idempotency_in_progress"
	// PreconditionFailed is a write conditional on what the client read
	// (an email's ETag in If-Match) that found the state changed since.
	PreconditionFailed Code = "precondition_failed"
	// WrongState is a request the campaign or email is not in a state to
	// take, told to the client (unlike Conflict): retrying a campaign that
	// is still running, reviewing an email that has no draft, regenerating
	// one that another request is regenerating.
	WrongState Code = "wrong_state"
	// BudgetExceeded is a call a budget does not leave room for: the API
	// key's monthly budget (402 to the client), or a campaign's
	// max_cost_usd (its prospects end skipped).
	BudgetExceeded Code = "budget_exceeded"
)

// Error is a failure the domain names.
type Error struct {
	Code    Code
	Message string
	// Fields lists the problems of an Invalid error.
	Fields Fields
}

// Error returns the message, then each field's problem.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// FieldError is one problem with one field, named by its JSON path
// (for example "prospect.first_name" or "prospects[3].company.company_name").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Fields gathers every problem found in a request, so that one answer names
// them all.
type Fields []FieldError

// Add records a problem with field.
func (fs *Fields) Add(field, format string, args ...any) {
	*fs = append(*fs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns an Invalid error listing fs, or nil when fs is empty.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "invalid request", Fields: fs}
}
