package email

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// onePassBodies are bodies the one-pass reader must take itself: a plain
// request, and each thing a client commonly sends besides (extra context,
// unknown and case-variant members, escapes, nulls, a sequence).
var onePassBodies = map[string]string{
	"Extras":      `{"prospect": {"first_name": "A", "hobby": "sailing", "tools": ["x", {"y": null}]}, "company": {"company_name": "B", "size": 3}}`,
	"NearMisses":  `{"prospect": {"first_name": "A", "jobTitle": "VP"}, "company": {"company_name": "B", "industy": "SaaS"}, "optoins": {}, "campaign_hint": 1}`,
	"CaseVariant": `{"PROSPECT": {"first_name": "A"}, "company": {"company_Name": "B"}}`,
	"Escapes":     `{"prospect": {"first_name": "Zo\u00eb", "notable_achievement": "Line one\nline \"two\"\t\u2028"}, "company": {"company_name": "Caf\u00e9 \ud83d\ude00"}}`,
	"Unicode":     "{\"prospect\": {\"first_name\": \"Zoë\"}, \"company\": {\"company_name\": \"Café 😀\"}}",
	"Nulls":       `{"prospect": {"first_name": "A", "tenure_months": null, "last_name": null}, "company": null, "cta": null, "options": {"sequence": null, "temperature": null}}`,
	"Sequence":    `{"prospect": {"first_name": "A", "tenure_months": -0}, "company": {"company_name": "B", "employee_count": 12}, "options": {"tone": "direct", "max_words": 90, "temperature": 0.7e0, "sequence": {"follow_ups": 2, "days": [3, 9]}}}`,
	"EmptyDays":   `{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}, "options": {"variants": 3, "sequence": {"follow_ups": 1, "days": []}}}`,
	"Empty":       `{}`,
}

// TestReadRequestTakesCommonBodies keeps the one-pass reader from quietly
// handing every body to the general path: it would still be right, and
// four times slower.
func TestReadRequestTakesCommonBodies(t *testing.T) {
	bodies := map[string]string{"Sarah": string(mustRead(t, "../../testdata/requests/sarah.json"))}
	for name, body := range onePassBodies {
		bodies[name] = body
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var req Request
			if _, ok := readRequest(bytes.TrimSpace([]byte(body)), &req); !ok {
				t.Fatalf("the one-pass reader refused %s", body)
			}
			sameAsGeneral(t, []byte(body))
		})
	}
}

