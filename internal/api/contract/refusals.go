package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"

	"github.com/pb33f/libopenapi-validator/content"
)

// statable are the 422 messages whose reason a schema states (a type,
// presence, length, range or set of values), by the keyword that states it.
var statable = []struct {
	keyword string
	message *regexp.Regexp
}{
	{"type", regexp.MustCompile(`^must be (a string|an integer|a number|an object|an array|true or false)\b`)},
	{"required", regexp.MustCompile(`^is required\b`)},
	{"maxLength", regexp.MustCompile(`^must be at most \d+ characters|^is not a cursor this API gave`)},
	{"minimum/maximum", regexp.MustCompile(`^must be between -?\d+ and \d+$|^must be a whole number from|^must not be negative`)},
	{"minItems", regexp.MustCompile(`^must hold at least one`)},
	{"enum", regexp.MustCompile(`^must be (realtime|input|csv)\b|^batch mode is not available`)},
}

// statable400 are the 400 codes a spec states: a body that is no JSON
// object, a missing file part, an Idempotency-Key over its length.
var statable400 = map[string]bool{"malformed_json": true, "missing_file": true, "invalid_idempotency_key": true}

// checkRefusal checks a 400 or 422 answer to a request the spec takes:
// refused for a reason the spec could state, the spec is missing it.
func (c *Checker) checkRefusal(op operation, req *http.Request, body []byte) []string {
	var env struct {
		Error struct {
			Code   string `json:"code"`
			Fields []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"fields"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil // the answer's own check says what is wrong with it
	}
	if statable400[env.Error.Code] {
		return []string{fmt.Sprintf("the spec takes this request, yet it was refused as %s: the spec should refuse it", env.Error.Code)}
	}
	var problems []string
	for _, f := range env.Error.Fields {
		for _, s := range statable {
			if s.message.MatchString(f.Message) && c.declares(op, req, f.Field) {
				problems = append(problems, fmt.Sprintf("the spec takes this request, yet the server refused %s (%q): the spec declares %s but lacks its %s, or states another",
					f.Field, f.Message, f.Field, s.keyword))
				break
			}
		}
	}
	return problems
}

// declares reports whether the spec names field, a 422's field path
// ("prospects[3].prospect.first_name", "limit"), in op's request body or
// query.
func (c *Checker) declares(op operation, req *http.Request, field string) bool {
	segs := splitField(field)
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	o := obj(obj(obj(c.doc["paths"])[op.path])[op.method])
	media := obj(obj(obj(c.deref(o["requestBody"]))["content"])[mt])
	if media != nil && c.resolves(media["schema"], segs) {
		return true
	}
	if len(segs) != 1 {
		return false
	}
	params, _ := o["parameters"].([]any)
	shared, _ := obj(obj(c.doc["paths"])[op.path])["parameters"].([]any)
	for _, p := range append(params, shared...) {
		if p := c.deref(p); p["name"] == segs[0] && p["in"] == "query" {
			return true
		}
	}
	return false
}

// resolves reports whether schema declares the member at path segs ("[]"
// for an array's items), through references and allOf, anyOf, oneOf.
func (c *Checker) resolves(schema any, segs []string) bool {
	if len(segs) == 0 {
		return true
	}
	for _, s := range c.expand(schema) {
		var next any
		if segs[0] == "[]" {
			next = s["items"]
		} else {
			next = obj(s["properties"])[segs[0]]
		}
		if next != nil && c.resolves(next, segs[1:]) {
			return true
		}
	}
	return false
}

// expand returns schema, dereferenced, with every schema it composes.
func (c *Checker) expand(schema any) []map[string]any {
	s := c.deref(schema)
	if s == nil {
		return nil
	}
	out := []map[string]any{s}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := s[k].([]any)
		for _, sub := range list {
			out = append(out, c.expand(sub)...)
		}
	}
	return out
}

