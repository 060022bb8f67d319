package api

import (
	"net/http"

	"github.com/ingren/ingren/internal/fault"
)

// typedQuery is the query parameter name of r, and whether it was given.
// A typed parameter (a boolean, a number, one of a list) given with no
// value, as in ?skip_invalid or ?limit=, is refused with must: the empty
// string is none of its values, and reading it as "left out" would hide
// a client's mistake.
func typedQuery(r *http.Request, name, must string) (string, bool, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return "", false, nil
	}
	v := q.Get(name)
	if v == "" {
		return "", true, fault.Fields{{Field: name, Message: must}}.Err()
	}
	return v, true, nil
}
