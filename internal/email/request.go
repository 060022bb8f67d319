// Package email says what a request for a sales email is, what makes one
// valid, and what writing one returns. It knows nothing of HTTP, AWS or the
// model provider.
//
// The prompt is built here. The Composer has its Prompter (*prompt.Set,
// which renders the templates in prompts/) turn a Request into a Prompt:
// the messages, limits and answer form of one model call. A Writer
// (internal/openai, internal/offline) only sends a Prompt and parses the
// answer into a Draft; the Composer lints the Draft and runs the repair
// round.
//
// Words: a Request asks for one email, variants or a sequence (its
// RequestKind). A Prompt is one model call, its Turns the messages, its
// Answer the form the reply must take. A Draft is what a Writer made of the
// reply, a Message one email's subject and body, Checked an email with its
// quality report, and a Result everything one request got.
package email

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/ingren/ingren/internal/fault"
)

// Request is everything needed to write one email. Prospect and Company keep
// the "additional fields" a client sends in Extra; they reach the model as
// context.
type Request struct {
	Prospect Prospect `json:"prospect" jsonschema:"The person the email is written to. Members not named here (a CRM column, say) reach the model as context."`
	Company  Company  `json:"company" jsonschema:"The prospect's company. Members not named here reach the model as context."`
	CTA      CTA      `json:"cta" jsonschema:"The one thing the email asks for."`
	Sender   Sender   `json:"sender" jsonschema:"Who signs the email and what they offer."`
	Options  Options  `json:"options" jsonschema:"How the email is written; leave out for the defaults."`
	// Rewrite, when set, asks for a new draft of an email already written
	// for this request (a reviewer's regenerate). It is never read from
	// a body nor stored: the campaign Service sets it for one call.
	Rewrite *Rewrite `json:"-"`
}

// Rewrite is an email to write again: the current draft (Subject and
// Body, empty when the first try failed) and the reviewer's
// instructions, which may be empty. The prompt fences both, as it does
// the prospect's data: they are text to rework, never instructions to
// the system.
type Rewrite struct {
	Subject, Body string
	Instructions  string
}

// MaxInstructions bounds a Rewrite's Instructions, in characters.
const MaxInstructions = 500

// Prospect is the person the email is written to.
type Prospect struct {
	FirstName          string `json:"first_name,omitempty" jsonschema:"The prospect's first name, used in the greeting."`
	LastName           string `json:"last_name,omitempty" jsonschema:"The prospect's last name."`
	Email              string `json:"email,omitempty" jsonschema:"The prospect's email address."`
	JobTitle           string `json:"job_title,omitempty" jsonschema:"e.g. VP of Sales"`
	Department         string `json:"department,omitempty" jsonschema:"e.g. Sales"`
	Seniority          string `json:"seniority,omitempty" jsonschema:"e.g. Director"`
	TenureMonths       *int   `json:"tenure_months,omitempty" jsonschema:"Months in the current role."`
	Location           string `json:"location,omitempty" jsonschema:"Where the prospect works, e.g. Berlin."`
	LinkedInURL        string `json:"linkedin_url,omitempty" jsonschema:"The prospect's LinkedIn profile URL."`
	NotableAchievement string `json:"notable_achievement,omitempty" jsonschema:"Something the prospect did that is worth opening with. A number or name the email uses must come from the data given: put such facts here or in company."`
	// Extra holds fields the schema does not name, by their JSON name.
	Extra map[string]json.RawMessage `json:"-"`
}

// Company is the prospect's company.
type Company struct {
	CompanyName   string `json:"company_name,omitempty" jsonschema:"The company's name."`
	Industry      string `json:"industry,omitempty" jsonschema:"e.g. SaaS"`
	EmployeeCount *int   `json:"employee_count,omitempty" jsonschema:"How many people the company employs."`
	AnnualRevenue string `json:"annual_revenue,omitempty" jsonschema:"As text, e.g. $20M."`
	FundingStage  string `json:"funding_stage,omitempty" jsonschema:"e.g. Series B"`
	GrowthSignals string `json:"growth_signals,omitempty" jsonschema:"e.g. 30% YoY growth, hiring in sales"`
	RecentNews    string `json:"recent_news,omitempty" jsonschema:"Recent news about the company."`
	Technography  string `json:"technography,omitempty" jsonschema:"Tools and technologies the company uses."`
	Description   string `json:"description,omitempty" jsonschema:"What the company does."`
	Website       string `json:"website,omitempty" jsonschema:"The company's website."`
	Location      string `json:"location,omitempty" jsonschema:"Where the company is based."`
	// Extra holds fields the schema does not name, by their JSON name.
	Extra map[string]json.RawMessage `json:"-"`
}

