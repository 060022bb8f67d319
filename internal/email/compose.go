package email

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/lint"
)

// OfflineModel is the model name an offline Writer reports.
const OfflineModel = "offline"

// Checked is one finished email with its quality report.
type Checked struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	// Day is the send day in a sequence (0 for the first email); nil
	// outside a sequence.
	Day     *int        `json:"day,omitempty"`
	Quality lint.Report `json:"quality"`
}

// Result is a finished request: one email, or the variants or sequence it
// asked for, with what the caller should know about them.
type Result struct {
	// Emails holds at least one email; the first is the main one.
	Emails []Checked
	Model  string
	Usage  Usage
	// NeedsReview is true when an email still has an error-level finding
	// after the repair round: it must not be sent on as good.
	NeedsReview bool
	// Repaired is true when a repair round ran.
	Repaired bool
	Warnings []string
}

// Composer writes emails for valid requests: it has its Prompter render
// the call, has the Writer make it, checks every email with the lint, and
// when one has an error-level finding runs one repair round that feeds the
// findings back to the model.
type Composer struct {
	Writer Writer
	// Prompts renders every call (required); its system prompt's text lets
	// the lint flag an email that echoes it.
	Prompts Prompter
	// AllowedModels are the names options.model may take (ALLOWED_MODELS).
	// A request that leaves it out gets the Writer's own model. Empty: no
	// request may choose.
	AllowedModels []string
	// Observer is told of each repair round the Composer runs, for
	// metrics; nil for none.
	Observer RepairObserver

	// prompt is Prompts' system prompt prepared for the lint, once: the
	// prompt is the same for every email. A Composer is not copied once
	// used.
	promptOnce sync.Once
	prompt     *lint.Prompt
}

// Prompter renders the prompt templates into the calls a Writer makes.
// *prompt.Set is the implementation; it is safe for concurrent use.
type Prompter interface {
	// Prompt renders the call that writes req. On a repair round previous
	// is the draft to fix and problems lists what is wrong with it.
	Prompt(req *Request, previous *Draft, problems []string) (Prompt, error)
	// SystemText is the system prompt's template source.
	SystemText() string
}

// Decode reads and checks a request body: the error, a *SyntaxError or a
// fault.Invalid error, names every problem at once, from a member of the wrong
// type to a model the composer does not allow. The warnings name members
// the schema does not know.
func (c *Composer) Decode(b []byte) (Request, []string, error) {
	var req Request
	warnings, err := decodeChecked(b, &req, func(v *fault.Fields) {
		req.validate(v, "")
		CheckModel(v, "options.model", req.Options.Model, c.AllowedModels)
	})
	return req, warnings, err
}

// decodeChecked decodes the body b into v as DecodeJSON does, then has
// check record what else is wrong with it: the error, a *SyntaxError or a
// fault.Invalid error, names every problem at once, members of the wrong
// type included; the warnings name members v does not know.
func decodeChecked(b []byte, v any, check func(*fault.Fields)) ([]string, error) {
	rep, err := DecodeJSON(b, v, "")
	if err != nil {
		return rep.Messages(), err
	}
	f := &fault.Fields{}
	check(f)
	if all := rep.Merge(*f); len(all) > 0 {
		return rep.Messages(), all.Err()
	}
	return rep.Messages(), nil
}

// Compose writes the email(s) for req, which must be valid.
func (c *Composer) Compose(ctx context.Context, req *Request) (Result, error) {
	return c.compose(ctx, req, nil)
}

// FirstPrompt renders the first call Compose would make for req: what a
// batch sends on its behalf.
func (c *Composer) FirstPrompt(req *Request) (Prompt, error) {
	return c.Prompts.Prompt(req, nil, nil)
}

// ComposeAnswered is Compose for a request whose first call was made
// already (a batch's line answered it): it checks that answer, and makes
// the calls that follow it, a repair round, as Compose does.
func (c *Composer) ComposeAnswered(ctx context.Context, req *Request, first Completion) (Result, error) {
	return c.compose(ctx, req, &first)
}

func (c *Composer) compose(ctx context.Context, req *Request, first *Completion) (Result, error) {
	p, err := c.Prompts.Prompt(req, nil, nil)
	if err != nil {
		return Result{}, err
	}
	p.Answered = first
	d, err := c.Writer.Write(ctx, p)
	if err != nil {
		return Result{}, err
	}
	res := c.review(req, &d)
	if res.NeedsReview && d.Model != OfflineModel {
		// A template cannot fix itself: only a model gets a repair round.
		if c.Observer != nil {
			c.Observer.Repaired(d.Model, RepairQuality)
		}
		fixed, err := c.write(ctx, req, &d, problems(res.Emails))
		res.Usage = res.Usage.Add(fixed.Usage)
		if err == nil {
			again := c.review(req, &fixed)
			if errorCount(again.Emails) <= errorCount(res.Emails) {
				again.Usage = res.Usage
				res = again
			}
		}
		// A failed repair keeps the first draft, flagged for review: the
		// request did get an email.
		res.Repaired = true
	}
	if d.Model == OfflineModel {
		res.Warnings = append(res.Warnings, "offline mode: no model was called; this email was composed from a template (set OPENAI_API_KEY or OPENAI_BASE_URL)")
	}
	if res.NeedsReview {
		res.Warnings = append(res.Warnings, "needs review: the email still has problems after a repair round; see quality.findings")
	}
	return res, nil
}

