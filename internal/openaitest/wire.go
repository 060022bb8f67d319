package openaitest

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/tokens"
)

// malformedContent is what a model sends when it ignores the format: prose
// around the email instead of the JSON object.
const malformedContent = "Sure! Here is a short email you can send:\n\nSubject: Quick idea\n\nHi there, I wanted to reach out about your team."

// wireRequest is the part of a chat completion request the server reads.
// Decoding only this is several times cheaper than decoding go-openai's
// ChatCompletionRequest, whose messages each decode twice.
type wireRequest struct {
	Model          string        `json:"model"`
	Messages       []wireMessage `json:"messages"`
	Stream         bool          `json:"stream"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// decodeRequest decodes a request body. Content given as an array of parts
// does not fit wireRequest; then the body is decoded by go-openai, returned
// as full, and its text parts are joined.
func decodeRequest(raw []byte) (wireRequest, *openai.ChatCompletionRequest, error) {
	var req wireRequest
	err := json.Unmarshal(raw, &req)
	if err == nil {
		return req, nil, nil
	}
	full := new(openai.ChatCompletionRequest)
	if json.Unmarshal(raw, full) != nil {
		return req, nil, err
	}
	req = wireRequest{Model: full.Model, Stream: full.Stream, Messages: make([]wireMessage, len(full.Messages))}
	for i, m := range full.Messages {
		text := m.Content
		for _, p := range m.MultiContent {
			text += p.Text
		}
		req.Messages[i] = wireMessage{Role: m.Role, Content: text}
	}
	if rf := full.ResponseFormat; rf != nil {
		b, err := json.Marshal(rf)
		if err != nil {
			return req, nil, err
		}
		if err := json.Unmarshal(b, &req.ResponseFormat); err != nil {
			return req, nil, err
		}
	}
	return req, full, nil
}

// appendCompletion appends a chat.completion object, built by hand so that
// a load test measures the client, not this server's encoder. Its usage is
// counted with the model's tokenizer when count is set (Config.CountTokens),
// and is a quarter of the bytes otherwise.
func appendCompletion(b []byte, n int, created int64, req *wireRequest, content []byte, count bool) []byte {
	promptTokens, completionTokens := usage(req, content, count)
	b = append(b, `{"id":"chatcmpl-openaitest-`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `","object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, req.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = appendJSONString(b, content)
	b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(promptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(promptTokens+completionTokens), 10)
	b = append(b, `},"system_fingerprint":"fp_openaitest"}`...)
	return b
}

// usage is what a request and its answer's content cost in tokens: as
// OpenAI counts them with the model's tokenizer when count is set (the
// messages with their chat overhead, and the response format's schema),
// else a quarter of the bytes, which costs a load test nothing.
func usage(req *wireRequest, content []byte, count bool) (prompt, completion int) {
	if !count {
		for i := range req.Messages {
			prompt += len(req.Messages[i].Content)
		}
		return prompt / 4, len(content) / 4
	}
	c := tokens.For(req.Model)
	msgs := make([]tokens.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = tokens.Message{Role: m.Role, Content: m.Content}
	}
	var name string
	var schema []byte
	if rf := req.ResponseFormat; rf != nil && rf.JSONSchema != nil {
		name, schema = rf.JSONSchema.Name, rf.JSONSchema.Schema
	}
	return c.Chat(msgs, name, schema), c.Text(string(content))
}

// appendError appends an OpenAI error object.
func appendError(b []byte, msg, typ, code string) []byte {
	b = append(b, `{"error":{"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"param":null,"code":`...)
	if code == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, code)
	}
	return append(b, "}}"...)
}

