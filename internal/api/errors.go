package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ingren/ingren/internal/csvin"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// ErrUnauthorized is a missing or unknown API key.
var ErrUnauthorized = errors.New("missing or invalid API key")

// StatusClientClosedRequest is the status of a request whose client left
// before the answer (nginx's 499): it appears in the logs only.
const StatusClientClosedRequest = 499

// Error is an answer the API gives on purpose, with its status and code.
type Error struct {
	Status  int
	Code    string
	Message string
	Fields  []fault.FieldError
	// RetryAfter sets the Retry-After header when positive.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string             `json:"code"`
	Message   string             `json:"message"`
	Fields    []fault.FieldError `json:"fields,omitempty"`
	RequestID string             `json:"request_id,omitempty"`
}

// toError decides the answer for any error a handler returns. Internal
// errors are logged in full and answered with "internal error".
func (s *Server) toError(ctx context.Context, err error) *Error {
	var (
		apiErr *Error
		fe     *fault.Error
		syn    *email.SyntaxError
		tooBig *http.MaxBytesError
		wErr   *email.Error
	)
	if errors.As(err, &apiErr) {
		return apiErr
	}
	if errors.As(err, &fe) {
		if e := faultError(fe); e != nil {
			return e
		}
	}
	var unreadable *csvin.Error
	switch {
	case errors.As(err, &unreadable):
		return &Error{Status: http.StatusBadRequest, Code: "unreadable_file", Message: unreadable.Error()}
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: syn.Error()}
	case errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	case errors.Is(err, ErrUnauthorized):
		return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing or invalid API key (send it in the x-api-key header)"}
	case errors.As(err, &wErr):
		return s.writerError(ctx, wErr)
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Message: "the model did not answer in time"}
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client left before its answer: not our failure, and no one
		// reads this one. 499 is what the request's log line says.
		return &Error{Status: StatusClientClosedRequest, Code: "client_closed_request", Message: "the client closed the request"}
	}
	s.log.ErrorContext(ctx, "internal error", slog.String("request_id", requestIDOf(ctx)), slog.String("error", err.Error()))
	return &Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "internal error"}
}

// faultError is the answer to a domain error, or nil for one no client
// should get: those are internal errors.
func faultError(e *fault.Error) *Error {
	switch e.Code {
	case fault.Invalid:
		if len(e.Fields) == 0 {
			// The request as a whole (a change that changes nothing): the
			// answer still names a field, "" for the request itself.
			return &Error{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
				Message: e.Message, Fields: []fault.FieldError{{Field: "", Message: e.Message}}}
		}
		return &Error{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
			Message: fmt.Sprintf("the request has %d invalid field(s)", len(e.Fields)), Fields: e.Fields}
	case fault.NotFound:
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such campaign"}
	case fault.PreconditionFailed:
		return &Error{Status: http.StatusPreconditionFailed, Code: "precondition_failed", Message: e.Message}
	case fault.WrongState:
		return &Error{Status: http.StatusConflict, Code: "wrong_state", Message: e.Message}
	case fault.BudgetExceeded:
		return &Error{Status: http.StatusPaymentRequired, Code: "budget_exceeded", Message: e.Message}
	case fault.IdempotencyConflict:
		return &Error{Status: http.StatusConflict, Code: "idempotency_conflict", Message: e.Message}
	case fault.IdempotencyInProgress:
		// The first submit is storing or enqueueing its campaign: a second
		// or two.
		return &Error{Status: http.StatusConflict, Code: "idempotency_in_progress", Message: e.Message, RetryAfter: 2 * time.Second}
	}
	// fault.Conflict: the campaign Service settles a store's conflicts,
	// and one that reaches a handler is a bug.
	return nil
}

func (s *Server) writerError(ctx context.Context, e *email.Error) *Error {
	s.log.WarnContext(ctx, "model call failed", slog.String("request_id", requestIDOf(ctx)),
		slog.String("kind", e.Kind.String()), slog.String("error", e.Error()))
	switch e.Kind {
	case email.KindRateLimited:
		ra := e.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "the model provider is rate limiting; retry later", RetryAfter: ra}
	case email.KindTimeout:
		return &Error{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Message: "the model did not answer in time"}
	case email.KindBadOutput:
		return &Error{Status: http.StatusBadGateway, Code: "bad_model_output", Message: "the model's answer was unusable, even after a repair attempt"}
	case email.KindRejected:
		return &Error{Status: http.StatusBadGateway, Code: "upstream_rejected", Message: "the model provider refused the request (check the model name and the provider key)"}
	default:
		return &Error{Status: http.StatusBadGateway, Code: "upstream_unavailable", Message: "the model provider failed; retry later"}
	}
}

// writeError answers with err as JSON.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.toError(r.Context(), err)
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, e.Status, errorBody{Error: errorDetail{
		Code: e.Code, Message: e.Message, Fields: e.Fields, RequestID: requestIDOf(r.Context()),
	}})
}
