package email

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ingren/ingren/internal/fault"
)

// Limits on field sizes. They keep a prompt (and its cost) bounded and stop
// a client from using the model as a free text processor.
const (
	MaxNameLen    = 100
	MaxShortLen   = 200
	MaxTextLen    = 1000
	MaxLongLen    = 2000
	MaxURLLen     = 500
	MaxExtra      = 30
	MaxExtraKey   = 64
	MaxExtraValue = 2000
	MinMaxWords   = 20
	MaxMaxWords   = 500
)

// Validate checks r and returns a fault.Invalid *fault.Error listing every
// problem, each field named under prefix ("" for a single request).
func (r *Request) Validate(prefix string) error {
	v := &fault.Fields{}
	r.validate(v, prefix)
	return v.Err()
}

// AddTo records r's problems in v, each field named under prefix.
func (r *Request) AddTo(v *fault.Fields, prefix string) { r.validate(v, prefix) }

func (r *Request) validate(v *fault.Fields, prefix string) { r.check(v, prefix, required) }

// check records r's problems in v; name checks the two fields an email is
// written from, which a request to write one requires and a request to
// lint one does not.
func (r *Request) check(v *fault.Fields, prefix string, name func(v *fault.Fields, field, s string, max int)) {
	path := func(s string) string {
		if prefix == "" {
			return s
		}
		return prefix + "." + s
	}
	p, c := r.Prospect, r.Company
	name(v, path("prospect.first_name"), p.FirstName, MaxNameLen)
	optional(v, path("prospect.last_name"), p.LastName, MaxNameLen)
	optional(v, path("prospect.email"), p.Email, MaxShortLen)
	if p.Email != "" && !strings.Contains(p.Email, "@") {
		v.Add(path("prospect.email"), "must be an email address")
	}
	optional(v, path("prospect.job_title"), p.JobTitle, MaxShortLen)
	optional(v, path("prospect.department"), p.Department, MaxShortLen)
	optional(v, path("prospect.seniority"), p.Seniority, MaxShortLen)
	optional(v, path("prospect.location"), p.Location, MaxShortLen)
	optional(v, path("prospect.linkedin_url"), p.LinkedInURL, MaxURLLen)
	optional(v, path("prospect.notable_achievement"), p.NotableAchievement, MaxTextLen)
	if p.TenureMonths != nil && (*p.TenureMonths < 0 || *p.TenureMonths > 1200) {
		v.Add(path("prospect.tenure_months"), "must be between 0 and 1200")
	}
	extra(v, path("prospect"), p.Extra)

	name(v, path("company.company_name"), c.CompanyName, MaxNameLen)
	optional(v, path("company.industry"), c.Industry, MaxShortLen)
	if c.EmployeeCount != nil && *c.EmployeeCount < 0 {
		v.Add(path("company.employee_count"), "must not be negative")
	}
	optional(v, path("company.annual_revenue"), c.AnnualRevenue, MaxShortLen)
	optional(v, path("company.funding_stage"), c.FundingStage, MaxShortLen)
	optional(v, path("company.growth_signals"), c.GrowthSignals, MaxTextLen)
	optional(v, path("company.recent_news"), c.RecentNews, MaxTextLen)
	optional(v, path("company.technography"), c.Technography, MaxTextLen)
	optional(v, path("company.description"), c.Description, MaxLongLen)
	optional(v, path("company.website"), c.Website, MaxURLLen)
	optional(v, path("company.location"), c.Location, MaxShortLen)
	extra(v, path("company"), c.Extra)

	optional(v, path("cta.ask"), r.CTA.Ask, MaxShortLen)
	optional(v, path("cta.calendar_link"), r.CTA.CalendarLink, MaxURLLen)

	s := r.Sender
	optional(v, path("sender.name"), s.Name, MaxNameLen)
	optional(v, path("sender.title"), s.Title, MaxShortLen)
	optional(v, path("sender.company"), s.Company, MaxNameLen)
	optional(v, path("sender.value_proposition"), s.ValueProposition, MaxTextLen)
	optional(v, path("sender.signature"), s.Signature, MaxShortLen)

	r.Options.validate(v, path("options"))
}