// write renders one call and makes it.
func (c *Composer) write(ctx context.Context, req *Request, previous *Draft, problems []string) (Draft, error) {
	p, err := c.Prompts.Prompt(req, previous, problems)
	if err != nil {
		return Draft{}, err
	}
	return c.Writer.Write(ctx, p)
}

// lintPrompt is the system prompt prepared for the lint, once.
func (c *Composer) lintPrompt() *lint.Prompt {
	c.promptOnce.Do(func() { c.prompt = lint.NewPrompt(c.Prompts.SystemText()) })
	return c.prompt
}

// review lints every email of d.
func (c *Composer) review(req *Request, d *Draft) Result {
	facts := Facts(req)
	maxWords := req.Options.WithDefaults().MaxWords
	days := req.Options.SendDays()
	prompt := c.lintPrompt()
	all := d.All()
	res := Result{Model: d.Model, Usage: d.Usage, Emails: make([]Checked, len(all))}
	for i, m := range all {
		rep := lint.Check(lint.Input{
			Subject: m.Subject, Body: m.Body, FirstName: req.Prospect.FirstName,
			MaxWords: maxWords, Facts: facts, Prompt: prompt,
		})
		if days != nil && i > 0 {
			for j := range i {
				if run := repeatedRun(all[j].Body, m.Body, 10, req.Sender.Signature, req.CTA.Ask, req.CTA.CalendarLink); run != "" {
					rep.Add(lint.Finding{Code: lint.CodeRepeatedPitch, Severity: lint.SeverityError,
						Message: fmt.Sprintf("follow-up %d repeats email %d word for word: %q", i, j+1, run)})
					break
				}
			}
		}
		e := Checked{Subject: m.Subject, Body: m.Body, Quality: rep}
		if days != nil && i < len(days) {
			day := days[i]
			e.Day = &day
		}
		res.Emails[i] = e
		if rep.HasErrors() {
			res.NeedsReview = true
		}
	}
	return res
}

func errorCount(emails []Checked) int {
	n := 0
	for _, e := range emails {
		for _, f := range e.Quality.Findings {
			if f.Severity == lint.SeverityError {
				n++
			}
		}
	}
	return n
}

// problems lists the findings a repair round must fix, naming the email
// when there are several.
func problems(emails []Checked) []string {
	var out []string
	for i, e := range emails {
		for _, f := range e.Quality.Findings {
			if f.Severity != lint.SeverityError {
				continue
			}
			if len(emails) > 1 {
				out = append(out, fmt.Sprintf("email_%d: %s", i+1, f.Message))
			} else {
				out = append(out, f.Message)
			}
		}
	}
	return out
}

// Facts returns every value the request gives, as text: what an email may
// state without inventing anything.
func Facts(r *Request) []string {
	// Room for every named field: one allocation, not one per doubling.
	out := make([]string, 0, 32+len(r.Prospect.Extra)+len(r.Company.Extra))
	add := func(ss ...string) {
		for _, s := range ss {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	p, c := r.Prospect, r.Company
	add(p.FirstName, p.LastName, p.Email, p.JobTitle, p.Department, p.Seniority, p.Location, p.LinkedInURL, p.NotableAchievement)
	if p.TenureMonths != nil {
		add(strconv.Itoa(*p.TenureMonths))
	}
	add(c.CompanyName, c.Industry, c.AnnualRevenue, c.FundingStage, c.GrowthSignals, c.RecentNews, c.Technography, c.Description, c.Website, c.Location)
	if c.EmployeeCount != nil {
		add(strconv.Itoa(*c.EmployeeCount))
	}
	for _, m := range []map[string]json.RawMessage{p.Extra, c.Extra} {
		for _, k := range SortedKeys(m) {
			add(ExtraText(m[k]))
		}
	}
	add(r.CTA.Ask, r.CTA.CalendarLink)
	s := r.Sender
	add(s.Name, s.Title, s.Company, s.ValueProposition, s.Signature)
	return out
}

// repeatedRun returns the first run of at least n words that b repeats
// from a, ignoring case, punctuation and the given texts (the signature and
// the ask, which every email of a sequence may repeat by design); "" when
// there is none.
func repeatedRun(a, b string, n int, allowed ...string) string {
	for _, s := range allowed {
		if s != "" {
			a, b = strings.ReplaceAll(a, s, "\n"), strings.ReplaceAll(b, s, "\n")
		}
	}
	wa, wb := words(a), words(b)
	if len(wa) < n || len(wb) < n {
		return ""
	}
	seen := make(map[string]bool, len(wa))
	for i := 0; i+n <= len(wa); i++ {
		seen[strings.Join(wa[i:i+n], " ")] = true
	}
	for i := 0; i+n <= len(wb); i++ {
		if run := strings.Join(wb[i:i+n], " "); seen[run] {
			return run
		}
	}
	return ""
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}
