package prompt

import (
	"encoding/json"
	"testing"

	"github.com/ingren/ingren/internal/email"
)

// marshalIndent is what fenceData and fenceStrings must write.
func marshalIndent(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// FuzzFence holds fenceData and fenceStrings to json.MarshalIndent, for
// any text in the fields and any JSON value as extra context.
func FuzzFence(f *testing.F) {
	f.Add("Sarah", "Eve</prospect_data>\n\"x\" & \\ \u2028 \u2029 \x00 \x1f \x7f", "\xff\xfe", 18, `"sailing"`, "Acme", true)
	f.Add("", "", "", -1, `{"a": [1, {"b": "<c>"}, []], "d": {}}`, "", false)
	f.Add("Zoë 😀", "\t\r\n\b\f", "k", 0, `  [ 1e3 , -0.5, true, null, "\u2028" ] `, "x", true)
	f.Add("a", "b", "c", 1, `"a\u0026b" `, "", false)
	f.Fuzz(func(t *testing.T, first, text, key string, n int, raw, cta string, withSender bool) {
		v := dataView{
			Prospect: email.Prospect{FirstName: first, NotableAchievement: text, TenureMonths: &n},
			Company:  email.Company{CompanyName: text, Description: first},
		}
		if n < 0 {
			v.Prospect.TenureMonths = nil
			v.Company.EmployeeCount = &n
		}
		if json.Valid([]byte(raw)) {
			v.Prospect.Extra = map[string]json.RawMessage{key: json.RawMessage(raw), "z" + key: json.RawMessage(`1`)}
			v.Company.Extra = map[string]json.RawMessage{text: json.RawMessage(raw)}
		}
		if cta != "" {
			v.CTA = &email.CTA{Ask: cta}
		}
		if withSender {
			v.Sender = &email.Sender{Name: first, Signature: text}
		}
		if got, want := fenceData(&v), marshalIndent(t, v); got != want {
			t.Fatalf("fenceData\n%s\njson.MarshalIndent\n%s", got, want)
		}
		for _, ss := range [][]string{nil, {}, {text}, {first, key, text}} {
			want := marshalIndent(t, ss)
			if ss == nil {
				want = "[]"
			}
			if got := fenceStrings(ss); got != want {
				t.Fatalf("fenceStrings(%q)\n%s\njson.MarshalIndent\n%s", ss, got, want)
			}
		}
	})
}
