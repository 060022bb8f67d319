package prompt

import (
	"testing"
	"text/template"

	"github.com/ingren/ingren/prompts"
)

func TestMemoOnlyForTemplatesThatReadValues(t *testing.T) {
	cases := map[string]struct {
		src  string
		memo bool
	}{
		"OptionsAndCounts": {`{{.Options.Tone}} {{.Options.MaxWords}} {{if gt .Emails 1}}{{.Emails}}{{end}}`, true},
		"RangeOverDays":    {`{{range $i, $d := .Days}}{{if $i}}, {{end}}{{add $i 1}}: {{$d}}{{else}}none{{end}}`, true},
		"DollarField":      {`{{with .Days}}{{$.Options.Language}} {{.}}{{end}}`, true},
		"Text":             {`plain text`, true},
		"ErrRequest":       {`{{.Request.Prospect.FirstName}}`, false},
		"ErrFencedData":    {`{{.ProspectData}}x`, false},
		"ErrWholeData":     {`{{printf "%v" .}}`, false},
		"ErrDollar":        {`{{$}}`, false},
		"ErrStruct":        {`{{with .Options}}{{.Tone}}{{end}}`, false},
		"ErrMethod":        {`{{.Options.Emails}}`, false},
		"ErrPointer":       {`{{.Options.Temperature}}`, false},
		"ErrDefine":        {`{{define "x"}}{{.Request}}{{end}}{{template "x" .}}`, false},
		"ErrChain":         {`{{(.Options).Tone}}`, false},
		"ErrRootDotInElse": {`{{range .Days}}{{.}}{{else}}{{.}}{{end}}`, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl := template.Must(template.New("t").Option("missingkey=error").Funcs(funcs).Parse(tc.src))
			m := newMemo(tmpl)
			if (m != nil) != tc.memo {
				t.Fatalf("memo %v, want %v", m != nil, tc.memo)
			}
			if m == nil {
				return
			}
			// The memo renders as the template does, for data that
			// differs in what it reads and in what it does not.
			for _, req := range samples() {
				d := NewData(req, nil)
				for range 2 {
					got, err := m.render(tmpl, &d, 0)
					want, werr := execute(tmpl, &d, 0)
					if got != want || (err == nil) != (werr == nil) {
						t.Fatalf("memo %q (%v), template %q (%v)", got, err, want, werr)
					}
				}
			}
		})
	}
}

// TestSystemPromptMemo checks that prompts/'s system prompt is kept, that
// every request gets the prompt its own options render, and that the memo
// stays bounded whatever tones clients send.
func TestSystemPromptMemo(t *testing.T) {
	s, err := Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	if s.systemMemo == nil {
		t.Fatal("the system prompt reads only options, and is rendered for every call")
	}
	tones := []string{"friendly", "direct", "warm and brief", "formal"}
	for i := range 3 * maxMemo {
		for _, req := range samples() {
			req.Options.Tone = tones[i%len(tones)]
			if i >= len(tones) {
				req.Options.Tone = "tone" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			}
			d := NewData(req, nil)
			got, err := s.System(d)
			if err != nil {
				t.Fatal(err)
			}
			want, err := execute(s.system, &d, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("tone %q, %d emails: the memo gave\n%s\nthe template\n%s", req.Options.Tone, d.Emails, got, want)
			}
		}
	}
	if n := len(s.systemMemo.out); n > maxMemo {
		t.Fatalf("the memo holds %d renderings, want at most %d", n, maxMemo)
	}
}

func TestSpliceOnlyForTemplatesThatPrintFields(t *testing.T) {
	cases := map[string]struct {
		src    string
		splice bool
	}{
		"UserMessage":  {"Write the email for this prospect.\n\n<prospect_data>\n{{.ProspectData}}\n</prospect_data>", true},
		"Values":       {`{{.Options.Tone}}, {{.Emails}} {{- .Options.MaxWords -}} x {{.ProblemsData}} {{/* note */}}`, true},
		"Text":         {`only text`, true},
		"ErrFunc":      {`{{lowerFirst .Options.Tone}}`, false},
		"ErrPipe":      {`{{.Options.Tone | printf "%q"}}`, false},
		"ErrIf":        {`{{if .Days}}x{{end}}`, false},
		"ErrSlice":     {`{{.Days}}`, false},
		"ErrPointer":   {`{{.Options.Temperature}}`, false},
		"ErrRequest":   {`{{.Request.Prospect.FirstName}}`, false},
		"ErrVariable":  {`{{$x := .Emails}}{{$x}}`, false},
		"ErrStruct":    {`{{.Options}}`, false},
		"ErrWholeData": {`{{.}}`, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl := template.Must(template.New("t").Option("missingkey=error").Funcs(funcs).Parse(tc.src))
			sp := newSplice(tmpl)
			if (sp != nil) != tc.splice {
				t.Fatalf("splice %v, want %v", sp != nil, tc.splice)
			}
			if sp == nil {
				return
			}
			for _, req := range samples() {
				for _, problems := range [][]string{nil, {"a <b> & \"c\""}} {
					d := NewData(req, problems)
					want, err := execute(tmpl, &d, 0)
					if err != nil {
						t.Fatal(err)
					}
					if got := sp.render(&d); got != want {
						t.Fatalf("splice %q, template %q", got, want)
					}
				}
			}
		})
	}
	s, err := Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	if s.splices[UserFile] == nil {
		t.Fatalf("%s only prints the fenced data, and is executed by text/template", UserFile)
	}
}
