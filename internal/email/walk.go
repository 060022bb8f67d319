package email

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/ingren/ingren/internal/fault"
)

// maxWarnings bounds the warnings of one value: a body of a thousand
// unknown members gets a few and a count, not an answer as large as itself.
const maxWarnings = 20

// walker goes through JSON text that encoding/json accepted, beside the Go
// type it decodes into, and records in rep what that decoding would not say.
type walker struct {
	rep *Report
	// seen holds the warnings given, as repeated members repeat them.
	seen map[fault.FieldError]bool
	// more counts the warnings left out past maxWarnings.
	more int
}

// flush adds a last warning counting those left out.
func (w *walker) flush(path string) {
	if w.more > 0 {
		w.rep.Warnings = append(w.rep.Warnings, fault.FieldError{Field: orRoot(path),
			Message: fmt.Sprintf("%d more warnings left out", w.more)})
	}
}

func (w *walker) warn(field, format string, args ...any) {
	f := fault.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	if w.seen[f] {
		return
	}
	if w.seen == nil {
		w.seen = make(map[fault.FieldError]bool)
	}
	w.seen[f] = true
	if len(w.rep.Warnings) >= maxWarnings {
		w.more++
		return
	}
	w.rep.Warnings = append(w.rep.Warnings, f)
}

func (w *walker) invalid(path string, t reflect.Type, raw []byte) {
	w.rep.Invalid = append(w.rep.Invalid, fault.FieldError{Field: orRoot(path),
		Message: fmt.Sprintf("must be %s, not %s", kindName(t), jsonKind(raw))})
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// walk checks the JSON value raw against t, the type encoding/json decodes
// it into, recording what it finds under path. It returns raw without its
// members of the wrong type, or nil when raw itself has the wrong type.
func (w *walker) walk(raw []byte, t reflect.Type, path string) []byte {
	if len(raw) == 0 || raw[0] == 'n' || t == rawMessageType {
		// null leaves any field as it was.
		return raw
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ok := true
	switch t.Kind() {
	case reflect.Struct:
		return w.object(raw, t, path)
	case reflect.Slice:
		return w.array(raw, t, path)
	case reflect.String:
		ok = raw[0] == '"'
	case reflect.Bool:
		ok = raw[0] == 't' || raw[0] == 'f'
	case reflect.Int, reflect.Int64:
		// encoding/json parses an integer exactly so.
		_, err := strconv.ParseInt(string(raw), 10, 64)
		ok = err == nil
	case reflect.Float64:
		_, err := strconv.ParseFloat(string(raw), 64)
		ok = err == nil
	default:
		ok = json.Unmarshal(raw, reflect.New(t).Interface()) == nil
	}
	if !ok {
		w.invalid(path, t, raw)
		return nil
	}
	return raw
}

// jsonKind names a JSON value's kind as encoding/json's errors do.
func jsonKind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	if len(raw) > 24 {
		return "number"
	}
	return "number " + string(raw)
}

func (w *walker) array(raw []byte, t reflect.Type, path string) []byte {
	if raw[0] != '[' {
		w.invalid(path, t, raw)
		return nil
	}
	if t.Elem() == rawMessageType {
		return raw
	}
	ok := true
	i := skipSpace(raw, 1)
	for n := 0; i < len(raw) && raw[i] != ']'; n++ {
		end := valueEnd(raw, i)
		if w.walk(raw[i:end], t.Elem(), fmt.Sprintf("%s[%d]", path, n)) == nil {
			ok = false
		}
		i = nextItem(raw, end)
	}
	if !ok {
		// Left out whole: without one of its items the array would mean
		// something else (a sequence's days would shift).
		return nil
	}
	return raw
}

// field is one JSON member a struct names.
type field struct {
	name string
	typ  reflect.Type
}

// fieldsOf appends to fields the members t names, and says whether t keeps
// the others in an Extra field.
func fieldsOf(t reflect.Type, fields []field) (_ []field, keepsExtra bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" && f.Name == "Extra":
			keepsExtra = true
		case name != "" && name != "-":
			fields = append(fields, field{name, f.Type})
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			// An embedded struct's fields are the outer one's, as
			// encoding/json decodes them (a multipart campaign part
			// embeds campaign.Submission).
			var extra bool
			fields, extra = fieldsOf(f.Type, fields)
			keepsExtra = keepsExtra || extra
		}
	}
	return fields, keepsExtra
}