// CTA is the one thing the email asks for.
type CTA struct {
	Ask          string `json:"ask,omitempty" jsonschema:"What the email asks for, e.g. a 15-minute call next Tuesday."`
	CalendarLink string `json:"calendar_link,omitempty" jsonschema:"A link to book a meeting, put in the email as it is."`
}

// Sender is who signs the email.
type Sender struct {
	Name             string `json:"name,omitempty" jsonschema:"The sender's name, who signs the email."`
	Title            string `json:"title,omitempty" jsonschema:"The sender's job title."`
	Company          string `json:"company,omitempty" jsonschema:"The sender's company."`
	ValueProposition string `json:"value_proposition,omitempty" jsonschema:"What the sender offers, in a sentence: the reason for the email."`
	Signature        string `json:"signature,omitempty" jsonschema:"The sign-off, used as it is."`
}

// Options tune how the email is written. Zero values mean the defaults.
type Options struct {
	Tone        string   `json:"tone,omitempty" jsonschema:"One to three words, e.g. friendly, formal, direct."`
	MaxWords    int      `json:"max_words,omitempty" jsonschema:"The most words the body may have."`
	Language    string   `json:"language,omitempty" jsonschema:"The language to write in, e.g. German."`
	Model       string   `json:"model,omitempty" jsonschema:"A model the server allows; leave out for the server's default."`
	Temperature *float64 `json:"temperature,omitempty" jsonschema:"Sampling temperature; lower is more predictable."`
	// Variants asks for 1 to 5 alternative emails for an A/B test, written
	// in one model call.
	Variants int `json:"variants,omitempty" jsonschema:"How many alternative emails to write, for an A/B test."`
	// Sequence asks for an initial email plus follow-ups.
	Sequence *Sequence `json:"sequence,omitempty" jsonschema:"Asks for an initial email and follow-ups instead of one email."`
}

// Sequence is an initial email plus FollowUps follow-ups, sent Days[i]
// days after the initial one when there is no reply.
type Sequence struct {
	FollowUps int   `json:"follow_ups" jsonschema:"How many follow-ups come after the initial email."`
	Days      []int `json:"days,omitempty" jsonschema:"The day each follow-up is sent, counted from the initial email, rising; leave out for the defaults."`
}

// Limits and defaults of variants and sequences.
const (
	MaxVariants  = 5
	MaxFollowUps = 4
)

// DefaultSequenceDays are the follow-ups' send days when none are given.
var DefaultSequenceDays = []int{3, 7, 14, 21}

// Emails is how many emails one request asks the model for.
func (o Options) Emails() int {
	switch {
	case o.Sequence != nil:
		return 1 + o.Sequence.FollowUps
	case o.Variants > 1:
		return o.Variants
	}
	return 1
}

// RequestKind names what a request asks for. Its values are stored with
// a campaign's outcomes: they must not change.
type RequestKind string

// Kinds of request.
const (
	RequestSingle   RequestKind = "single"   // one email
	RequestVariants RequestKind = "variants" // alternatives for an A/B test
	RequestSequence RequestKind = "sequence" // an initial email and follow-ups
)

// Kind says what o asks for.
func (o Options) Kind() RequestKind {
	switch {
	case o.Sequence != nil:
		return RequestSequence
	case o.Variants > 1:
		return RequestVariants
	}
	return RequestSingle
}

