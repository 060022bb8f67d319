package campaign

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// Submission is a campaign as a client sends it.
type Submission struct {
	Name       string   `json:"name" jsonschema:"The campaign's name, for people."`
	Defaults   Defaults `json:"defaults" jsonschema:"What every prospect entry that does not set its own gets: sender, cta, options."`
	Prospects  []Input  `json:"prospects" jsonschema:"One entry per prospect; each gets one email (or its variants or sequence)."`
	WebhookURL string   `json:"webhook_url" jsonschema:"An http(s) URL called when the campaign ends."`
	Mode       Mode     `json:"mode" jsonschema:"realtime (the default: emails in minutes) or batch (through the provider's Batch API: half the price, within 24 hours)."`
	// MaxCostUSD caps what the campaign's model calls may cost; 0 for
	// no cap.
	MaxCostUSD float64 `json:"max_cost_usd,omitempty" jsonschema:"The most the campaign's model calls may cost, in US dollars; the prospects it leaves no room for end skipped. Leave it out for no cap."`
	// Columns is a CSV file's header (Campaign.Columns); the file's rows
	// are the prospects' Cells. A client cannot set it.
	Columns []string `json:"-"`
}

// Limits on what a CSV campaign keeps of its file, so that the header fits
// the campaign's record and a row's cells its email's in every store
// (a DynamoDB record holds at most 400 KB).
const (
	// MaxColumnsBytes bounds the header, all of its names together.
	MaxColumnsBytes = 64 << 10
	// MaxCellsBytes bounds one row, all of its cells together: as JSON,
	// escapes and all, it stays well inside a record with its request.
	MaxCellsBytes = 32 << 10
)

// Defaults apply to every entry that does not set its own.
type Defaults struct {
	Sender  email.Sender  `json:"sender" jsonschema:"Who signs the emails."`
	CTA     email.CTA     `json:"cta" jsonschema:"What the emails ask for."`
	Options email.Options `json:"options" jsonschema:"How the emails are written."`
}

// Input is one prospect of a submission.
type Input struct {
	Ref      string         `json:"ref" jsonschema:"Your own id for the prospect (a CRM record id), returned with its email."`
	Prospect email.Prospect `json:"prospect" jsonschema:"The person the email is written to. Members not named here (a CRM column, say) reach the model as context."`
	Company  email.Company  `json:"company" jsonschema:"The prospect's company. Members not named here reach the model as context."`
	CTA      email.CTA      `json:"cta"`
	Sender   email.Sender   `json:"sender"`
	Options  email.Options  `json:"options"`
	// Cells are the prospect's row when it came from a CSV file
	// (Email.Cells). A client cannot set it.
	Cells []string `json:"-"`
}

