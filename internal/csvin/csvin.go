// Package csvin reads a campaign's prospects from a CSV file as the common
// exports write one (Apollo, HubSpot, Salesforce, Sales Navigator, Clay):
// any of their encodings and delimiters, their column names. It knows
// nothing of HTTP.
//
// Words: a column is the file's, a field is the request's (first_name,
// company_name). A row is named as a spreadsheet shows it: the header is
// row 1, so the first prospect is row 2.
package csvin

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/fault"
)

// Error is a file that cannot be read as CSV at all.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "unreadable CSV file: " + e.Reason }

func unreadable(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Row is one prospect of the file.
type Row struct {
	// Number is the row as a spreadsheet shows it (the header is row 1).
	Number int
	Input  campaign.Input
	// Problems are what reading the row found, named by Field. The
	// request's own checks come later (campaign.Service.SubmitInputs).
	Problems fault.Fields
}

// Table is the file's prospects.
type Table struct {
	// Header is the file's first row as written: the names that an export
	// with the input columns gives back (campaign.Campaign.Columns).
	Header []string
	Rows   []Row
	// Warnings say what was read other than as the header asked: a
	// column left as context, a number kept as text.
	Warnings []string
}

// Inputs returns the rows as the campaign's parsed inputs.
func (t *Table) Inputs() []campaign.ParsedInput {
	out := make([]campaign.ParsedInput, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = campaign.ParsedInput{Input: r.Input, Problems: r.Problems}
	}
	return out
}

// Field names field path ("prospect.first_name", as the request's checks
// name it) of the table's i-th row as a client sees it:
// "rows[12].first_name".
func (t *Table) Field(i int, path string) string {
	return Field(t.Rows[i].Number, path)
}

// Field names a request's field path in row n: "rows[n].first_name". The
// prospect and company fields share one namespace in a file; only
// company.location is named apart, company_location.
func Field(n int, path string) string {
	switch {
	case path == "company.location":
		path = "company_location"
	case strings.HasPrefix(path, "prospect."):
		path = strings.TrimPrefix(path, "prospect.")
	case strings.HasPrefix(path, "company."):
		path = strings.TrimPrefix(path, "company.")
	}
	if path == "" || path == "prospect" || path == "company" {
		return fmt.Sprintf("rows[%d]", n)
	}
	return fmt.Sprintf("rows[%d].%s", n, path)
}

// Read reads a CSV file's prospects. columnMap maps a column, by its header
// as written, to a field, overriding the aliases; the field "-" drops the
// column. A file that cannot be read is an *Error; a header that does not
// fit (columnMap names a missing column or an unknown field, no column
// holds a required field) is a fault.Invalid error naming each problem.
// Row problems do not fail Read: they are in each Row.
func Read(b []byte, columnMap map[string]string) (*Table, error) {
	text, err := decode(b)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = delimiter(text)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, unreadable("the file is empty")
	}
	if err != nil {
		return nil, unreadable("%v", csvReason(err))
	}
	cols, warnings, err := mapColumns(header, columnMap)
	if err != nil {
		return nil, err
	}
	t := &Table{Header: header, Warnings: warnings}
	kept := map[int]*keptNumbers{}
	for n := 2; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, unreadable("%v", csvReason(err))
		}
		if blank(rec) {
			continue
		}
		t.Rows = append(t.Rows, readRow(n, rec, cols, kept))
	}
	if len(t.Rows) == 0 {
		return nil, unreadable("the file has a header but no rows")
	}
	for i := range cols {
		if k := kept[i]; k != nil {
			t.Warnings = append(t.Warnings, fmt.Sprintf("column %q: %d value(s) such as %q are not one whole number; kept as text context", cols[i].header, k.count, k.example))
		}
	}
	return t, nil
}

// csvReason says what encoding/csv found, by the spreadsheet's row where
// it knows it.
func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return err.Error()
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// keptNumbers counts a number column's values kept as text.
type keptNumbers struct {
	count   int
	example string
}

