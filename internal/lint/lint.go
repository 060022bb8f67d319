package lint

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Severity says how bad a finding is.
type Severity string

// Severities, worst first.
const (
	SeverityError   Severity = "error" // must not be sent as is; triggers a repair round
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Finding is one problem in an email.
type Finding struct {
	Code     string   `json:"code"`     // stable snake_case id, e.g. "placeholder", "invented_fact"
	Severity Severity `json:"severity"` // error, warning or info
	Message  string   `json:"message"`  // what and where, quoting at most maxQuote runes of the text
}

// Input is an email and what it was written from.
type Input struct {
	Subject, Body string
	// FirstName is the prospect's first name, for the greeting check; empty
	// skips that check.
	FirstName string
	// MaxWords is the body word limit; 0 (or less) means DefaultMaxWords.
	MaxWords int
	// Facts is every string value the request gave (prospect, company,
	// sender, call to action, extra fields). A number or name in the email
	// that appears in none of them is treated as invented.
	Facts []string
	// SystemPrompt is the system prompt the email was written with, to
	// detect output that copies it. Empty skips that check.
	SystemPrompt string
	// Prompt, when not nil, replaces SystemPrompt: the same prompt prepared
	// once by NewPrompt, for a caller that checks many emails written with
	// it.
	Prompt *Prompt
}

// Report is the outcome of Check.
type Report struct {
	// Score is 100 minus 30 per error, 8 per warning and 2 per info in
	// Findings, floored at 0: one error costs more than three warnings, so
	// an email that must not be sent rarely outscores one that merely could
	// be better, and 100 means no findings at all.
	Score    int       `json:"score"`
	Findings []Finding `json:"findings"` // never nil from Check; encodes as []
}

// DefaultMaxWords is the body word limit when Input.MaxWords is 0. Boomerang's
// study of 40 million emails found replies fall off past 125 words.
const DefaultMaxWords = 125

// CodeRepeatedPitch is an error Check never reports: a follow-up of a
// sequence that repeats an earlier email word for word. Check sees one
// email; the caller that holds the whole sequence checks it and reports it
// with Report.Add.
const CodeRepeatedPitch = "repeated_pitch"

// Score weights per finding; see Report.Score.
const (
	errorCost   = 30
	warningCost = 8
	infoCost    = 2
)

// Check lints one email. It is deterministic and safe for concurrent use.
// Findings come errors first, then warnings, then infos, each group in a
// fixed rule order; each distinct finding is reported once, and at most
// five per code.
func Check(in Input) Report {
	c := newChecker(in)
	c.run()
	return Report{Score: score(c.findings), Findings: c.findings}
}

// HasErrors reports whether any finding is an error, i.e. whether the email
// must be repaired before it is sent.
func (r Report) HasErrors() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// MarshalJSON encodes nil Findings as [] so that clients always get a list,
// even for a Report built by hand.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	p := plain(r)
	if p.Findings == nil {
		p.Findings = []Finding{}
	}
	return json.Marshal(p)
}

// Add reports f, found by a check that Check cannot run (CodeRepeatedPitch):
// it goes first among the findings of its severity, and lowers the score by
// what f costs.
func (r *Report) Add(f Finding) {
	i := 0
	for i < len(r.Findings) && severityRank(r.Findings[i].Severity) < severityRank(f.Severity) {
		i++
	}
	r.Findings = slices.Insert(r.Findings, i, f)
	r.Score = max(r.Score-cost(f.Severity), 0)
}

func score(fs []Finding) int {
	s := 100
	for _, f := range fs {
		s -= cost(f.Severity)
	}
	return max(s, 0)
}

func cost(s Severity) int {
	switch s {
	case SeverityError:
		return errorCost
	case SeverityWarning:
		return warningCost
	case SeverityInfo:
		return infoCost
	}
	return 0
}

// maxPerCode bounds the findings of one code: past a few, more of the same
// only lengthen the repair prompt, and the score is already low.
const maxPerCode = 5

// add records a finding unless the same one is already there (a cliché used
// twice is one problem to fix, not two) or its code has maxPerCode.
func (c *checker) add(code string, sev Severity, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	n := 0
	for _, f := range c.findings {
		if f.Code != code {
			continue
		}
		if n++; f.Message == msg || n >= maxPerCode {
			return
		}
	}
	c.findings = append(c.findings, Finding{Code: code, Severity: sev, Message: msg})
}