func (o Options) validate(v *fault.Fields, prefix string) {
	word(v, prefix, ".tone", o.Tone)
	word(v, prefix, ".language", o.Language)
	if o.MaxWords != 0 && (o.MaxWords < MinMaxWords || o.MaxWords > MaxMaxWords) {
		v.Add(prefix+".max_words", "must be between %d and %d", MinMaxWords, MaxMaxWords)
	}
	if o.Model != "" && !modelName(o.Model) {
		v.Add(prefix+".model", "must be a model name of letters, digits and . _ : / -")
	}
	if o.Temperature != nil && (*o.Temperature < 0 || *o.Temperature > 2) {
		v.Add(prefix+".temperature", "must be between 0 and 2")
	}
	if o.Variants < 0 || o.Variants > MaxVariants {
		v.Add(prefix+".variants", "must be between 1 and %d", MaxVariants)
	}
	if seq := o.Sequence; seq != nil {
		if o.Variants > 1 {
			v.Add(prefix+".sequence", "cannot be combined with variants: ask for variants of the first email, or a sequence")
		}
		if seq.FollowUps < 1 || seq.FollowUps > MaxFollowUps {
			v.Add(prefix+".sequence.follow_ups", "must be between 1 and %d", MaxFollowUps)
		}
		if len(seq.Days) > 0 && len(seq.Days) != seq.FollowUps {
			v.Add(prefix+".sequence.days", "must give one day per follow-up (%d), or be left out for %v", seq.FollowUps, DefaultSequenceDays[:min(max(seq.FollowUps, 1), MaxFollowUps)])
		}
		last := 0
		for i, d := range seq.Days {
			if d <= last || d > 90 {
				v.Add(fmt.Sprintf("%s.sequence.days[%d]", prefix, i), "must be after the previous send day and at most 90")
				break
			}
			last = d
		}
	}
}

// word checks an option that is spliced into the instructions: at most
// three words of letters (and hyphens), so it names a tone or a language
// ("friendly", "Brazilian Portuguese") and cannot carry an instruction.
// The field is prefix+name, joined only for a problem.
func word(v *fault.Fields, prefix, name, s string) {
	if s == "" {
		return
	}
	if utf8.RuneCountInString(s) > 40 || len(strings.Fields(s)) > 3 || strings.IndexFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || r == ' ' || r == '-')
	}) >= 0 {
		v.Add(prefix+name, "must be one to three words of letters, at most 40 characters")
	}
}

// modelName reports whether s can be a model name: it reaches the
// provider's API and the logs as it is.
func modelName(s string) bool {
	return len(s) <= MaxNameLen && strings.IndexFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._:/-", r)))
	}) < 0
}

// CheckModel records in v that model, the options.model named field, is
// not one of allowed: every model is billed to the operator, who chooses
// which a client may ask for. An empty model (the default) is always
// allowed; one that is not a model name at all is Validate's to refuse.
func CheckModel(v *fault.Fields, field, model string, allowed []string) {
	if model == "" || !modelName(model) || slices.Contains(allowed, model) {
		return
	}
	if len(allowed) == 0 {
		v.Add(field, "%q is not allowed: this server writes with its default model only; leave options.model out", model)
		return
	}
	v.Add(field, "%q is not allowed; allowed models: %s (or leave it out for the default)", model, strings.Join(allowed, ", "))
}

// CheckText records in v what is wrong with the free text s of field: more
// than max characters, invalid UTF-8, or a control character.
func CheckText(v *fault.Fields, field, s string, max int) { optional(v, field, s, max) }

func required(v *fault.Fields, field, s string, max int) {
	if strings.TrimSpace(s) == "" {
		v.Add(field, "is required")
		return
	}
	optional(v, field, s, max)
}

func optional(v *fault.Fields, field, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		v.Add(field, "must be at most %d characters (got %d)", max, n)
	}
	if !utf8.ValidString(s) {
		v.Add(field, "must be valid UTF-8")
	}
	if r, ok := control(s); ok {
		v.Add(field, "must not contain control character U+%04X (only tab, line feed and carriage return are allowed)", r)
	}
}

// control returns the first C0 control character of s other than tab, line
// feed and carriage return. Such a character (NUL above all) means nothing
// in a name or a sentence; it truncates C strings, upsets spreadsheets and
// terminals, and hides text from whoever reads it.
func control(s string) (rune, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return rune(c), true
		}
	}
	return 0, false
}

// extra bounds the additional fields of prospect or company: how many, how
// long their names and values are.
func extra(v *fault.Fields, prefix string, m map[string]json.RawMessage) {
	if len(m) > MaxExtra {
		v.Add(prefix, "has %d additional fields; at most %d are allowed", len(m), MaxExtra)
		return
	}
	for _, k := range SortedKeys(m) {
		if len(k) > MaxExtraKey {
			v.Add(prefix, "additional field name %.20q... is longer than %d characters", k, MaxExtraKey)
			continue
		}
		if r, ok := control(k); ok {
			v.Add(prefix, "additional field name %q has control character U+%04X", k, r)
			continue
		}
		text := ExtraText(m[k])
		if n := utf8.RuneCountInString(text); n > MaxExtraValue {
			v.Add(prefix+"."+k, "must be at most %d characters (got %d)", MaxExtraValue, n)
		}
		if r, ok := control(text); ok {
			// Only a string can hold one: JSON text escapes them.
			v.Add(prefix+"."+k, "must not contain control character U+%04X (only tab, line feed and carriage return are allowed)", r)
		}
	}
}