// FuzzReadRequest holds the one-pass reader to the general path: whatever
// body it takes, it decodes to the same Request with the same report.
func FuzzReadRequest(f *testing.F) {
	f.Add(mustRead(f, "../../testdata/requests/sarah.json"))
	for _, body := range onePassBodies {
		f.Add([]byte(body))
	}
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	for _, path := range seeds {
		// The corpus files are "go test fuzz v1" with one []byte("...").
		b := mustRead(f, path)
		if _, v, ok := strings.Cut(string(b), "[]byte("); ok {
			if s, err := strconv.Unquote(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), ")"))); err == nil {
				f.Add([]byte(s))
			}
		}
	}
	for _, s := range []string{
		`{"prospect": {"first_name": "A", "first_name": "B"}}`,
		`{"prospect": {"first_name": "A", "FIRST_NAME": "B"}}`,
		`{"prospect": {"first_name": 1}}`, `{"prospect": {"tenure_months": 1.5}}`, `{"options": {"temperature": 1e400}}`,
		`{"prospect": {"fir\u0073t_name": "A"}}`, `{"prospect": {"first_nam\u212a": "A"}}`, `{"prospect": {"ﬁrst_name": "A"}}`,
		`{"prospect": {"first_name": "\xff\xfe"}}`, `{"prospect": {"first_name": "\ud800x"}}`,
		`{"options": {"sequence": {"days": [1, null]}}}`, `{"options": {"sequence": {"days": [1, 2.0]}}}`,
		" \u00a0{\"cta\": {\"ask\": \"x\"}}\u0085 ", `{"cta": {"ask": "x"}} x`, `{"cta": {"ask": "x"}`, `{"a":[[[[]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsGeneral(t, body)
	})
}

// sameAsGeneral fails unless DecodeJSON (which tries the one-pass reader
// first) and the general path agree on body.
func sameAsGeneral(t *testing.T, body []byte) {
	t.Helper()
	var fast, slow Request
	fastRep, fastErr := DecodeJSON(body, &fast, "")
	slowRep, slowErr := decodeGeneral(bytes.TrimSpace(body), &slow, "")
	if (fastErr == nil) != (slowErr == nil) || fastErr != nil && fastErr.Error() != slowErr.Error() {
		t.Fatalf("error %v, the general path's %v\n%s", fastErr, slowErr, body)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("decoded\n%#v\nthe general path\n%#v\n%s", fast, slow, body)
	}
	if !reflect.DeepEqual(fastRep, slowRep) {
		t.Fatalf("report\n%#v\nthe general path's\n%#v\n%s", fastRep, slowRep, body)
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzDecodeOne holds the answer reader to json.Unmarshal: the same email
// and the same verdict for any answer.
func FuzzDecodeOne(f *testing.F) {
	for _, s := range []string{
		`{"subject": "New reps at TechNova", "body": "Hi Sarah,\n\nLine \"two\" \u2028 \ud83d\ude00 \ud800.\n\nBest,\nAlex"}`,
		`{"body": "b", "subject": "s"}`, `{"subject": "s"}`, `{}`, `{"subject": "s", "subject": "t", "body": "b"}`,
		`{"Subject": "s", "body": "b"}`, `{"subject": 1, "body": "b"}`, `{"subject": null, "body": "b"}`,
		`{"subject": "s", "body": "b", "extra": [1]}`, `{"subject": "s", "body": "b"} x`, `{"subject": "\x00"}`,
		"{\"subject\": \"\xff\", \"body\": \"caf\xc3\xa9\"}", `[1]`, `"x"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want answerJSON
		got, ok := decodeOne(s)
		wantOK := json.Unmarshal([]byte(s), &want) == nil
		if ok != wantOK || ok && got != want {
			t.Fatalf("decodeOne %v %+v, json.Unmarshal %v %+v\n%s", ok, got, wantOK, want, s)
		}
	})
}

// FuzzUnquote holds unquote to encoding/json on every string literal.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a"`, `"\n\t\"\\\/\b\f\r"`, `"\u00e9\ud83d\ude00\ud800\udc00\ud800x\udfff"`, "\"\xff\xc3\"", `"\u12"`, `""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// A literal as the readers cut it: no space around it.
		s = strings.Trim(s, " \t\r\n")
		if !json.Valid([]byte(s)) || s[0] != '"' {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		if got, ok := unquote([]byte(s)); !ok || got != want {
			t.Fatalf("unquote %q %v, json.Unmarshal %q", got, ok, want)
		}
	})
}

// FuzzValidJSON holds validJSON to json.Valid, but for values nested
// deeper than it follows.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{
		`{"a": [1, -0.5e+3, true, false, null, "x\u00e9\n", {}], "b": {"c": []}}`, ` 1 `, `01`, `1.`, `-`, `1e`, `.5`,
		`"\x"`, `"\u12g4"`, "\"\x01\"", `{"a" 1}`, `{"a":1,}`, `[1,]`, `tru`, `nulls`, `{"a":1}}`, `[[[[[[[[[[]]]]]]]]]]`,
		"\"\xff\"", `{} {}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Add([]byte(strings.Repeat("[", maxValidDepth+1) + strings.Repeat("]", maxValidDepth+1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := validJSON(b), json.Valid(b)
		if got && !want || !got && want && depth(b) <= maxValidDepth {
			t.Fatalf("validJSON %v, json.Valid %v: %q", got, want, b)
		}
	})
}

// depth is how deep valid JSON b nests.
func depth(b []byte) int {
	d, most, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '{' || c == '['):
			d++
			most = max(most, d)
		case !inString && (c == '}' || c == ']'):
			d--
		}
	}
	return most
}
