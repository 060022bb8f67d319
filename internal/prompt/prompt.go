// Package prompt builds the prompt: it renders the templates for a
// request into the messages of a model call (Set.Prompt, the Prompter the
// email.Composer asks). Writers send what it built and render nothing.
// Templates are text/template files (see prompts/); a template that names a
// field the data lacks fails at Load, not as a blank in an email.
package prompt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"text/template"
	"unicode"

	"github.com/ingren/ingren/internal/email"
)

// File names of the templates: a PROMPTS_DIR folder replaces all five.
const (
	SystemFile  = "system_prompt.txt"
	UserFile    = "user_prompt_template.txt"
	RepairFile  = "repair_prompt.txt"
	RewriteFile = "rewrite_prompt.txt"
	OfflineFile = "offline_email.txt"
)

// Set is a parsed, checked set of templates. It is safe for concurrent use.
type Set struct {
	system, user, repair, rewrite, offline *template.Template
	systemText                             string
	// systemMemo keeps the system prompt's renderings, when it reads only
	// options (see memo); nil renders it for every call.
	systemMemo *memo
	// sizes are the templates' source lengths by name, to size the buffer
	// a rendering is written to.
	sizes map[string]int
	// splices are the templates that only print fields, by name (see
	// splice).
	splices map[string]splice
}

// Data is what every template sees.
type Data struct {
	Request *email.Request
	// Options are the request's options with defaults filled in.
	Options email.Options
	// ProspectData is the request's data as indented JSON. JSON escapes <, >
	// and &, so no value can close the <prospect_data> fence around it.
	ProspectData string
	// ProblemsData lists what a repair round must fix, as an indented JSON
	// array of strings for a <problems> fence: a lint finding quotes the
	// email and the prospect's data (its first name), so it is escaped
	// like ProspectData and can close no fence nor start a line.
	ProblemsData string
	// DraftData is the email a rewrite reworks (Request.Rewrite's subject
	// and body), as an indented JSON object for a <current_email> fence,
	// escaped like ProspectData; "" when there is no rewrite or no draft.
	DraftData string
	// InstructionsData is a rewrite's instructions as a JSON string for an
	// <instructions> fence, escaped like ProspectData; "" when there are
	// none.
	InstructionsData string
	// Emails is how many emails the request asks for (variants or a
	// sequence); Days their send days in a sequence (nil otherwise).
	Emails int
	Days   []int
	// Step is which email the offline template renders, from 0.
	Step int
}

// Load parses the five templates from fsys and renders each with sample
// requests, so a typo in a field name fails here, not in an email.
func Load(fsys fs.FS) (*Set, error) {
	s := Set{sizes: make(map[string]int), splices: make(map[string]splice)}
	var errs []error
	for _, f := range []struct {
		name string
		dst  **template.Template
	}{{SystemFile, &s.system}, {UserFile, &s.user}, {RepairFile, &s.repair}, {RewriteFile, &s.rewrite}, {OfflineFile, &s.offline}} {
		b, err := fs.ReadFile(fsys, f.name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read prompt %s: %w", f.name, err))
			continue
		}
		t, err := template.New(f.name).Option("missingkey=error").Funcs(funcs).Parse(string(b))
		if err != nil {
			errs = append(errs, fmt.Errorf("parse prompt %s: %w", f.name, err))
			continue
		}
		*f.dst = t
		s.sizes[f.name] = len(b)
		if sp := newSplice(t); sp != nil {
			s.splices[f.name] = sp
		}
		if f.name == SystemFile {
			s.systemText = string(b)
			s.systemMemo = newMemo(t)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, req := range samples() {
		for _, t := range []*template.Template{s.system, s.user, s.repair, s.offline} {
			if err := s.check(t, req); err != nil {
				return nil, err
			}
		}
		// A rewrite's call renders every template from a request with a
		// Rewrite; the rewrite message with and without a draft and
		// instructions.
		for _, rw := range []email.Rewrite{{Subject: "Quick idea", Body: "Hi Li,\n\nA line.\n\nBest,", Instructions: "shorter"}, {}} {
			r := *req
			r.Rewrite = &rw
			for _, t := range []*template.Template{s.system, s.user, s.repair, s.rewrite, s.offline} {
				if err := s.check(t, &r); err != nil {
					return nil, err
				}
			}
		}
	}
	return &s, nil
}

// check renders t with the data of the sample req, and fails if that is
// an error or blank.
func (s *Set) check(t *template.Template, req *email.Request) error {
	d := NewData(req, []string{"sample problem"})
	d.Step = d.Emails - 1
	out, err := s.execute(t, &d)
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) == "" {
		return fmt.Errorf("prompt %s renders empty", t.Name())
	}
	return nil
}

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	// lowerFirst lowercases the first letter of a phrase spliced into a
	// sentence ("Launched a product" → "launched a product"), unless it
	// starts an acronym or a name in capitals ("SOC 2", "AI").
	"lowerFirst": func(s string) string {
		r := []rune(s)
		if len(r) == 0 || (len(r) > 1 && unicode.IsUpper(r[1])) {
			return s
		}
		r[0] = unicode.ToLower(r[0])
		return string(r)
	},
	"add": func(a, b int) int { return a + b },
	// trimDot drops a trailing full stop, so a field can end a sentence.
	"trimDot": func(s string) string { return strings.TrimRight(strings.TrimSpace(s), ".") },
}

