package csvin_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/ingren/ingren/internal/csvin"
	"github.com/ingren/ingren/internal/fault"
)

func utf16(tb testing.TB, s string, e unicode.Endianness) []byte {
	tb.Helper()
	b, err := unicode.UTF16(e, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func win1252(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// row is what a test checks of one row: its number, a few fields, its
// context.
type row struct {
	Number   int
	First    string
	Company  string
	Ref      string
	Title    string
	Count    *int
	Extra    map[string]string
	Problems []string
}

func rowsOf(t *csvin.Table) []row {
	var out []row
	for _, r := range t.Rows {
		in := r.Input
		got := row{Number: r.Number, First: in.Prospect.FirstName, Company: in.Company.CompanyName, Ref: in.Ref,
			Title: in.Prospect.JobTitle, Count: in.Company.EmployeeCount}
		for _, m := range []map[string]json.RawMessage{in.Prospect.Extra, in.Company.Extra} {
			for k, v := range m {
				if got.Extra == nil {
					got.Extra = map[string]string{}
				}
				var s string
				_ = json.Unmarshal(v, &s)
				got.Extra[k] = s
			}
		}
		for _, p := range r.Problems {
			got.Problems = append(got.Problems, p.Field+": "+p.Message)
		}
		out = append(out, got)
	}
	return out
}

func intp(n int) *int { return &n }

func TestRead(t *testing.T) {
	const plain = "First Name,Company,Title\nAda,Acme,CTO\n"
	want := []row{{Number: 2, First: "Ada", Company: "Acme", Title: "CTO"}}
	tests := []struct {
		name string
		in   []byte
		cmap map[string]string
		want []row
	}{
		{"OKUTF8", []byte(plain), nil, want},
		{"OKUTF8BOM", []byte("\xEF\xBB\xBF" + plain), nil, want},
		{"OKUTF16LE", utf16(t, plain, unicode.LittleEndian), nil, want},
		{"OKUTF16BE", utf16(t, plain, unicode.BigEndian), nil, want},
		{"OKUTF16Tabs", utf16(t, "First Name\tCompany\tTitle\r\nAda\tAcme\tCTO\r\n", unicode.LittleEndian), nil, want},
		{"OKWindows1252Semicolon", win1252(t, "Vorname;Firma;Position\r\nJürgen;Müller GmbH;Geschäftsführer\r\n"),
			map[string]string{"Vorname": "first_name", "Firma": "company_name", "Position": "job_title"},
			[]row{{Number: 2, First: "Jürgen", Company: "Müller GmbH", Title: "Geschäftsführer"}}},
		{"OKSemicolonWithCommasInCells", []byte("First Name;Company;Title\nAda;Acme, Inc.;CTO, founder\n"), nil,
			[]row{{Number: 2, First: "Ada", Company: "Acme, Inc.", Title: "CTO, founder"}}},
		{"OKQuotedNewlineCRLFTrailingEmptyRows", []byte("First Name,Company,Notes\r\nAda,Acme,\"line one\r\nline two\"\r\nBo,Beta,\r\n,,\r\n,,\r\n\r\n"), nil,
			[]row{{Number: 2, First: "Ada", Company: "Acme", Extra: map[string]string{"Notes": "line one\nline two"}},
				{Number: 3, First: "Bo", Company: "Beta"}}},
		{"OKEmptyRowKeepsNumbering", []byte("First Name,Company\nAda,Acme\n,\nBo,Beta\n"), nil,
			[]row{{Number: 2, First: "Ada", Company: "Acme"}, {Number: 4, First: "Bo", Company: "Beta"}}},
		{"OKAliases", []byte("Record ID,first_name,Account Name,Job Title,# Employees,Twitter\n7,Ada,Acme,CTO,\"1,200\",@ada\n"), nil,
			[]row{{Number: 2, First: "Ada", Company: "Acme", Ref: "7", Title: "CTO", Count: intp(1200), Extra: map[string]string{"Twitter": "@ada"}}}},
		{"OKAmbiguousCountIsContext", []byte("First Name,Company,Number of Employees\nAda,Acme,51-200\nBo,Beta,250+\nCy,Cee,1 500\n"), nil,
			[]row{{Number: 2, First: "Ada", Company: "Acme", Extra: map[string]string{"Number of Employees": "51-200"}},
				{Number: 3, First: "Bo", Company: "Beta", Extra: map[string]string{"Number of Employees": "250+"}},
				{Number: 4, First: "Cy", Company: "Cee", Count: intp(1500)}}},
		{"OKColumnMapOverrides", []byte("Name,Org,Title\nAda,Acme,CTO\n"),
			map[string]string{"Name": "first_name", "org": "Company Name", "Title": "-"},
			[]row{{Number: 2, First: "Ada", Company: "Acme"}}},
		{"OKDuplicateColumnIsContext", []byte("First Name,Company,Company Name\nAda,Acme,Acme Corp\n"), nil,
			[]row{{Number: 2, First: "Ada", Company: "Acme", Extra: map[string]string{"Company Name (column 3)": "Acme Corp"}}}},
		{"ErrRowTooLong", []byte("First Name,Company\nAda,Acme\nBo,Beta,extra\n"), nil,
			[]row{{Number: 2, First: "Ada", Company: "Acme"},
				{Number: 3, First: "Bo", Company: "Beta", Problems: []string{"rows[3]: has 3 cells; the header has 2 columns"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := csvin.Read(tt.in, tt.cmap)
			if err != nil {
				t.Fatal(err)
			}
			if got := rowsOf(tab); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadUnreadable(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"ErrEmpty", "", "empty"},
		{"ErrHeaderOnly", "First Name,Company\r\n,\r\n", "no rows"},
		{"ErrXLSX", "PK\x03\x04rest of a zip", ".xlsx"},
		{"ErrUTF16NoBOM", "F\x00i\x00r\x00s\x00t\x00", "UTF-16 without a byte order mark"},
		{"ErrBadQuote", "First Name,Company\nAda,\"Acme\n", "line 2"},
		{"ErrBadUTF8AfterBOM", "\xEF\xBB\xBFFirst Name,Company\n\xff,Acme\n", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := csvin.Read([]byte(tt.in), nil)
			var ce *csvin.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *csvin.Error", err)
			}
			if !strings.Contains(ce.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to say %q", ce.Reason, tt.reason)
			}
		})
	}
}

func TestReadInvalidHeader(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		cmap   map[string]string
		fields []string
	}{
		{"ErrNoFirstName", "Name,Company\nAda,Acme\n", nil, []string{"columns"}},
		{"ErrNoFirstNameNorCompany", "Name,Org\nAda,Acme\n", nil, []string{"columns", "columns"}},
		{"ErrColumnMapUnknownField", "First Name,Company,X\nAda,Acme,1\n", map[string]string{"X": "shoe_size"}, []string{`column_map["X"]`}},
		{"ErrColumnMapMissingColumn", "First Name,Company\nAda,Acme\n", map[string]string{"Y": "email"}, []string{`column_map["Y"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := csvin.Read([]byte(tt.in), tt.cmap)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != fault.Invalid {
				t.Fatalf("err = %v, want fault.Invalid", err)
			}
			var got []string
			for _, f := range fe.Fields {
				got = append(got, f.Field)
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestField(t *testing.T) {
	tests := []struct{ path, want string }{
		{"prospect.first_name", "rows[12].first_name"},
		{"company.company_name", "rows[12].company_name"},
		{"company.location", "rows[12].company_location"},
		{"prospect", "rows[12]"},
		{"ref", "rows[12].ref"},
		{"options.model", "rows[12].options.model"},
	}
	for _, tt := range tests {
		if got := csvin.Field(12, tt.path); got != tt.want {
			t.Errorf("Field(12, %q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestReadExports reads each sample export of testdata/csv and checks
// the fields its columns fill.
func TestReadExports(t *testing.T) {
	type want struct {
		rows              int
		first, email, web string
		count             *int
		context           string
	}
	tests := map[string]want{
		"apollo.csv":               {3, "Maya", "maya.okafor@brightloom.example", "http://www.brightloom.example", intp(1200), "Company Name for Emails"},
		"hubspot.csv":              {3, "Lena", "lena.fischer@kiteworks.example", "kiteworks.example", intp(3400), "Lifecycle Stage"},
		"salesnav.csv":             {2, "Samir", "", "", nil, "Company Size"},
		"excel-semicolon-1252.csv": {3, "François", "francois@cafe-etoile.example", "", nil, "Number of Employees"},
		"excel-utf16.csv":          {2, "Nadia", "nadia@silkroad.example", "silkroad.example", nil, ""},
	}
	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "csv", name))
			if err != nil {
				t.Fatal(err)
			}
			tab, err := csvin.Read(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(tab.Rows) != w.rows {
				t.Fatalf("%d rows, want %d", len(tab.Rows), w.rows)
			}
			in := tab.Rows[0].Input
			p, c := in.Prospect, in.Company
			if p.FirstName != w.first || p.Email != w.email || c.Website != w.web || !reflect.DeepEqual(c.EmployeeCount, w.count) {
				t.Errorf("row 2: %+v %+v", p, c)
			}
			if _, ok := c.Extra[w.context]; w.context != "" && !ok {
				if _, ok := p.Extra[w.context]; !ok {
					t.Errorf("column %q is not context: %v %v", w.context, p.Extra, c.Extra)
				}
			}
			for _, r := range tab.Rows {
				if len(r.Problems) > 0 {
					t.Errorf("row %d: %v", r.Number, r.Problems)
				}
			}
		})
	}
}
