package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ingren/ingren/internal/fault"
)

func TestError(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"MessageAlone": {&fault.Error{Code: fault.NotFound, Message: "not found"}, "not found"},
		"InvalidNamesEachField": {
			fault.Fields{{Field: "a", Message: "is required"}, {Field: "b.c", Message: "must be at most 3 characters"}}.Err(),
			"invalid request: a: is required; b.c: must be at most 3 characters",
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	t.Run("NoneIsNil", func(t *testing.T) {
		var v fault.Fields
		if err := v.Err(); err != nil {
			t.Fatalf("Err() = %v, want nil", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		v := &fault.Fields{}
		v.Add("limit", "must be from %d to %d", 1, 100)
		err := fmt.Errorf("list: %w", v.Err())
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Code != fault.Invalid || len(fe.Fields) != 1 ||
			fe.Fields[0] != (fault.FieldError{Field: "limit", Message: "must be from 1 to 100"}) {
			t.Fatalf("err = %#v, want a fault.Invalid error naming limit", fe)
		}
	})
}
