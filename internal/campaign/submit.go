package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ingren/ingren/internal/email"
)

// Submission is a campaign as a client sends it.
type Submission struct {
	Name       string   `json:"name"`
	Defaults   Defaults `json:"defaults"`
	Prospects  []Entry  `json:"prospects"`
	WebhookURL string   `json:"webhook_url"`
}

// Defaults apply to every entry that does not set its own.
type Defaults struct {
	Sender  email.Sender  `json:"sender"`
	CTA     email.CTA     `json:"cta"`
	Options email.Options `json:"options"`
}

// Entry is one prospect of a submission.
type Entry struct {
	Ref      string         `json:"ref"`
	Prospect email.Prospect `json:"prospect"`
	Company  email.Company  `json:"company"`
	CTA      email.CTA      `json:"cta"`
	Sender   email.Sender   `json:"sender"`
	Options  email.Options  `json:"options"`
}

// Request returns the entry's email request with d merged in: each field
// the entry leaves empty comes from d.
func (e *Entry) Request(d Defaults) email.Request {
	return email.Request{
		Prospect: e.Prospect,
		Company:  e.Company,
		CTA: email.CTA{
			Ask:          or(e.CTA.Ask, d.CTA.Ask),
			CalendarLink: or(e.CTA.CalendarLink, d.CTA.CalendarLink),
		},
		Sender: email.Sender{
			Name:             or(e.Sender.Name, d.Sender.Name),
			Title:            or(e.Sender.Title, d.Sender.Title),
			Company:          or(e.Sender.Company, d.Sender.Company),
			ValueProposition: or(e.Sender.ValueProposition, d.Sender.ValueProposition),
			Signature:        or(e.Sender.Signature, d.Sender.Signature),
		},
		Options: e.Options.Merge(d.Options),
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var submissionFields = map[string]bool{"name": true, "defaults": true, "prospects": true, "webhook_url": true}

// DecodeSubmission reads and validates a submission. Every problem in every
// entry is reported at once, each field named by the entry's index
// ("prospects[3].prospect.first_name"), so that nothing is stored unless all
// of it is valid. Unknown top-level members become warnings.
func DecodeSubmission(body []byte, maxProspects int) (*Submission, []email.Request, []string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, nil, nil, &email.SyntaxError{Err: err}
	}
	if top == nil {
		return nil, nil, nil, &email.SyntaxError{Err: fmt.Errorf("body must be a JSON object")}
	}
	var warnings []string
	for _, k := range email.SortedKeys(top) {
		if !submissionFields[k] {
			warnings = append(warnings, fmt.Sprintf("unknown field %q ignored", k))
		}
	}
	var sub Submission
	if err := json.Unmarshal(body, &sub); err != nil {
		return nil, nil, warnings, locateTypeErrors(body, err)
	}
	v := &email.ValidationError{}
	if utf8.RuneCountInString(sub.Name) > email.MaxShortLen {
		v.Add("name", "must be at most %d characters", email.MaxShortLen)
	}
	if sub.WebhookURL != "" {
		if err := checkWebhookURL(sub.WebhookURL); err != nil {
			v.Add("webhook_url", "%v", err)
		}
	}
	switch n := len(sub.Prospects); {
	case n == 0:
		v.Add("prospects", "must hold at least one prospect")
	case n > maxProspects:
		v.Add("prospects", "has %d prospects; a campaign holds at most %d (split it into several campaigns)", n, maxProspects)
		return nil, nil, warnings, v
	}
	reqs := make([]email.Request, len(sub.Prospects))
	for i := range sub.Prospects {
		e := &sub.Prospects[i]
		prefix := fmt.Sprintf("prospects[%d]", i)
		if utf8.RuneCountInString(e.Ref) > email.MaxShortLen {
			v.Add(prefix+".ref", "must be at most %d characters", email.MaxShortLen)
		}
		reqs[i] = e.Request(sub.Defaults)
		reqs[i].AddTo(v, prefix)
	}
	if err := v.Err(); err != nil {
		return nil, nil, warnings, err
	}
	return &sub, reqs, warnings, nil
}

// locateTypeErrors names the entries whose fields have the wrong type
// ("prospects[3].prospect.first_name"): encoding/json's own error names
// the field but not the array index, and stops at the first.
func locateTypeErrors(body []byte, err error) error {
	var raw struct {
		Prospects []json.RawMessage `json:"prospects"`
	}
	if json.Unmarshal(body, &raw) != nil {
		return email.TypeError(err, "")
	}
	v := &email.ValidationError{}
	for i, r := range raw.Prospects {
		var e Entry
		if eerr := json.Unmarshal(r, &e); eerr != nil {
			var ve *email.ValidationError
			if errors.As(email.TypeError(eerr, fmt.Sprintf("prospects[%d]", i)), &ve) {
				v.Fields = append(v.Fields, ve.Fields...)
				continue
			}
			v.Add(fmt.Sprintf("prospects[%d]", i), "must be an object")
		}
	}
	if len(v.Fields) == 0 {
		return email.TypeError(err, "")
	}
	return v
}

// checkWebhookURL refuses what can never be a webhook. Where the address
// points is checked again when the call is made (internal/webhook).
func checkWebhookURL(raw string) error {
	if len(raw) > email.MaxURLLen {
		return fmt.Errorf("must be at most %d characters", email.MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("must be an absolute http(s) URL")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry credentials")
	}
	if strings.ContainsAny(u.Host, " \t\n") {
		return fmt.Errorf("has an invalid host")
	}
	return nil
}
