// Package tokens counts tokens as OpenAI bills them: the tiktoken encoding
// of a model's family (github.com/tiktoken-go/tokenizer, whose vocabularies
// are embedded: nothing is downloaded), and the overhead a chat request
// adds around its messages.
package tokens

import (
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// The encodings a model family uses.
const (
	// O200kBase is the encoding of gpt-4o, gpt-4.1, gpt-5 and the o-series.
	O200kBase = "o200k_base"
	// Cl100kBase is the encoding of gpt-4 and gpt-3.5.
	Cl100kBase = "cl100k_base"
)

// Chat overhead, from OpenAI's cookbook "How to count tokens with
// tiktoken" (num_tokens_from_messages), which matches the prompt_tokens
// the API reports for gpt-3.5-turbo-0613 onwards, gpt-4 and gpt-4o:
const (
	// PerMessage is what each message costs on top of its role and content
	// (<|start|>, the separator and <|end|>).
	PerMessage = 3
	// ReplyPriming is what every request costs once: the reply is primed
	// with <|start|>assistant<|message|>.
	ReplyPriming = 3
)

// Encoding returns the encoding of model's family: cl100k_base for gpt-4
// and gpt-3.5 (gpt-4-turbo included), o200k_base for everything else
// (gpt-4o*, gpt-4.1*, gpt-5*, o1/o3/o4*), the newest models' encoding being
// the best guess for a model this package does not know. A fine-tuned
// model ("ft:gpt-4o-mini:org::id") counts as its base.
func Encoding(model string) string {
	m := strings.ToLower(strings.TrimPrefix(model, "ft:"))
	switch {
	case strings.HasPrefix(m, "gpt-4o"), strings.HasPrefix(m, "gpt-4.1"), strings.HasPrefix(m, "chatgpt-4o"):
		return O200kBase
	case strings.HasPrefix(m, "gpt-4"), strings.HasPrefix(m, "gpt-3.5"), strings.HasPrefix(m, "gpt-35"):
		return Cl100kBase
	default:
		return O200kBase
	}
}

// codecs holds one codec per encoding, built on first use: building one
// compiles its split expression, and its vocabulary is loaded once.
// A codec is safe for concurrent use.
var codecs = map[string]func() tokenizer.Codec{
	O200kBase:  sync.OnceValue(func() tokenizer.Codec { return mustGet(tokenizer.O200kBase) }),
	Cl100kBase: sync.OnceValue(func() tokenizer.Codec { return mustGet(tokenizer.Cl100kBase) }),
}

func mustGet(enc tokenizer.Encoding) tokenizer.Codec {
	c, err := tokenizer.Get(enc)
	if err != nil {
		panic("tokens: encoding " + string(enc) + ": " + err.Error())
	}
	return c
}

// Counter counts the tokens of one model family.
type Counter struct {
	codec tokenizer.Codec
}

// For returns the counter of model's family (see Encoding).
func For(model string) Counter {
	return Counter{codec: codecs[Encoding(model)]()}
}

// Encoding is the name of c's encoding.
func (c Counter) Encoding() string { return c.codec.GetName() }

// Text is the number of tokens of s. Invalid UTF-8 is counted as is (the
// API would reject it before counting).
func (c Counter) Text(s string) int {
	// Count fails only in the strict error mode, which c does not use.
	n, _ := c.codec.Count(s)
	return n
}

// Message is one message of a chat request.
type Message struct {
	Role, Content string
}

// Chat is the number of prompt tokens of a chat request of msgs whose
// response_format is the JSON schema named schemaName (none when schema is
// empty), as the API reports them: PerMessage for each message plus its
// role and content, ReplyPriming once, and the schema.
func (c Counter) Chat(msgs []Message, schemaName string, schema []byte) int {
	return c.chat(msgs, schemaName, schema, c.Text)
}

// chat is Chat counting each text with text.
func (c Counter) chat(msgs []Message, schemaName string, schema []byte, text func(string) int) int {
	n := ReplyPriming
	for _, m := range msgs {
		n += PerMessage + text(m.Role) + text(m.Content)
	}
	return n + c.Schema(schemaName, schema)
}

// Memo is Chat for many requests that repeat texts (every prospect's
// system prompt is the same): it counts each text once per encoding,
// counting being the slow part. The zero Memo is ready; it is not safe for
// concurrent use.
type Memo struct{ seen map[[2]string]int }

// Chat is c.Chat, with the texts counted before remembered.
func (m *Memo) Chat(c Counter, msgs []Message, schemaName string, schema []byte) int {
	if m.seen == nil {
		m.seen = map[[2]string]int{}
	}
	return c.chat(msgs, schemaName, schema, func(s string) int {
		key := [2]string{c.Encoding(), s}
		n, ok := m.seen[key]
		if !ok {
			n = c.Text(s)
			m.seen[key] = n
		}
		return n
	})
}

// Schema is what a structured-output JSON schema adds to a request's
// prompt. OpenAI does not publish how it renders the schema into the
// prompt (the schema is turned into a type definition in a system
// section); its name and its compact JSON, counted as text, with one
// message's overhead for the section, is within a few tokens of that
// rendering for the small flat schemas Ingren sends. Empty schema: 0.
func (c Counter) Schema(name string, schema []byte) int {
	if len(schema) == 0 {
		return 0
	}
	return PerMessage + c.Text(name) + c.Text(string(schema))
}
