package lint_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ingren/ingren/internal/lint"
)

// MustSystemPrompt returns the rendered system prompt kept in testdata, so
// the echo rule is tested against the real thing.
func MustSystemPrompt(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lint", "system_prompt.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// sarahFacts are the string values of a request for Sarah Johnson at
// TechNova Solutions, as the caller flattens them.
var sarahFacts = []string{
	"Sarah", "Johnson", "sarah.johnson@technova.io", "VP of Sales", "Sales", "Executive",
	"San Francisco, CA", "linkedin.com/in/sarahjohnson", "Exceeded Q1 targets by 27%",
	"TechNova Solutions", "SaaS", "250", "$45M", "Series B",
	"30% YoY growth, hiring burst in sales", "Launched new enterprise product line",
	"Salesforce, Marketo, Outreach.io", "technova.io",
	"15-min chat next Tuesday?", "calendly.com/ingren/demo",
	"Alex Rivera", "Head of Growth", "Ingren",
	"Ingren writes a first draft of every cold email from your CRM data and checks it before it goes out.",
}

func sarah(tb testing.TB, subject, body string) lint.Input {
	return lint.Input{
		Subject:      subject,
		Body:         body,
		FirstName:    "Sarah",
		Facts:        sarahFacts,
		SystemPrompt: MustSystemPrompt(tb),
	}
}

// filler is a clean paragraph of 45 words that gives a test snippet a body
// long enough for the length rules to stay quiet.
const filler = "With 30% YoY growth and a hiring burst in sales, your new reps have a lot of accounts to learn at once. " +
	"Ingren drafts each first email from the data already in Salesforce, so they start from a good draft and not a blank page."

const subject = "New reps at TechNova"

// withSnippet puts snippet into an otherwise clean email to Sarah.
func withSnippet(tb testing.TB, snippet string) lint.Input {
	return sarah(tb, subject, "Hi Sarah,\n\n"+snippet+"\n\n"+filler+"\n\nBest,\nAlex Rivera")
}

// withBody is an otherwise clean email to Sarah with the given body.
func withBody(tb testing.TB, body string) lint.Input { return sarah(tb, subject, body) }

func withSubject(tb testing.TB, s string) lint.Input {
	in := withSnippet(tb, "Open to a 15-min chat next Tuesday?")
	in.Subject = s
	return in
}

func words(n int) string {
	w := strings.Fields(strings.Repeat(filler+" ", n/40+1))
	return strings.Join(w[:n], " ")
}

// withFacts returns in with more facts.
func withFacts(in lint.Input, facts ...string) lint.Input {
	in.Facts = append(slices.Clone(in.Facts), facts...)
	return in
}

// severities is the documented severity of each code (too_long is tested
// on its own, as it has two).
var severities = map[string]lint.Severity{
	"empty_subject": lint.SeverityError, "empty_body": lint.SeverityError,
	"subject_multiline": lint.SeverityError, "placeholder": lint.SeverityError,
	"meta_text": lint.SeverityError, "markdown": lint.SeverityError,
	"prompt_echo": lint.SeverityError, "wrong_name": lint.SeverityError,
	"invented_fact": lint.SeverityError,
	"bullet_list":   lint.SeverityWarning, "cliche": lint.SeverityWarning,
	"spam_phrase": lint.SeverityWarning, "all_caps": lint.SeverityWarning,
	"exclamation": lint.SeverityWarning, "too_short": lint.SeverityWarning,
	"subject_too_long": lint.SeverityWarning, "too_many_links": lint.SeverityWarning,
	"too_many_questions": lint.SeverityWarning, "possible_invented_name": lint.SeverityWarning,
	"subject_too_many_words": lint.SeverityInfo,
}

// ruleCase is an email and the codes that fire on it.
type ruleCase struct {
	name string
	in   lint.Input
	want []string // the codes that fire, each once
}

// testRules checks that each case fires exactly its codes, each with its
// documented severity.
func testRules(t *testing.T, tests []ruleCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lint.Check(tt.in)
			var got []string
			for _, f := range r.Findings {
				if !slices.Contains(got, f.Code) {
					got = append(got, f.Code)
				}
				if want, ok := severities[f.Code]; ok && f.Severity != want {
					t.Errorf("%s has severity %s, want %s", f.Code, f.Severity, want)
				}
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("codes = %v, want %v\nfindings: %+v", got, want, r.Findings)
			}
		})
	}
}