// Request returns the entry's email request with d merged in: each field
// the entry leaves empty comes from d.
func (e *Input) Request(d Defaults) email.Request {
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

// wireSubmission is a submission as it is read: each entry is decoded on
// its own, so that one entry's member of the wrong type hides nothing in
// the others.
type wireSubmission struct {
	Name       string            `json:"name"`
	Defaults   Defaults          `json:"defaults"`
	Prospects  []json.RawMessage `json:"prospects"`
	WebhookURL string            `json:"webhook_url"`
	Mode       *string           `json:"mode"`
	MaxCostUSD *float64          `json:"max_cost_usd"`
}

// DecodeSubmission reads and validates a submission. Every problem in every
// entry is reported at once, each field named by the entry's index
// ("prospects[3].prospect.first_name"), so that nothing is stored unless all
// of it is valid. options.model, in defaults or an entry, must be one of
// allowedModels. Unknown members become warnings, each said once with the
// number of other entries that repeat it.
func DecodeSubmission(body []byte, maxProspects int, allowedModels []string) (*Submission, []email.Request, []string, error) {
	var wire wireSubmission
	rep, err := email.DecodeJSON(body, &wire, "")
	if err != nil {
		return nil, nil, rep.Messages(), err
	}
	v := &fault.Fields{}
	email.CheckText(v, "name", wire.Name, email.MaxShortLen)
	if wire.WebhookURL != "" {
		if err := checkWebhookURL(wire.WebhookURL); err != nil {
			v.Add("webhook_url", "%v", err)
		}
	}
	mode := CheckMode(v, "mode", wire.Mode)
	maxCost := CheckMaxCost(v, "max_cost_usd", wire.MaxCostUSD)
	email.CheckModel(v, "defaults.options.model", wire.Defaults.Options.Model, allowedModels)
	switch n := len(wire.Prospects); {
	case n == 0:
		v.Add("prospects", "must hold at least one prospect")
	case n > maxProspects:
		v.Add("prospects", "has %d prospects; a campaign holds at most %d (split it into several campaigns)", n, maxProspects)
		return nil, nil, rep.Messages(), rep.Merge(*v).Err()
	}
	problems := rep.Merge(*v)
	warnings := newWarnings(rep.Warnings)
	sub := &Submission{Name: wire.Name, Defaults: wire.Defaults, WebhookURL: wire.WebhookURL, Mode: mode, MaxCostUSD: maxCost, Prospects: make([]Input, len(wire.Prospects))}
	reqs := make([]email.Request, len(wire.Prospects))
	for i, raw := range wire.Prospects {
		e := &sub.Prospects[i]
		prefix := fmt.Sprintf("prospects[%d]", i)
		// raw is part of a body that parsed: the only error DecodeJSON
		// returns, a *SyntaxError, cannot happen.
		rep, _ := email.DecodeJSON(raw, e, prefix)
		warnings.add(i, prefix, rep.Warnings)
		ev := &fault.Fields{}
		email.CheckText(ev, prefix+".ref", e.Ref, email.MaxShortLen)
		reqs[i] = e.Request(sub.Defaults)
		reqs[i].AddTo(ev, prefix)
		email.CheckModel(ev, prefix+".options.model", e.Options.Model, allowedModels)
		problems = append(problems, rep.Merge(*ev)...)
	}
	if len(problems) > 0 {
		return nil, nil, warnings.list(), problems.Err()
	}
	return sub, reqs, warnings.list(), nil
}

// CheckMode reads a campaign's mode as given in field (nil when left out:
// realtime), recording in v what is wrong with it.
func CheckMode(v *fault.Fields, field string, mode *string) Mode {
	if mode == nil {
		return ModeRealtime
	}
	if m := Mode(*mode); m.Valid() {
		return m
	}
	v.Add(field, "must be %q or %q", ModeRealtime, ModeBatch)
	return ModeRealtime
}

// MaxCostLimitUSD bounds a campaign's max_cost_usd: a few digits too many
// should be an error, not a cap that never binds.
const MaxCostLimitUSD = 1_000_000

// CheckMaxCost reads a campaign's max_cost_usd as given in field (nil
// when left out: no cap), recording in v what is wrong with it. It is
// kept to the micro-dollar.
func CheckMaxCost(v *fault.Fields, field string, usd *float64) float64 {
	switch {
	case usd == nil:
		return 0
	case *usd != *usd || *usd < 0.000001 || *usd > MaxCostLimitUSD:
		v.Add(field, "must be a number of US dollars from 0.000001 to %d (leave it out for no cap)", MaxCostLimitUSD)
		return 0
	}
	return RoundUSD(*usd)
}

// ParseMaxCost is CheckMaxCost for a max_cost_usd given as text (a query
// parameter): given, it must be a number ("" is an error: a client that
// meant a cap must not get none).
func ParseMaxCost(v *fault.Fields, field, text string) float64 {
	usd, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil {
		v.Add(field, "must be a number of US dollars, such as 25 or 12.50 (leave it out for no cap)")
		return 0
	}
	return CheckMaxCost(v, field, &usd)
}

// maxWarningLines bounds the warnings of one submission.
const maxWarningLines = 50

// warnings gathers a submission's warnings. An entry's warning that other
// entries repeat (a whole CSV export with firstName for first_name) is said
// once, for the first entry, with how many others have it.
type warnings struct {
	// lines are the warnings about the submission itself.
	lines []string
	// first and entries hold, for each entry's warning by its text without
	// the index, the first entry that has it and how many have it; order
	// lists those texts as first seen.
	first   map[string]int
	entries map[string]int
	order   []string
	// more counts the texts left out past maxWarningLines.
	more int
}

func newWarnings(top []fault.FieldError) *warnings {
	w := &warnings{first: map[string]int{}, entries: map[string]int{}}
	for _, f := range top {
		w.lines = append(w.lines, f.Field+": "+f.Message)
	}
	return w
}

// add records entry i's warnings, each named under prefix.
func (w *warnings) add(i int, prefix string, fs []fault.FieldError) {
	for _, f := range fs {
		key := strings.TrimPrefix(f.Field, prefix) + ": " + f.Message
		if _, ok := w.first[key]; !ok {
			if len(w.order) >= maxWarningLines {
				w.more++
				continue
			}
			w.first[key] = i
			w.order = append(w.order, key)
		}
		w.entries[key]++
	}
}

// list returns the warnings as lines, never nil.
func (w *warnings) list() []string {
	out := append([]string{}, w.lines...)
	for _, key := range w.order {
		line := fmt.Sprintf("prospects[%d]%s", w.first[key], key)
		if n := w.entries[key] - 1; n == 1 {
			line += " (and in 1 other prospect)"
		} else if n > 1 {
			line += fmt.Sprintf(" (and in %d other prospects)", n)
		}
		out = append(out, line)
	}
	if w.more > 0 {
		out = append(out, fmt.Sprintf("%d more kinds of warning left out", w.more))
	}
	return out
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
