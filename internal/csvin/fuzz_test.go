package csvin_test

import (
	"errors"
	"testing"

	"github.com/ingren/ingren/internal/csvin"
	"github.com/ingren/ingren/internal/fault"
)

// FuzzRead reads any bytes: the answer is a table, an *Error or a
// fault.Invalid error, and a table's rows are numbered from 2 upward.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"First Name,Company\nAda,Acme\n",
		"\xEF\xBB\xBFFirst Name;Company\r\nAda;\"Acme\r\nInc\"\r\n;\r\n",
		"\xFF\xFEF\x00,\x00",
		"First Name\tCompany\t# Employees\nAda\tAcme\t1,2,3\n",
		"\x93First Name\x94,Company\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := csvin.Read(b, nil)
		var (
			ce *csvin.Error
			fe *fault.Error
		)
		switch {
		case err == nil:
		case errors.As(err, &ce), errors.As(err, &fe) && fe.Code == fault.Invalid:
			return
		default:
			t.Fatalf("error of another kind: %v", err)
		}
		last := 1
		for _, r := range tab.Rows {
			if r.Number <= last {
				t.Fatalf("row %d after row %d", r.Number, last)
			}
			last = r.Number
		}
		if len(tab.Rows) == 0 {
			t.Fatal("a table without rows")
		}
	})
}