// The good emails use only facts from their input and follow the research:
// 50–125 words, one question, one link at most, a short subject.
func TestCheckGoodEmails(t *testing.T) {
	tests := []struct {
		name string
		in   lint.Input
	}{
		{"SarahJohnson", lint.Input{
			Subject:   "TechNova's new reps",
			FirstName: "Sarah",
			Facts:     sarahFacts,
			Body: `Hi Sarah,

Congrats on launching the new enterprise product line. With 30% YoY growth and a hiring burst in sales, your new reps have a lot of accounts to learn at once.

Ingren writes the first email to each prospect from the data already in Salesforce, so a new rep starts from a good draft instead of a blank page.

Open to a 15-min chat next Tuesday? Here is my calendar: calendly.com/ingren/demo

Best,
Alex Rivera
Ingren`,
		}},
		{"DanielOkafor", lint.Input{
			Subject:   "Brightpath's 12 SDR roles",
			FirstName: "Daniel",
			Facts: []string{
				"Daniel", "Okafor", "Head of Revenue Operations", "Brightpath Logistics", "Logistics", "1200",
				"Opened a new warehouse in Rotterdam", "Posted 12 open SDR roles", "HubSpot, Gong",
				"Worth a quick call on Thursday?", "Priya Shah", "Account Executive", "Ingren",
			},
			Body: `Hi Daniel,

I saw that Brightpath opened a new warehouse in Rotterdam and has 12 open SDR roles. That is a lot of new people writing outbound at the same time, to 1,200 employees' worth of accounts.

We help RevOps teams keep that outbound personal without more review work: every draft is built from your HubSpot data and checked before it goes out.

Worth a quick call on Thursday?

Thanks,
Priya Shah
Ingren`,
		}},
		{"LenaFischer", lint.Input{
			Subject:   "Kolibri's move into DACH",
			FirstName: "Lena",
			Facts: []string{
				"Lena", "Fischer", "Director of Sales Development", "Kolibri Health", "Healthcare",
				"80 reps", "Expanded into the DACH region in March", "Gong",
				"Would a 20-minute call next week work?", "Marco Weber", "Ingren",
			},
			Body: `Hi Lena,

Moving into DACH in March means your 80 reps now write to prospects in a new market, often in their second language.

Ingren drafts each first email from the call notes already in Gong. Before a rep hits send, it flags any claim the data cannot back up, so nothing made up reaches a buyer.

Would a 20-minute call next week work?

Best regards,
Marco Weber
Ingren`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.SystemPrompt = MustSystemPrompt(t)
			if n := lint.Words(tt.in.Body); n < 60 || n > 90 {
				t.Errorf("body has %d words, want a realistic 60–90", n)
			}
			r := lint.Check(tt.in)
			if r.Score != 100 || len(r.Findings) != 0 {
				t.Errorf("score = %d, findings = %+v; want 100 and none", r.Score, r.Findings)
			}
		})
	}
}

func TestCheckScore(t *testing.T) {
	tests := []struct {
		name string
		in   lint.Input
		want int
	}{
		{"OneError", withSnippet(t, "Congrats on the launch at [Company]."), 70},
		{"OneWarning", withSnippet(t, "Happy to touch base after the launch."), 92},
		{"OneInfo", withSubject(t, "is it ok if we talk on a call"), 98},
		{"ErrorAndWarnings", withSnippet(t, "Congrats, [Company]! Happy to touch base and circle back!"), 100 - 30 - 3*8},
		{"FlooredAtZero", lint.Input{Body: "Sure! Here's an email: [Name] {{x}} <Y> %s null **b** `c` # h"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lint.Check(tt.in)
			if r.Score != tt.want {
				t.Errorf("score = %d, want %d; findings %+v", r.Score, tt.want, r.Findings)
			}
			if got, want := r.HasErrors(), tt.want <= 70; got != want {
				t.Errorf("HasErrors = %v, want %v", got, want)
			}
		})
	}
}

func TestCheckFindingsOrder(t *testing.T) {
	r := lint.Check(withSnippet(t, "Happy to touch base at [Company]. Is it a priority? Free Tuesday?"))
	if len(r.Findings) < 3 {
		t.Fatalf("findings = %+v, want at least 3", r.Findings)
	}
	for i := 1; i < len(r.Findings); i++ {
		if rank(r.Findings[i].Severity) < rank(r.Findings[i-1].Severity) {
			t.Errorf("finding %d (%s) comes after a less severe one: %+v", i, r.Findings[i].Severity, r.Findings)
		}
	}
	if !reflect.DeepEqual(r, lint.Check(withSnippet(t, "Happy to touch base at [Company]. Is it a priority? Free Tuesday?"))) {
		t.Error("Check is not deterministic")
	}
}

func rank(s lint.Severity) int {
	return map[lint.Severity]int{lint.SeverityError: 0, lint.SeverityWarning: 1, lint.SeverityInfo: 2}[s]
}

func TestCheckMessages(t *testing.T) {
	long := "[" + strings.Repeat("very long placeholder ", 3) + "]"
	r := lint.Check(withSnippet(t, "Congrats, "+long+"."))
	if len(r.Findings) != 1 {
		t.Fatalf("findings = %+v, want one", r.Findings)
	}
	m := r.Findings[0].Message
	if !strings.Contains(m, `"[very long placeholder`) || !strings.Contains(m, "body") {
		t.Errorf("message %q should quote the text and say where", m)
	}
	if utf8.RuneCountInString(m) > 120 {
		t.Errorf("message has %d runes, want a bounded quote: %q", utf8.RuneCountInString(m), m)
	}
}

