package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/fault"
)

// TestFaultError pins the answer to each domain error, wrapped as a store
// or the Service returns it.
func TestFaultError(t *testing.T) {
	for name, tc := range map[string]struct {
		err        error
		status     int
		code       string
		message    string
		retryAfter time.Duration
		fields     int
	}{
		"Invalid": {fault.Fields{{Field: "limit", Message: "must be a whole number from 1 to 100"}}.Err(),
			http.StatusUnprocessableEntity, "validation_failed", "the request has 1 invalid field(s)", 0, 1},
		"InvalidAsAWhole": {&fault.Error{Code: fault.Invalid, Message: "nothing to change: give subject, body, review or note"},
			http.StatusUnprocessableEntity, "validation_failed", "nothing to change: give subject, body, review or note", 0, 1},
		"BadCursor": {fmt.Errorf("list: %w", campaign.ErrBadCursor),
			http.StatusUnprocessableEntity, "validation_failed", "the request has 1 invalid field(s)", 0, 1},
		"NotFound": {fmt.Errorf("get campaign x: %w", campaign.ErrNotFound),
			http.StatusNotFound, "not_found", "no such campaign", 0, 0},
		"VersionMismatch": {fmt.Errorf("revise email 3: %w", campaign.ErrVersionMismatch),
			http.StatusPreconditionFailed, "precondition_failed", campaign.ErrVersionMismatch.Message, 0, 0},
		"WrongState": {&fault.Error{Code: fault.WrongState, Message: "the campaign is still running"},
			http.StatusConflict, "wrong_state", "the campaign is still running", 0, 0},
		"IdempotencyConflict": {campaign.ErrIdempotencyConflict,
			http.StatusConflict, "idempotency_conflict", "idempotency key already used with a different body", 0, 0},
		"IdempotencyInProgress": {campaign.ErrIdempotencyInProgress,
			http.StatusConflict, "idempotency_in_progress", "a submit with this idempotency key is still in progress; retry shortly", 2 * time.Second, 0},
	} {
		t.Run(name, func(t *testing.T) {
			var fe *fault.Error
			if !errors.As(tc.err, &fe) {
				t.Fatalf("%v holds no *fault.Error", tc.err)
			}
			e := faultError(fe)
			if e == nil || e.Status != tc.status || e.Code != tc.code || e.Message != tc.message ||
				e.RetryAfter != tc.retryAfter || len(e.Fields) != tc.fields {
				t.Errorf("faultError = %+v, want %d %s %q retry after %v with %d field(s)",
					e, tc.status, tc.code, tc.message, tc.retryAfter, tc.fields)
			}
		})
	}
	t.Run("ConflictIsInternal", func(t *testing.T) {
		for _, err := range []error{campaign.ErrConflict, campaign.ErrAlreadyDone, campaign.ErrClaimed} {
			if e := faultError(err.(*fault.Error)); e != nil {
				t.Errorf("faultError(%v) = %+v, want nil (an internal error)", err, e)
			}
		}
	})
}
