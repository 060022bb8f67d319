package email

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Answer is the form a model's answer must take: Emails emails as one JSON
// object, {"subject": "...", "body": "..."} for one and {"email_1": {...},
// ..., "email_n": {...}} for more. Every Writer asks for it and reads it the
// same way, so a batch file or a second provider gets the same answers.
type Answer struct {
	Emails int
}

// emailSchema is the strict structured-output schema of one email.
const emailSchema = `{"type":"object","properties":{` +
	`"subject":{"type":"string","description":"2 to 5 words"},` +
	`"body":{"type":"string","description":"the whole email text with its line breaks"}},` +
	`"required":["subject","body"],"additionalProperties":false}`

// schemas[n] is the schema of an answer of n emails, for every n a valid
// request can ask for; they are built once, as every call needs one.
var schemas = func() []json.RawMessage {
	out := make([]json.RawMessage, 1+max(MaxVariants, 1+MaxFollowUps))
	for n := 1; n < len(out); n++ {
		out[n] = schemaOf(n)
	}
	return out
}()

// schemaOf builds the schema of n emails. Several emails are the required
// properties email_1 … email_n: strict mode then guarantees exactly n,
// which an array schema cannot (strict mode ignores minItems).
func schemaOf(n int) json.RawMessage {
	if n <= 1 {
		return json.RawMessage(emailSchema)
	}
	var props, req []string
	for i := 1; i <= n; i++ {
		props = append(props, fmt.Sprintf("%q:%s", emailKey(i), emailSchema))
		req = append(req, fmt.Sprintf("%q", emailKey(i)))
	}
	return json.RawMessage(`{"type":"object","properties":{` + strings.Join(props, ",") +
		`},"required":[` + strings.Join(req, ",") + `],"additionalProperties":false}`)
}

// Schema returns the name and the strict JSON schema of the answer, for a
// provider that enforces one (structured output).
func (a Answer) Schema() (name string, schema json.RawMessage) {
	name = "email"
	if a.Emails > 1 {
		name = "emails"
	}
	if a.Emails > 0 && a.Emails < len(schemas) {
		return name, schemas[a.Emails]
	}
	return name, schemaOf(a.Emails)
}

// MaxTokens bounds the answer of emails of at most maxWords words each:
// about 1.3 tokens per English word and more in other languages, plus the
// subject and the JSON around them.
func (a Answer) MaxTokens(maxWords int) int { return a.Emails * (4*maxWords + 100) }

// answerJSON is one email as the model writes it.
type answerJSON struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

func emailKey(i int) string { return "email_" + strconv.Itoa(i) }

// Parse reads the answer's emails and lists what is wrong with them, in
// words a repair message can hand back to the model; no problems means
// exactly a.Emails emails, none empty. It forgives a markdown code fence,
// which models that ignore the schema add.
func (a Answer) Parse(content string) (emails []Message, problems []string) {
	s := strings.TrimSpace(content)
	if rest, ok := strings.CutPrefix(s, "```"); ok {
		_, rest, _ = strings.Cut(rest, "\n")
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "```"))
	}
	if a.Emails <= 1 {
		var e answerJSON
		ok := false
		if s != "" && s[0] == '{' {
			e, ok = decodeOne(s)
		}
		if !ok {
			return nil, []string{`the answer must be only the JSON object {"subject": "...", "body": "..."}, with nothing before or after it`}
		}
		m, problems := check(e, "")
		return []Message{m}, problems
	}
	var all map[string]answerJSON
	if s == "" || s[0] != '{' || json.Unmarshal([]byte(s), &all) != nil {
		return nil, []string{fmt.Sprintf(`the answer must be only the JSON object {"email_1": {"subject": "...", "body": "..."}, ...} with %d emails, with nothing before or after it`, a.Emails)}
	}
	for i := 1; i <= a.Emails; i++ {
		e, ok := all[emailKey(i)]
		if !ok {
			problems = append(problems, emailKey(i)+" is missing")
			continue
		}
		m, p := check(e, emailKey(i)+": ")
		emails = append(emails, m)
		problems = append(problems, p...)
	}
	return emails, problems
}

// decodeOne decodes s, the answer of one email, and reports whether
// json.Unmarshal would succeed. The answer a model gives when it keeps to
// the schema, a JSON object of the two strings subject and body and
// nothing else, is read without encoding/json's reflection; any other is
// left to json.Unmarshal.
func decodeOne(s string) (answerJSON, bool) {
	b := []byte(s)
	var e answerJSON
	if len(b) > 0 && b[0] == '{' && validJSON(b) && readAnswer(b, &e) {
		return e, true
	}
	// Declared here: json.Unmarshal makes it escape.
	var other answerJSON
	err := json.Unmarshal(b, &other)
	return other, err == nil
}

// readAnswer decodes b, a valid JSON object, into e when its members are
// subject and body alone, each once, as strings.
func readAnswer(b []byte, e *answerJSON) bool {
	var subject, body bool
	i := skipSpace(b, 1)
	for i < len(b) && b[i] == '"' {
		kEnd := stringEnd(b, i)
		vStart := skipSpace(b, skipSpace(b, kEnd)+1) // past the colon
		vEnd := valueEnd(b, vStart)
		v, ok := unquote(b[vStart:vEnd])
		if !ok {
			return false
		}
		switch string(b[i:kEnd]) {
		case `"subject"`:
			if subject {
				return false
			}
			subject, e.Subject = true, v
		case `"body"`:
			if body {
				return false
			}
			body, e.Body = true, v
		default:
			return false
		}
		i = nextItem(b, vEnd)
	}
	return true
}

func check(e answerJSON, prefix string) (Message, []string) {
	m := Message{Subject: strings.TrimSpace(e.Subject), Body: strings.TrimSpace(e.Body)}
	var problems []string
	if m.Subject == "" {
		problems = append(problems, prefix+"the subject is missing or empty")
	}
	if m.Body == "" {
		problems = append(problems, prefix+"the body is missing or empty")
	}
	return m, problems
}

// EncodeAnswer renders emails as the model would have answered them, for
// a repair round that shows the model its previous draft.
func EncodeAnswer(emails []Message) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Strings cannot fail to encode.
	if len(emails) == 1 {
		_ = enc.Encode(answerJSON(emails[0]))
	} else {
		m := make(map[string]answerJSON, len(emails))
		for i, e := range emails {
			m[emailKey(i+1)] = answerJSON(e)
		}
		_ = enc.Encode(m)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