// member is one member of a JSON object: its name as written (quoted) and
// its value.
type member struct {
	quoted, value []byte
}

// name returns the member's name unquoted.
func (m member) name() string {
	if bytes.IndexByte(m.quoted, '\\') < 0 {
		return string(m.quoted[1 : len(m.quoted)-1])
	}
	var s string
	_ = json.Unmarshal(m.quoted, &s)
	return s
}

// members appends to out the members of a JSON object, keeping their order
// and repeats, which decide what encoding/json decodes.
func members(raw []byte, out []member) []member {
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] == '"' {
		kEnd := stringEnd(raw, i)
		vStart := skipSpace(raw, skipSpace(raw, kEnd)+1) // past the colon
		vEnd := valueEnd(raw, vStart)
		out = append(out, member{quoted: raw[i:kEnd], value: raw[vStart:vEnd]})
		i = nextItem(raw, vEnd)
	}
	return out
}

func (w *walker) object(raw []byte, t reflect.Type, path string) []byte {
	if raw[0] != '{' {
		w.invalid(path, t, raw)
		return nil
	}
	// Our objects are small: these stay on the stack.
	var msBuf [16]member
	var fieldsBuf [16]field
	ms := members(raw, msBuf[:0])
	fields, keepsExtra := fieldsOf(t, fieldsBuf[:0])
	changed := false
	for i, m := range ms {
		name := m.name()
		f, exact := match(name, fields)
		if f == nil {
			w.unknown(name, path, fields, keepsExtra, ms)
			continue
		}
		if !exact {
			w.warn(join(path, showName(name)), "read as %s; send it as %s", f.name, f.name)
		}
		// ms[i].value becomes the value without its members of the wrong
		// type; nil drops the member.
		ms[i].value = w.walk(m.value, f.typ, join(path, f.name))
		changed = changed || !bytes.Equal(ms[i].value, m.value)
	}
	if !changed {
		return raw
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for _, m := range ms {
		if m.value == nil {
			continue
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(m.quoted)
		buf.WriteByte(':')
		buf.Write(m.value)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// unknown warns of member name, which no field of the object at path
// takes: always when the object drops such members, else (extra context)
// only when it looks like a misspelt field. ms are the object's members.
func (w *walker) unknown(name, path string, fields []field, keepsExtra bool, ms []member) {
	guess := suggest(name, fields)
	for _, m := range ms {
		if guess != "" && strings.EqualFold(m.name(), guess) {
			// The field was sent too: this member is something else.
			guess = ""
		}
	}
	shown := join(path, showName(name))
	switch {
	case guess != "" && keepsExtra:
		w.warn(shown, "unknown field, did you mean %s?", guess)
	case guess != "":
		w.warn(shown, "unknown field ignored, did you mean %s?", guess)
	case !keepsExtra:
		w.warn(shown, "unknown field ignored")
	}
	if key := join(path, guess); guess != "" && w.rep.hints[key] == "" {
		if w.rep.hints == nil {
			w.rep.hints = make(map[string]string)
		}
		w.rep.hints[key] = shown
	}
}

// match finds the field encoding/json decodes member k into: the one named
// k, else one named k but for case (exact is then false).
func match(k string, fields []field) (f *field, exact bool) {
	for i := range fields {
		if fields[i].name == k {
			return &fields[i], true
		}
	}
	for i := range fields {
		if strings.EqualFold(fields[i].name, k) {
			return &fields[i], false
		}
	}
	return nil, false
}

// The scanning below trusts that b is valid JSON (encoding/json checked
// it), and stays within b whatever it holds.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// nextItem returns where the next item of an object or array starts, after
// the value ending at i and its comma; at the closing bracket if none.
func nextItem(b []byte, i int) int {
	i = skipSpace(b, i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	return i
}

// stringEnd returns the index past the string starting at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index past the value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && !bytes.ContainsRune([]byte(",}] \t\n\r"), rune(b[i])) {
		i++
	}
	return i
}