// NewData builds the template data for a request.
func NewData(req *email.Request, problems []string) Data {
	data := dataView{Prospect: req.Prospect, Company: req.Company, CTA: cta(req.CTA), Sender: sender(req.Sender)}
	d := Data{Request: req, Options: req.Options.WithDefaults(), ProspectData: fenceData(&data),
		Emails: req.Options.Emails(), Days: req.Options.SendDays()}
	if rw := req.Rewrite; rw != nil {
		if rw.Subject != "" || rw.Body != "" {
			d.DraftData = fenceDraft(rw.Subject, rw.Body)
		}
		if rw.Instructions != "" {
			d.InstructionsData = string(appendString(nil, rw.Instructions))
		}
	}
	return d.withProblems(problems)
}

// withProblems returns d listing problems for a repair message.
func (d Data) withProblems(problems []string) Data {
	d.ProblemsData = fenceStrings(problems)
	return d
}

type dataView struct {
	Prospect email.Prospect `json:"prospect"`
	Company  email.Company  `json:"company"`
	CTA      *email.CTA     `json:"call_to_action,omitempty"`
	Sender   *email.Sender  `json:"sender,omitempty"`
}

func cta(c email.CTA) *email.CTA {
	if c == (email.CTA{}) {
		return nil
	}
	return &c
}

func sender(s email.Sender) *email.Sender {
	if s == (email.Sender{}) {
		return nil
	}
	return &s
}

// SystemText is the system prompt's template source, for checks that look
// for an email echoing it.
func (s *Set) SystemText() string { return s.systemText }

// System renders the system prompt.
func (s *Set) System(d Data) (string, error) {
	if s.systemMemo != nil {
		return s.systemMemo.render(s.system, &d, s.size(s.system, &d))
	}
	return s.execute(s.system, &d)
}

// User renders the user message holding the fenced data.
func (s *Set) User(d Data) (string, error) { return s.execute(s.user, &d) }

// Repair renders the message asking the model to fix what ProblemsData lists.
func (s *Set) Repair(d Data) (string, error) { return s.execute(s.repair, &d) }

// Rewrite renders the message asking the model for a new version of the
// email in DraftData, following InstructionsData.
func (s *Set) Rewrite(d Data) (string, error) { return s.execute(s.rewrite, &d) }

// Offline renders the offline email: its first line is the subject, the
// rest the body.
func (s *Set) Offline(d Data) (subject, body string, err error) {
	out, err := s.execute(s.offline, &d)
	if err != nil {
		return "", "", err
	}
	subject, body, _ = strings.Cut(strings.TrimLeft(out, "\n"), "\n")
	return strings.TrimSpace(subject), strings.TrimSpace(body), nil
}

func (s *Set) execute(t *template.Template, d *Data) (string, error) {
	if sp := s.splices[t.Name()]; sp != nil {
		return sp.render(d), nil
	}
	return execute(t, d, s.size(t, d))
}

// size guesses how long t renders with d: its source and the fenced data.
func (s *Set) size(t *template.Template, d *Data) int {
	return s.sizes[t.Name()] + len(d.ProspectData) + len(d.ProblemsData) + len(d.DraftData) + len(d.InstructionsData) + 256
}

func execute(t *template.Template, d *Data, size int) (string, error) {
	var b strings.Builder
	b.Grow(size)
	// By value, as a template sees it ({{printf "%v" .}}).
	if err := t.Execute(&b, *d); err != nil {
		return "", fmt.Errorf("render prompt %s: %w", t.Name(), err)
	}
	return b.String(), nil
}

func samples() []*email.Request {
	tenure, employees, temp := 18, 250, 0.7
	return []*email.Request{
		{
			Prospect: email.Prospect{FirstName: "Sarah", LastName: "Johnson", JobTitle: "VP of Sales", TenureMonths: &tenure,
				Extra: map[string]json.RawMessage{"hobby": json.RawMessage(`"sailing"`)}},
			Company: email.Company{CompanyName: "TechNova Solutions", Industry: "SaaS", EmployeeCount: &employees,
				RecentNews: "Launched a product", GrowthSignals: "Hiring"},
			CTA:     email.CTA{Ask: "15-min chat?", CalendarLink: "calendly.com/x"},
			Sender:  email.Sender{Name: "Alex", Signature: "Alex, Ingren", ValueProposition: "We help."},
			Options: email.Options{Tone: "direct", MaxWords: 90, Language: "German", Temperature: &temp},
		},
		{Prospect: email.Prospect{FirstName: "Li"}, Company: email.Company{CompanyName: "Acme"}},
		{Prospect: email.Prospect{FirstName: "Li"}, Company: email.Company{CompanyName: "Acme"},
			Options: email.Options{Sequence: &email.Sequence{FollowUps: 2}}},
		{Prospect: email.Prospect{FirstName: "Li"}, Company: email.Company{CompanyName: "Acme"},
			Options: email.Options{Variants: 3}},
	}
}