func TestCheckFindingsCapPerCode(t *testing.T) {
	r := lint.Check(withSnippet(t, "[a] [b] [c] [d] [e] [f] [g] [a]"))
	if len(r.Findings) != 5 {
		t.Errorf("got %d findings, want 5 (the cap per code): %+v", len(r.Findings), r.Findings)
	}
}

func TestReportJSON(t *testing.T) {
	for _, r := range []lint.Report{{Score: 100}, lint.Check(withSnippet(t, "Open to a 15-min chat next Tuesday?"))} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"findings":[]`) {
			t.Errorf("json = %s, want findings as []", b)
		}
	}
	b, _ := json.Marshal(lint.Check(lint.Input{Subject: "x"}))
	var got struct {
		Findings []lint.Finding `json:"findings"`
	}
	if err := json.Unmarshal(b, &got); err != nil || len(got.Findings) == 0 || got.Findings[0].Code != "empty_body" {
		t.Errorf("json = %s, want the empty_body finding", b)
	}
}

func FuzzCheck(f *testing.F) {
	sys := MustSystemPrompt(f)
	f.Add(subject, "Hi Sarah,\n\n"+filler, "Sarah", 0, "$45M", sys)
	f.Add("", "[x] {{y}} <Z> %s null ** ` # h\n- a\n- b", "", -5, "", "")
	f.Add("Subject: x!!!", "Hi Mark, 3x $4.5bn 1,200 24/7 Q1 http://a.io b.com/c?d=e “q?”", "Sarah Jane", 1, "4.5", "a b c d e f g h i j")
	f.Add("Ü", "Dear Ms. \u00e9, <\xff> 5\u20ac 7£ é1 ’ “", "\xff", 125, "\x00", "\u2019")
	f.Fuzz(func(t *testing.T, subject, body, first string, maxWords int, fact, sys string) {
		r := lint.Check(lint.Input{Subject: subject, Body: body, FirstName: first, MaxWords: maxWords, Facts: []string{fact, "x"}, SystemPrompt: sys})
		if r.Score < 0 || r.Score > 100 {
			t.Fatalf("score %d out of 0..100", r.Score)
		}
		if r.Findings == nil {
			t.Fatal("nil findings")
		}
		if (r.Score == 100) != (len(r.Findings) == 0) {
			t.Fatalf("score %d with %d findings", r.Score, len(r.Findings))
		}
		for _, fd := range r.Findings {
			if fd.Code == "" || fd.Message == "" || utf8.RuneCountInString(fd.Message) > 300 {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		if g := lint.ReadingGrade(body); math.IsNaN(g) || math.IsInf(g, 0) {
			t.Fatalf("ReadingGrade = %v", g)
		}
		_ = lint.Words(body)
	})
}

// benchEmail is a realistic 120-word email to Sarah.
const benchEmail = `Hi Sarah,

Congrats on launching the new enterprise product line. With 30% YoY growth and a hiring burst in sales, your new reps have a lot of accounts to learn at once, and the first weeks are when most of them write their worst outbound.

Ingren writes the first email to each prospect from the data already in Salesforce and Outreach.io, so a new rep starts from a good draft instead of a blank page. Every draft is checked before it goes out, so nothing made up reaches a buyer, and your managers review less.

Teams your size usually start with one pod and grow from there.

Open to a 15-min chat next Tuesday? Here is my calendar: calendly.com/ingren/demo

Best,
Alex Rivera
Ingren`

func BenchmarkCheck(b *testing.B) {
	in := sarah(b, "TechNova's new reps", benchEmail)
	if n := lint.Words(in.Body); n < 110 || n > 125 {
		b.Fatalf("bench body has %d words, want about 120", n)
	}
	if r := lint.Check(in); len(r.Findings) != 0 {
		b.Fatalf("bench email has findings: %+v", r.Findings)
	}
	b.ReportAllocs()
	for b.Loop() {
		lint.Check(in)
	}
}

// BenchmarkCheckPreparedPrompt is BenchmarkCheck with the system prompt
// prepared once, as the composer passes it.
func BenchmarkCheckPreparedPrompt(b *testing.B) {
	in := sarah(b, "TechNova's new reps", benchEmail)
	in.Prompt, in.SystemPrompt = lint.NewPrompt(in.SystemPrompt), ""
	b.ReportAllocs()
	for b.Loop() {
		lint.Check(in)
	}
}

func BenchmarkCheckBadEmail(b *testing.B) {
	in := sarah(b, "QUICK question!!", "Sure! Here's an email:\n\nHi Mark,\n\nI hope this email finds you well. **Leverage** [Company]'s 45% growth with Acme Corp? Act now! https://a.io https://b.io\n\n"+benchEmail)
	b.ReportAllocs()
	for b.Loop() {
		lint.Check(in)
	}
}