// SendDays returns the send day of each email of a sequence, 0 for the
// initial one; nil without a sequence.
func (o Options) SendDays() []int {
	if o.Sequence == nil {
		return nil
	}
	days := []int{0}
	for i := range o.Sequence.FollowUps {
		if i < len(o.Sequence.Days) {
			days = append(days, o.Sequence.Days[i])
		} else {
			days = append(days, DefaultSequenceDays[i])
		}
	}
	return days
}

// Default option values.
const (
	DefaultMaxWords = 125
	DefaultTone     = "friendly"
	DefaultLanguage = "English"
)

// WithDefaults returns o with empty fields set to the defaults.
func (o Options) WithDefaults() Options {
	if o.Tone == "" {
		o.Tone = DefaultTone
	}
	if o.MaxWords == 0 {
		o.MaxWords = DefaultMaxWords
	}
	if o.Language == "" {
		o.Language = DefaultLanguage
	}
	return o
}

// Merge returns o with every empty field taken from d: request options win
// over campaign defaults.
func (o Options) Merge(d Options) Options {
	if o.Tone == "" {
		o.Tone = d.Tone
	}
	if o.MaxWords == 0 {
		o.MaxWords = d.MaxWords
	}
	if o.Language == "" {
		o.Language = d.Language
	}
	if o.Model == "" {
		o.Model = d.Model
	}
	if o.Temperature == nil {
		o.Temperature = d.Temperature
	}
	if o.Variants == 0 {
		o.Variants = d.Variants
	}
	if o.Sequence == nil {
		o.Sequence = d.Sequence
	}
	return o
}

// UnmarshalJSON keeps the fields Prospect does not name in Extra.
func (p *Prospect) UnmarshalJSON(b []byte) error {
	type plain Prospect
	extra, err := splitExtra(b, (*plain)(p), prospectFields)
	p.Extra = extra
	return err
}

// MarshalJSON writes Extra back beside the named fields.
func (p Prospect) MarshalJSON() ([]byte, error) {
	type plain Prospect
	return joinExtra(plain(p), p.Extra)
}

// UnmarshalJSON keeps the fields Company does not name in Extra.
func (c *Company) UnmarshalJSON(b []byte) error {
	type plain Company
	extra, err := splitExtra(b, (*plain)(c), companyFields)
	c.Extra = extra
	return err
}

// MarshalJSON writes Extra back beside the named fields.
func (c Company) MarshalJSON() ([]byte, error) {
	type plain Company
	return joinExtra(plain(c), c.Extra)
}

var (
	prospectFields = jsonNames(Prospect{})
	companyFields  = jsonNames(Company{})
)

// splitExtra decodes b into v and returns the object's members whose names
// are not in known.
func splitExtra(b []byte, v any, known map[string]bool) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	var extra map[string]json.RawMessage
	for k, raw := range all {
		if isKnown(k, known) {
			continue
		}
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[k] = raw
	}
	return extra, nil
}

// isKnown reports whether encoding/json decoded member k into a named
// field: it matches names without regard to case ("FIRST_NAME" sets
// FirstName). Kept in Extra too, such a member would come back as the named
// field when a stored request is read again, unvalidated.
func isKnown(k string, known map[string]bool) bool {
	if known[k] {
		return true
	}
	for name := range known {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func joinExtra(v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1])
	first := len(b) == 2
	for _, k := range SortedKeys(extra) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(extra[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// SortedKeys returns m's keys in order, so that output built from a map is
// the same every time.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ExtraText renders an extra field's value as text: strings as they are,
// anything else as compact JSON.
func ExtraText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// Decode reads a request from JSON. Members the schema does not name are
// returned as warnings rather than refused, so old and new clients keep
// working; a near miss of a field's name is named ("prospect.firstName:
// unknown field, did you mean first_name?"). Members of the wrong type
// become a fault.Invalid error naming each of them, together with every
// problem Validate finds in the rest of the request; without one, the
// caller validates.
func Decode(b []byte) (Request, []string, error) {
	var req Request
	rep, err := DecodeJSON(b, &req, "")
	if err != nil || len(rep.Invalid) == 0 {
		return req, rep.Messages(), err
	}
	v := &fault.Fields{}
	req.validate(v, "")
	return req, rep.Messages(), rep.Merge(*v).Err()
}
