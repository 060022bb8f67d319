package email

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/ingren/ingren/internal/fault"
)

// Reading a body. encoding/json names only the first member of the wrong
// type, and a custom UnmarshalJSON (Prospect's, Company's) stops decoding
// there, so the rest of the body goes unchecked; it also takes a member
// that differs from a field's name only by case, and drops (or, in
// prospect and company, keeps as extra context) every other member without
// a word. DecodeJSON walks the body beside the type it decodes into, so it
// can name every member of the wrong type, still decode the rest, and warn
// of members the schema does not name.

// Report is what DecodeJSON found besides the value.
type Report struct {
	// Invalid names each member of the wrong type. Such a member is left
	// out of the value.
	Invalid []fault.FieldError
	// Warnings name members the schema does not name, with the field a
	// near miss was probably meant to be ("did you mean first_name?"), and
	// members taken as a field that differs only by case.
	Warnings []fault.FieldError
	// hints maps a field's path to the near miss that was sent instead of
	// it, for the message when that field is missing.
	hints map[string]string
}

// Messages returns the warnings as "field: message" lines.
func (r *Report) Messages() []string {
	var out []string
	for _, w := range r.Warnings {
		out = append(out, w.Field+": "+w.Message)
	}
	return out
}

// Merge returns every problem: the members of the wrong type, then v's
// problems, leaving out those about a field of the wrong type or inside one
// (it was not decoded, so v may call it missing), and naming in a missing
// field's message the near miss that was sent instead.
func (r *Report) Merge(v fault.Fields) fault.Fields {
	out := append(fault.Fields(nil), r.Invalid...)
	for _, f := range v {
		if r.covers(f.Field) {
			continue
		}
		if sent, ok := r.hints[f.Field]; ok {
			f.Message += fmt.Sprintf(" (%s was sent: did you mean %s?)", sent, lastName(f.Field))
		}
		out = append(out, f)
	}
	return out
}

// covers reports whether field is, or is inside, a member of the wrong type.
func (r *Report) covers(field string) bool {
	for _, bad := range r.Invalid {
		if field == bad.Field || (strings.HasPrefix(field, bad.Field) &&
			(field[len(bad.Field)] == '.' || field[len(bad.Field)] == '[')) {
			return true
		}
	}
	return false
}

func lastName(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// DecodeJSON decodes the JSON value b into v, a pointer to a struct of this
// package's types or one built from them (a campaign entry), with every
// member named under prefix ("prospects[3]"; "" for a whole body). A member
// of the wrong type is named in the Report and left out, and the rest is
// still decoded, so that validation can name every other problem too.
// Members v does not name become warnings: silently in a struct with an
// Extra field (prospect, company), unless they look like a misspelt field.
//
// With prefix "", b is a request body: anything but a JSON object is a
// *SyntaxError. Otherwise a value that is not an object is a member of the
// wrong type named prefix.
func DecodeJSON(b []byte, v any, prefix string) (*Report, error) {
	b = bytes.TrimSpace(b)
	if req, ok := v.(*Request); ok && prefix == "" && reflect.ValueOf(req).Elem().IsZero() {
		if rep, ok := readRequest(b, req); ok {
			return rep, nil
		}
		// The general path starts from what req held: nothing.
		*req = Request{}
	}
	return decodeGeneral(b, v, prefix)
}

// decodeGeneral is DecodeJSON for any v, b trimmed: encoding/json decodes
// b, then the walk goes through it beside v's type for the report.
func decodeGeneral(b []byte, v any, prefix string) (*Report, error) {
	rep := &Report{}
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &te) {
		return rep, &SyntaxError{Err: err}
	}
	if prefix == "" && (len(b) == 0 || b[0] != '{') {
		return rep, &SyntaxError{Err: fmt.Errorf("body must be a JSON object")}
	}
	w := walker{rep: rep}
	clean := w.walk(b, reflect.TypeOf(v).Elem(), prefix)
	w.flush(prefix)
	if err == nil {
		return rep, nil
	}
	// Decode again without the members of the wrong type: the rest
	// decodes whole, for validation to check.
	reflect.ValueOf(v).Elem().SetZero()
	err = nil
	if clean != nil {
		err = json.Unmarshal(clean, v)
	}
	if err != nil || len(rep.Invalid) == 0 {
		// Not expected: the walk missed what encoding/json refused. Name
		// it as encoding/json does.
		if err == nil {
			err = te
		}
		rep.Invalid = append(rep.Invalid, typeField(err, prefix))
	}
	return rep, nil
}

// typeField names the field of a json type error under prefix.
func typeField(err error, prefix string) fault.FieldError {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return fault.FieldError{Field: orRoot(prefix), Message: "is not valid: " + err.Error()}
	}
	return fault.FieldError{Field: orRoot(join(prefix, te.Field)), Message: fmt.Sprintf("must be %s, not %s", kindName(te.Type), te.Value)}
}

func orRoot(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

func join(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	}
	return prefix + "." + name
}