func readRow(n int, rec []string, cols []column, kept map[int]*keptNumbers) Row {
	row := Row{Number: n}
	// The row's cells as written, one per column: a short row's last cells
	// are empty, and a long row's extra cells are blank (else a problem).
	row.Input.Cells = make([]string, len(cols))
	copy(row.Input.Cells, rec)
	if len(rec) > len(cols) {
		for _, c := range rec[len(cols):] {
			if strings.TrimSpace(c) != "" {
				row.Problems.Add(fmt.Sprintf("rows[%d]", n), "has %d cells; the header has %d columns", len(rec), len(cols))
				break
			}
		}
	}
	in := &row.Input
	for i, col := range cols {
		if i >= len(rec) {
			break // a short row: its last cells are empty
		}
		v := strings.TrimSpace(rec[i])
		if v == "" || col.field == dropField {
			continue
		}
		if col.field == nil {
			addExtra(in, col, v)
			continue
		}
		if col.field.number != nil {
			num, ok := wholeNumber(v)
			if !ok {
				k := kept[i]
				if k == nil {
					k = &keptNumbers{example: v}
					kept[i] = k
				}
				k.count++
				addExtra(in, col, v)
				continue
			}
			*col.field.number(in) = &num
			continue
		}
		*col.field.text(in) = v
	}
	return row
}

// addExtra keeps v as context: under the company when its column names
// one (an account's or organization's), else under the prospect.
func addExtra(in *campaign.Input, col column, v string) {
	raw, _ := json.Marshal(v) // a string always marshals
	m := &in.Prospect.Extra
	if col.company {
		m = &in.Company.Extra
	}
	if *m == nil {
		*m = map[string]json.RawMessage{}
	}
	(*m)[col.header] = raw
}

// decode returns the file as UTF-8 text: UTF-8 with or without a byte
// order mark, UTF-16 with one (Excel's "Unicode text"), else
// Windows-1252 (Excel's "CSV" on a Western Windows).
func decode(b []byte) (string, error) {
	switch {
	case len(b) == 0:
		return "", unreadable("the file is empty")
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return "", unreadable("this is an Excel workbook (.xlsx) or another zip file, not CSV: save it as CSV")
	case bytes.HasPrefix(b, []byte("\xD0\xCF\x11\xE0")):
		return "", unreadable("this is an Excel 97-2003 workbook (.xls), not CSV: save it as CSV")
	case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")):
		b = b[3:]
		if !utf8.Valid(b) {
			return "", unreadable("the file starts with a UTF-8 byte order mark but is not valid UTF-8")
		}
		return string(b), nil
	case bytes.HasPrefix(b, []byte("\xFF\xFE")), bytes.HasPrefix(b, []byte("\xFE\xFF")):
		return decodeUTF16(b)
	case bytes.IndexByte(b, 0) >= 0:
		return "", unreadable("the file holds NUL bytes: it is binary, or UTF-16 without a byte order mark; save it as CSV UTF-8")
	case utf8.Valid(b):
		return string(b), nil
	}
	return decodeWindows1252(b)
}

// delimiter is the one of , ; and tab that the header line, outside
// quotes, holds most of; a comma when it holds none.
func delimiter(text string) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range text {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if !quoted && (c == '\n' || c == '\r') {
			break
		}
		if !quoted {
			counts[c]++
		}
	}
	best := ','
	for _, d := range []rune{';', '\t'} {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best
}

// wholeNumber reads a count as people write it: "1200", "1,200",
// "1 200". Anything else ("250+", "51-200", "1.2k", "1.200", which is
// 1.2 or 1200 by locale) is not unambiguous, and false.
func wholeNumber(s string) (int, bool) {
	s = strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(s)
	for _, sep := range []string{",", " "} {
		if !strings.Contains(s, sep) {
			continue
		}
		groups := strings.Split(s, sep)
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return 0, false
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, false
			}
		}
		s = strings.Join(groups, "")
		break
	}
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