// deref follows v's $ref, if it has one, within the spec.
func (c *Checker) deref(v any) map[string]any {
	m := obj(v)
	for range 10 { // a chain of references, not a cycle
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = c.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			cur = obj(cur)[part]
		}
		m = obj(cur)
	}
	return m
}

// splitField turns "prospects[3].prospect.first_name" into prospects, [],
// prospect, first_name.
func splitField(field string) []string {
	var segs []string
	for _, part := range strings.Split(field, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			segs = append(segs, name)
		}
		for n := strings.Count("["+rest, "["); rest != "" && n > 0; n-- {
			segs = append(segs, "[]")
		}
	}
	return segs
}

// multipartDecoder reads a multipart/form-data body as the server does:
// the last part of a name wins, and a part whose encoding is JSON (the
// campaign part) is decoded as JSON; the others are text.
func multipartDecoder() content.Decoder {
	return content.DecoderFunc(func(in *content.DecodeInput) (any, error) {
		boundary := in.Parameters["boundary"]
		if boundary == "" {
			return nil, errors.New("multipart/form-data needs a boundary parameter")
		}
		out := map[string]any{}
		mr := multipart.NewReader(in.Body, boundary)
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return nil, err
			}
			name := p.FormName()
			if in.Encoding != nil {
				if enc := in.Encoding.GetOrZero(name); enc != nil && strings.Contains(enc.ContentType, "json") {
					var v any
					d := json.NewDecoder(bytes.NewReader(b))
					if err := d.Decode(&v); err != nil {
						return nil, fmt.Errorf("part %q is not JSON: %w", name, err)
					}
					out[name] = v
					continue
				}
			}
			out[name] = string(b)
		}
	})
}

// asRead returns req's JSON body, body, as the server reads it, or nil
// when that is body itself (or no JSON): encoding/json's reading, which
// takes a member whose name matches a field's but for case as that
// field, null as a member left out, and of two members for one field the
// later one, merged into the earlier when both are objects.
func (c *Checker) asRead(op operation, req *http.Request, body []byte) []byte {
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	o := obj(obj(obj(c.doc["paths"])[op.path])[op.method])
	media := obj(obj(obj(c.deref(o["requestBody"]))["content"])[mt])
	if media == nil || !strings.HasSuffix(mt, "json") {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	v, err := c.read(d, media["schema"])
	if err != nil {
		return nil
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil // more than one value: the server refuses it as it is
	}
	read, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var raw any
	_ = json.Unmarshal(body, &raw)
	if again, _ := json.Marshal(raw); bytes.Equal(again, read) {
		return nil
	}
	return read
}

// merged is what encoding/json leaves of a field that was old when a
// later member for it reads v: an object decodes into the struct or map
// already there, member by member, where anything else replaces it.
func merged(old, v any) any {
	o, ok1 := old.(map[string]any)
	n, ok2 := v.(map[string]any)
	if !ok1 || !ok2 {
		return v
	}
	for k, x := range n {
		o[k] = merged(o[k], x)
	}
	return o
}

// read decodes the next JSON value from d as the server reads it (see
// asRead), schema saying which members are fields.
func (c *Checker) read(d *json.Decoder, schema any) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		declared := map[string]any{}
		for _, s := range c.expand(schema) {
			for name, p := range obj(s["properties"]) {
				declared[name] = p
			}
		}
		out := map[string]any{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			name := k.(string)
			if _, ok := declared[name]; !ok {
				for field := range declared {
					if strings.EqualFold(name, field) {
						name = field
					}
				}
			}
			v, err := c.read(d, declared[name])
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[name] = merged(out[name], v)
			}
		}
		_, err = d.Token()
		return out, err
	case json.Delim('['):
		var items any
		for _, s := range c.expand(schema) {
			if s["items"] != nil {
				items = s["items"]
			}
		}
		out := []any{}
		for d.More() {
			v, err := c.read(d, items)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		_, err = d.Token()
		return out, err
	}
	return tok, nil
}