// appendEmail appends the default answer: the email JSON a well-behaved
// model writes, using only the prospect's first name and company name. A
// request whose schema asks for email_1 … email_n (variants or a sequence)
// gets n distinct emails.
func appendEmail(b []byte, req *wireRequest) []byte {
	n := emailsAsked(req)
	if n <= 1 {
		return appendOneEmail(b, req)
	}
	first, company := prospect(req)
	b = append(b, '{')
	for i := 1; i <= n; i++ {
		if i > 1 {
			b = append(b, ',')
		}
		b = append(b, `"email_`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":`...)
		if i == 1 {
			b = appendOneEmail(b, req)
			continue
		}
		b = append(b, `{"subject":`...)
		b = appendJSONString(b, "Following up, "+first)
		b = append(b, `,"body":"Hi `...)
		b = appendJSONEscaped(b, first)
		b = append(b, `,\n\n`...)
		b = append(b, followUps[(i-2)%len(followUps)]...)
		b = append(b, ` Is it worth a look for `...)
		b = appendJSONEscaped(b, company)
		b = append(b, `?\n\nThanks,"}`...)
	}
	return append(b, '}')
}

// followUps are distinct second lines, so no follow-up repeats another.
var followUps = []string{
	"Bumping my earlier note in case it got buried under quarter-end work.",
	"One more angle: replies tend to rise when the first line names something only the reader would recognise.",
	"Last try from me. If timing is off, a one-word reply saying so helps me too.",
	"Closing the loop on my notes. Happy to send a two-minute summary instead of a call.",
}

// emailsAsked reads how many emails the structured-output schema requires.
func emailsAsked(req *wireRequest) int {
	rf := req.ResponseFormat
	if rf == nil || rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
		return 1
	}
	var s struct {
		Required []string `json:"required"`
	}
	if json.Unmarshal(rf.JSONSchema.Schema, &s) != nil {
		return 1
	}
	n := 0
	for _, r := range s.Required {
		if strings.HasPrefix(r, "email_") {
			n++
		}
	}
	return max(n, 1)
}

func appendOneEmail(b []byte, req *wireRequest) []byte {
	first, company := prospect(req)
	if first == "" {
		first = "there"
	}
	if company == "" {
		company = "your team"
	}
	b = append(b, `{"subject":`...)
	b = appendJSONString(b, "A thought for "+company)
	b = append(b, `,"body":"Hi `...)
	b = appendJSONEscaped(b, first)
	b = append(b, `,\n\nI have been looking at `...)
	b = appendJSONEscaped(b, company)
	b = append(b, ` and wanted to share one idea. Teams like yours often spend hours on outreach, `+
		`and replies drop when every message starts to sound the same.\n\n`+
		`We help sales teams send emails that read as if each one was written for one person.\n\n`+
		`Would a short call next week be useful to see if this fits `...)
	b = appendJSONEscaped(b, company)
	return append(b, `?\n\nBest,"}`...)
}

// prospectData is the part of the fenced data the default email uses.
type prospectData struct {
	Prospect struct {
		FirstName string `json:"first_name"`
	} `json:"prospect"`
	Company struct {
		CompanyName string `json:"company_name"`
	} `json:"company"`
}

// prospect finds the JSON between <prospect_data> and </prospect_data> in
// the latest user message that has it (a repair round ends with a message
// that does not) and returns the names it holds.
func prospect(req *wireRequest) (first, company string) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := &req.Messages[i]
		if m.Role != openai.ChatMessageRoleUser {
			continue
		}
		_, rest, ok := strings.Cut(m.Content, "<prospect_data>")
		if !ok {
			continue
		}
		data, _, ok := strings.Cut(rest, "</prospect_data>")
		if !ok {
			continue
		}
		var d prospectData
		if json.Unmarshal([]byte(data), &d) != nil {
			return "", ""
		}
		return strings.TrimSpace(d.Prospect.FirstName), strings.TrimSpace(d.Company.CompanyName)
	}
	return "", ""
}

// appendJSONString appends s as a quoted JSON string.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	b = appendJSONEscaped(b, s)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// appendJSONEscaped appends s escaped for the inside of a JSON string.
// Invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendJSONEscaped[T string | []byte](b []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		var rb [utf8.UTFMax]byte
		n := copy(rb[:], s[i:min(i+utf8.UTFMax, len(s))])
		r, size := utf8.DecodeRune(rb[:n])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
