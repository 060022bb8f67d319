package mcp

import (
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/ingren/ingren/internal/email"
)

// Input schemas. Each is inferred, as the SDK infers a typed tool's, from
// the type the API decodes the body into, so a field added to the API
// reaches the tools by itself, with its jsonschema tag as its description.
// Inference reads only Go types, so three things are added here:
//
//   - which fields the API requires: inference makes every field without
//     omitempty required, which for these types is none of the right ones;
//   - that prospect and company take members the types do not name (their
//     UnmarshalJSON keeps them as context for the model), where inference
//     closes every object;
//   - the numeric bounds the API checks, from the constants it checks them
//     with.
//
// The API still checks everything (lengths, formats, allowed models) and
// names every problem at once; the schema tells an agent what to send.

// inferred is the schema of T. The types are fixed at compile time, so a
// failure is a bug that every test of the package meets at once.
func inferred[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("mcp: infer the schema of %T: %v", *new(T), err))
	}
	walk(s, func(s *jsonschema.Schema) { s.Required = nil })
	return s
}

// walk calls f on s and on every schema inside it.
func walk(s *jsonschema.Schema, f func(*jsonschema.Schema)) {
	if s == nil {
		return
	}
	f(s)
	for _, p := range s.Properties {
		walk(p, f)
	}
	walk(s.Items, f)
	walk(s.AdditionalProperties, f)
}

// requestSchema completes the schema of an email request's parts as they
// sit in s (email.Request, email.LintRequest, campaign.Input): prospect
// and company take extra members; when write is set, the two fields an
// email is written from are required, as the API requires them to write
// one (a lint needs neither).
func requestSchema(s *jsonschema.Schema, write bool) {
	p, c := s.Properties["prospect"], s.Properties["company"]
	p.AdditionalProperties, c.AdditionalProperties = &jsonschema.Schema{}, &jsonschema.Schema{}
	if write {
		p.Required, c.Required = []string{"first_name"}, []string{"company_name"}
	}
	optionsSchema(s.Properties["options"])
}

// optionsSchema adds to the schema of email.Options the bounds that
// Options.validate checks.
func optionsSchema(o *jsonschema.Schema) {
	between(o.Properties["max_words"], email.MinMaxWords, email.MaxMaxWords)
	between(o.Properties["variants"], 1, email.MaxVariants)
	seq := o.Properties["sequence"]
	seq.Required = []string{"follow_ups"}
	between(seq.Properties["follow_ups"], 1, email.MaxFollowUps)
}

func between(s *jsonschema.Schema, lo, hi int) {
	s.Minimum, s.Maximum = jsonschema.Ptr(float64(lo)), jsonschema.Ptr(float64(hi))
}
