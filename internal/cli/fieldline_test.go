package cli

import (
	"testing"

	"github.com/ingren/ingren/internal/client"
)

func TestFieldLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		field client.FieldError
		want  string
	}{
		{"CSVRowField", client.FieldError{Field: "rows[12].first_name", Message: "is required"}, "row 12: first_name is required"},
		{"CSVRow", client.FieldError{Field: "rows[3]", Message: "has 4 cells; the header has 5"}, "row 3: has 4 cells; the header has 5"},
		{"JSONField", client.FieldError{Field: "prospects[0].company.company_name", Message: "is required"}, "prospects[0].company.company_name is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fieldLine(tc.field); got != tc.want {
				t.Fatalf("fieldLine = %q, want %q", got, tc.want)
			}
		})
	}
}
