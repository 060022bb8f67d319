package email

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The one-pass reader. DecodeJSON's general path reads a body four times
// over: encoding/json decodes it, decoding Prospect and Company twice more
// through their UnmarshalJSON (a map for Extra, then the fields), and the
// walk goes through it once again for the report. Every generate-email call
// reads a Request, so a Request has a path of its own: the body is checked
// once (validJSON), then decoded member by member while the walk's
// warnings are recorded in the walk's order, with the walk's own code.
//
// It takes only what it decodes exactly as the general path would: a body
// with a member of the wrong type, a repeated member, a member name that is
// escaped or not ASCII (encoding/json folds case by Unicode rules), or an
// object of more than maxOnePassMembers members goes to the general path
// instead, which then names the problem as it always has. FuzzReadRequest
// holds the two paths to the same value and the same report.

// maxOnePassMembers bounds the members of one object the one-pass reader
// takes: the repeat check compares each name with those before it.
const maxOnePassMembers = 64

// opKind is how the one-pass reader sets a field.
type opKind uint8

const (
	opString opKind = iota + 1
	opInt
	opIntPtr
	opFloatPtr
	opIntSlice
	opObject
	opObjectPtr
)

// opField is a member a struct names.
type opField struct {
	name  string
	index int
	kind  opKind
	// sub is the struct an opObject or opObjectPtr field holds.
	sub  *opPlan
	elem reflect.Type
}

// opPlan is a struct type as the one-pass reader decodes it.
type opPlan struct {
	fields []opField
	// names are the fields as the walk lists them, for unknown's guesses.
	names []field
	// extra is the index of the Extra field that keeps the members no
	// field names (Prospect's and Company's UnmarshalJSON), or -1.
	extra int
}

// requestPlan is Request as the one-pass reader decodes it; built once.
var requestPlan = opPlanOf(reflect.TypeFor[Request]())

// opPlanOf builds the plan of struct type t. It panics on a field the
// reader does not know how to decode as encoding/json does: a new field
// of Request must be given a kind here, and a test that loads the package
// says so.
func opPlanOf(t reflect.Type) *opPlan {
	var (
		intType   = reflect.TypeFor[int]()
		floatType = reflect.TypeFor[float64]()
		extraType = reflect.TypeFor[map[string]json.RawMessage]()
	)
	s := &opPlan{extra: -1}
	var keepsExtra bool
	s.names, keepsExtra = fieldsOf(t, nil)
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" && sf.Name == "Extra" && sf.Type == extraType {
			s.extra = i
			continue
		}
		if sf.Tag.Get("json") == "-" && sf.Name != "Extra" {
			continue // encoding/json never decodes it (Request.Rewrite)
		}
		if name == "" || name == "-" || (opts != "" && opts != "omitempty") || !sf.IsExported() {
			panic(fmt.Sprintf("email: the one-pass reader cannot decode %s.%s (tag %q)", t, sf.Name, sf.Tag.Get("json")))
		}
		f := opField{name: name, index: i}
		switch ft := sf.Type; {
		case ft.Kind() == reflect.String:
			f.kind = opString
		case ft == intType:
			f.kind = opInt
		case ft == reflect.PointerTo(intType):
			f.kind = opIntPtr
		case ft == reflect.PointerTo(floatType):
			f.kind = opFloatPtr
		case ft == reflect.SliceOf(intType):
			f.kind = opIntSlice
		case ft.Kind() == reflect.Struct:
			f.kind, f.sub = opObject, opPlanOf(ft)
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			f.kind, f.sub, f.elem = opObjectPtr, opPlanOf(ft.Elem()), ft.Elem()
		default:
			panic(fmt.Sprintf("email: the one-pass reader cannot decode %s.%s (%s)", t, sf.Name, ft))
		}
		s.fields = append(s.fields, f)
	}
	// encoding/json calls an UnmarshalJSON; the reader knows only the one
	// that keeps the other members in Extra.
	custom := reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())
	if keepsExtra != (s.extra >= 0) || custom != (s.extra >= 0) {
		panic(fmt.Sprintf("email: the one-pass reader cannot decode %s: an Extra field goes with Prospect's UnmarshalJSON", t))
	}
	return s
}

// match finds the field encoding/json decodes member k into: the one named
// k, else one named k but for case. k is ASCII, so ASCII case folding is
// encoding/json's.
func (s *opPlan) match(k string) (f *opField, exact bool) {
	for i := range s.fields {
		if s.fields[i].name == k {
			return &s.fields[i], true
		}
	}
	for i := range s.fields {
		if strings.EqualFold(s.fields[i].name, k) {
			return &s.fields[i], false
		}
	}
	return nil, false
}

// span is one member of an object: b[k0:k1] its quoted name, b[v0:v1] its
// value.
type span struct{ k0, k1, v0, v1 int }

// onePass is one body being read.
type onePass struct {
	b []byte
	// s is b as a string: every unescaped string value is a slice of it,
	// so the whole request costs one string allocation.
	s string
	w walker
}

// readRequest decodes b, a body without surrounding space, into req, which
// must be zero, and returns what the general path would report; false
// leaves req in an unspecified state and b to the general path.
func readRequest(b []byte, req *Request) (*Report, bool) {
	if len(b) == 0 || b[0] != '{' || !validJSON(b) {
		return nil, false
	}
	d := onePass{b: b, s: string(b), w: walker{rep: &Report{}}}
	if !d.object(0, reflect.ValueOf(req).Elem(), requestPlan, "") {
		return nil, false
	}
	d.w.flush("")
	return d.w.rep, true
}

