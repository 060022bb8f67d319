package prompt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ingren/ingren/internal/email"
)

// The fenced data is indented JSON as json.MarshalIndent writes it, which
// escapes <, >, & and line breaks, so that whatever a value holds it cannot
// close the fence around it nor start a line of its own. It is rendered for
// every call, and json.MarshalIndent goes through it three times
// (Prospect's and Company's MarshalJSON, the encoder's check and compaction
// of what they return, the indentation); fenceData and fenceStrings write
// the same bytes in one pass. FuzzFence holds them to json.MarshalIndent.

// fenceData renders v as json.MarshalIndent(v, "", "  ") does.
func fenceData(v *dataView) string {
	b := make([]byte, 0, 1024)
	b = append(b, "{\n  \"prospect\": "...)
	b = prospectPlan.append(b, reflect.ValueOf(&v.Prospect).Elem(), v.Prospect.Extra, 1)
	b = append(b, ",\n  \"company\": "...)
	b = companyPlan.append(b, reflect.ValueOf(&v.Company).Elem(), v.Company.Extra, 1)
	if v.CTA != nil {
		b = append(b, ",\n  \"call_to_action\": "...)
		b = ctaPlan.append(b, reflect.ValueOf(v.CTA).Elem(), nil, 1)
	}
	if v.Sender != nil {
		b = append(b, ",\n  \"sender\": "...)
		b = senderPlan.append(b, reflect.ValueOf(v.Sender).Elem(), nil, 1)
	}
	b = append(b, "\n}"...)
	return string(b)
}

// fenceStrings renders ss as json.MarshalIndent does, nil as [].
func fenceStrings(ss []string) string {
	if len(ss) == 0 {
		return "[]"
	}
	b := []byte("[")
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		b = appendString(b, s)
	}
	return string(append(b, "\n]"...))
}

// fenceDraft renders {"subject": subject, "body": body} as
// json.MarshalIndent does.
func fenceDraft(subject, body string) string {
	b := []byte("{\n  \"subject\": ")
	b = appendString(b, subject)
	b = append(b, ",\n  \"body\": "...)
	b = appendString(b, body)
	return string(append(b, "\n}"...))
}

// Plans of the structs in the fenced data, built once.
var (
	prospectPlan = fencePlanOf(reflect.TypeFor[email.Prospect]())
	companyPlan  = fencePlanOf(reflect.TypeFor[email.Company]())
	ctaPlan      = fencePlanOf(reflect.TypeFor[email.CTA]())
	senderPlan   = fencePlanOf(reflect.TypeFor[email.Sender]())
)

// fenceField is a member of a struct in the fenced data: a string, or a
// pointer to an int, left out when empty.
type fenceField struct {
	index int
	key   string // the quoted name and ": "
	isInt bool
}

type fencePlan []fenceField

// fencePlanOf builds the plan of struct type t. It panics on a field it
// cannot write as encoding/json does, so that a new field of the request
// fails every test rather than the prompt.
func fencePlanOf(t reflect.Type) fencePlan {
	var p fencePlan
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" && sf.Name == "Extra" {
			continue
		}
		ok := name != "" && name != "-" && opts == "omitempty" && sf.IsExported()
		f := fenceField{index: i, key: string(appendString(nil, name)) + ": "}
		switch {
		case sf.Type.Kind() == reflect.String:
		case sf.Type == reflect.TypeFor[*int]():
			f.isInt = true
		default:
			ok = false
		}
		if !ok {
			panic(fmt.Sprintf("prompt: the fenced data cannot show %s.%s (%s, tag %q)", t, sf.Name, sf.Type, sf.Tag.Get("json")))
		}
		p = append(p, f)
	}
	return p
}

// append writes v, a struct of p's type with extra as its Extra, at
// nesting depth depth.
func (p fencePlan) append(b []byte, v reflect.Value, extra map[string]json.RawMessage, depth int) []byte {
	b = append(b, '{')
	n := 0
	member := func(key string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '\n')
		b = appendIndent(b, depth+1)
		b = append(b, key...)
	}
	for _, f := range p {
		fv := v.Field(f.index)
		if f.isInt {
			if fv.IsNil() {
				continue
			}
			member(f.key)
			b = strconv.AppendInt(b, fv.Elem().Int(), 10)
			continue
		}
		if fv.Len() == 0 {
			continue
		}
		member(f.key)
		b = appendString(b, fv.String())
	}
	for _, k := range email.SortedKeys(extra) {
		member("")
		b = appendString(b, k)
		b = append(b, ": "...)
		b = appendRaw(b, extra[k], depth+1)
	}
	if n > 0 {
		b = append(b, '\n')
		b = appendIndent(b, depth)
	}
	return append(b, '}')
}

func appendIndent(b []byte, depth int) []byte {
	for range depth {
		b = append(b, "  "...)
	}
	return b
}

// appendRaw writes raw as MarshalIndent writes a json.RawMessage at depth:
// compacted, with <, >, &, U+2028 and U+2029 escaped, then indented.
func appendRaw(b []byte, raw json.RawMessage, depth int) []byte {
	if plainScalar(raw) {
		return append(b, raw...)
	}
	var compact, escaped bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		// Extra values come from a body that parsed.
		panic(fmt.Sprintf("prompt: extra value %q: %v", raw, err))
	}
	json.HTMLEscape(&escaped, compact.Bytes())
	if c := escaped.Bytes(); len(c) > 0 && c[0] != '{' && c[0] != '[' {
		return append(b, c...)
	}
	var out bytes.Buffer
	_ = json.Indent(&out, escaped.Bytes(), string(appendIndent(nil, depth)), "  ")
	return append(b, out.Bytes()...)
}

// plainScalar reports whether raw, a JSON value without space around it,
// is a string, number or literal that compacting and escaping leave as it
// is: nothing to escape, and no space outside a string.
func plainScalar(raw []byte) bool {
	if len(raw) == 0 || raw[0] == '{' || raw[0] == '[' || isSpace(raw[0]) || isSpace(raw[len(raw)-1]) {
		return false
	}
	for _, c := range raw {
		if c == '<' || c == '>' || c == '&' || c == 0xE2 {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendString writes s quoted as encoding/json does with HTML escaping
// (json.Marshal): <, > and & escaped, U+2028 and U+2029 escaped, invalid
// UTF-8 as U+FFFD. A copy of encoding/json's appendString.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