// object decodes the object at b[start] into v, whose plan is plan, its
// members named under path.
func (d *onePass) object(start int, v reflect.Value, plan *opPlan, path string) bool {
	var spansBuf [16]span
	var namesBuf [16]string
	ms := d.members(start, spansBuf[:0])
	if len(ms) > maxOnePassMembers {
		return false
	}
	names := namesBuf[:0]
	for _, m := range ms {
		for _, c := range d.b[m.k0+1 : m.k1-1] {
			if c == '\\' || c >= utf8.RuneSelf {
				return false
			}
		}
		name := d.s[m.k0+1 : m.k1-1]
		for _, seen := range names {
			// A repeat (or a case variant of a member before it) leaves
			// encoding/json's last-one-wins and merging to the general
			// path.
			if strings.EqualFold(seen, name) {
				return false
			}
		}
		names = append(names, name)
	}
	var (
		extra map[string]json.RawMessage
		all   []member // for unknown, made when there is one
	)
	for i, m := range ms {
		name := names[i]
		f, exact := plan.match(name)
		if f == nil {
			if all == nil {
				all = make([]member, len(ms))
				for j, m := range ms {
					all[j] = member{quoted: d.b[m.k0:m.k1], value: d.b[m.v0:m.v1]}
				}
			}
			d.w.unknown(name, path, plan.names, plan.extra >= 0, all)
			if plan.extra >= 0 {
				if extra == nil {
					extra = make(map[string]json.RawMessage)
				}
				extra[name] = append(json.RawMessage(nil), d.b[m.v0:m.v1]...)
			}
			continue
		}
		if !exact {
			d.w.warn(join(path, showName(name)), "read as %s; send it as %s", f.name, f.name)
		}
		if !d.value(m.v0, m.v1, v.Field(f.index), f, path) {
			return false
		}
	}
	if extra != nil {
		v.Field(plan.extra).Set(reflect.ValueOf(extra))
	}
	return true
}

// value decodes b[v0:v1] into fv, field f of the struct at path.
func (d *onePass) value(v0, v1 int, fv reflect.Value, f *opField, path string) bool {
	c := d.b[v0]
	if c == 'n' {
		// null sets a pointer or a slice to nil and leaves the rest as it
		// was: zero, as the struct is new and no member repeats. Into
		// Prospect it makes UnmarshalJSON set Extra to nil: the same.
		if f.kind == opIntPtr || f.kind == opFloatPtr || f.kind == opIntSlice || f.kind == opObjectPtr {
			fv.SetZero()
		}
		return true
	}
	switch f.kind {
	case opString:
		if c != '"' {
			return false
		}
		fv.SetString(d.str(v0, v1))
	case opInt:
		// encoding/json takes an integer as strconv does; anything else
		// (1.5, "5", true) is of the wrong type.
		n, err := strconv.ParseInt(d.s[v0:v1], 10, 64)
		if err != nil {
			return false
		}
		fv.SetInt(n)
	case opIntPtr:
		n, err := strconv.ParseInt(d.s[v0:v1], 10, 64)
		if err != nil {
			return false
		}
		p := int(n)
		fv.Set(reflect.ValueOf(&p))
	case opFloatPtr:
		if c != '-' && (c < '0' || c > '9') {
			return false
		}
		x, err := strconv.ParseFloat(d.s[v0:v1], 64)
		if err != nil {
			return false
		}
		fv.Set(reflect.ValueOf(&x))
	case opIntSlice:
		if c != '[' {
			return false
		}
		out := []int{}
		for i := skipSpace(d.b, v0+1); d.b[i] != ']'; {
			end := valueEnd(d.b, i)
			if c := d.b[i]; c != '-' && (c < '0' || c > '9') {
				return false
			}
			n, err := strconv.ParseInt(d.s[i:end], 10, 64)
			if err != nil {
				return false
			}
			out = append(out, int(n))
			i = nextItem(d.b, end)
		}
		fv.Set(reflect.ValueOf(out))
	case opObject:
		return c == '{' && d.object(v0, fv, f.sub, join(path, f.name))
	case opObjectPtr:
		if c != '{' {
			return false
		}
		p := reflect.New(f.elem)
		if !d.object(v0, p.Elem(), f.sub, join(path, f.name)) {
			return false
		}
		fv.Set(p)
	}
	return true
}

// str returns the string b[v0:v1] holds: a slice of d.s when it needs no
// unescaping and is valid UTF-8, else as encoding/json unquotes it (with
// U+FFFD for what is not UTF-8).
func (d *onePass) str(v0, v1 int) string {
	inner := d.b[v0+1 : v1-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return d.s[v0+1 : v1-1]
	}
	// The body is valid JSON: a string unquotes.
	s, _ := unquote(d.b[v0:v1])
	return s
}

// members appends the members of the object at b[start] to out.
func (d *onePass) members(start int, out []span) []span {
	b := d.b
	i := skipSpace(b, start+1)
	for i < len(b) && b[i] == '"' {
		kEnd := stringEnd(b, i)
		vStart := skipSpace(b, skipSpace(b, kEnd)+1) // past the colon
		vEnd := valueEnd(b, vStart)
		out = append(out, span{k0: i, k1: kEnd, v0: vStart, v1: vEnd})
		i = nextItem(b, vEnd)
	}
	return out
}
