// Package contract holds the API to its contract, the OpenAPI 3.1 spec in
// internal/api/openapi.json, in tests: Handler wraps a server's handler so
// that every request the tests send and every answer they get is checked
// against the spec (with pb33f/libopenapi-validator), and any mismatch
// fails the test with the method, path, status and what the validator said.
//
// The rules, for a request that the spec has an operation for:
//
//   - The answer always matches the spec: a status the operation lists, a
//     media type it lists, a body that its schema takes with no member it
//     does not name, and the headers it describes.
//   - A request the spec refuses must have been refused: answered 4xx. The
//     tests send broken requests on purpose (bad JSON, wrong types, bad
//     CSV, bodies over the limit), so a refused request is no mismatch in
//     itself; but a 2xx (or 5xx) answer to one means the spec is stricter
//     than the server, or the server takes what it should not.
//   - A request the spec takes must not be refused for a reason the spec
//     can state: a 400 malformed_json, or a 422 whose field the spec
//     declares, refused for its type, presence, length, range or allowed
//     values. The spec lacks that constraint or states another one. Other
//     422s (a sequence's days out of order, a model not allowed, a private
//     webhook address, fields the spec leaves open) are the server's to
//     find.
//
// A JSON request is judged as the server reads it, which is encoding/json's
// reading: a member whose name matches a field's but for case is that
// field (the answer warns: "PROSPECT: read as prospect"), null is a member
// left out, and of two members for one field the later counts. The spec
// names each field one way and gives each one type.
//
// A request is checked as the server read it: a body the handler did not
// read whole (401 before reading, 413 at the limit) is checked as far as
// it was read, which is enough to be refused. A request of no operation
// (an unknown path, a method the path does not take) must be answered 404
// or 405 with the error envelope; CORS preflights 204; the table's Page
// routes (the docs page) are not checked. An answer the client never read
// (499, the client left) is not checked.
//
// Only tests import this package (testprog's TestOnlyTestsImportIt).
package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/ingren/ingren/internal/api"
)

// Reporter is where mismatches go: a *testing.T.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// Checker holds requests and answers to a spec. Safe for concurrent use.
type Checker struct {
	requests, responses validator.Validator
	// doc is the spec as plain JSON, for the rules on refusals.
	doc map[string]any
	// ops routes a request to its operation as the API's router would
	// (the spec's path templates are ServeMux patterns); pages are the
	// table's Page routes, which the spec leaves out.
	ops, pages *http.ServeMux
	// components are the spec's named schemas: ErrorDetail checks the
	// answers of no operation.
	components map[string]*base.Schema
	schemas    schema_validation.SchemaValidator
	// raw is the spec as given: the answer to GET /openapi.json must be
	// it, byte for byte.
	raw []byte
}

// operation is a spec operation, as ops routes to it.
type operation struct {
	path, method string // "/api/v1/campaigns/{id}", "get"
}

func (operation) ServeHTTP(http.ResponseWriter, *http.Request) {}

var spec = sync.OnceValues(func() (*Checker, error) { return New(api.Spec()) })

// Spec returns the Checker of the API's own spec, built once per test
// binary: parsing it takes a while, and it never changes.
func Spec() (*Checker, error) { return spec() }

// New parses spec, an OpenAPI 3.1 document, into a Checker.
func New(spec []byte) (*Checker, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("parse the spec: %w", err)
	}
	// Requests: a CSV body is any text (the server reads UTF-16 and
	// Windows-1252 files, and ; or tab between cells), and a multipart
	// body's campaign part is JSON, as its encoding says.
	requests, errs := validator.NewValidator(doc,
		config.WithFormatAssertions(),
		config.WithStandardBodyDecoders(),
		config.WithBodyDecoder("text/csv", content.TextDecoder()),
		config.WithBodyDecoder("application/csv", content.TextDecoder()),
		config.WithBodyDecoder("multipart/form-data", multipartDecoder()),
		config.WithRejectUnsupportedBodyContent())
	if len(errs) > 0 {
		return nil, fmt.Errorf("build the request validator: %v", errs)
	}
	// Answers: strict, so that a member or header the spec does not
	// name is a mismatch; a CSV must parse as CSV. The CORS headers are
	// the same on every answer and described in the README, not the spec.
	responses, errs := validator.NewValidator(doc,
		config.WithFormatAssertions(),
		config.WithStandardBodyDecoders(),
		config.WithRejectUnsupportedBodyContent(),
		config.WithStrictMode(),
		config.WithStrictIgnoredHeadersExtra("access-control-allow-origin", "access-control-expose-headers"))
	if len(errs) > 0 {
		return nil, fmt.Errorf("build the answer validator: %v", errs)
	}
	if ok, verrs := requests.ValidateDocument(); !ok {
		return nil, fmt.Errorf("the spec is not a valid OpenAPI document: %s", describe(verrs))
	}
	c := &Checker{raw: spec, requests: requests, responses: responses, ops: http.NewServeMux(), pages: http.NewServeMux(),
		schemas: schema_validation.NewSchemaValidator(config.WithFormatAssertions())}
	if err := json.Unmarshal(spec, &c.doc); err != nil {
		return nil, err
	}
	for path, item := range obj(c.doc["paths"]) {
		for method := range obj(item) {
			switch method {
			case "get", "post", "put", "patch", "delete":
				c.ops.Handle(strings.ToUpper(method)+" "+path, operation{path: path, method: method})
			}
		}
	}
	for _, r := range api.Routes() {
		if r.Page {
			c.pages.Handle(r.Method+" "+r.Pattern, http.NotFoundHandler())
		}
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, err
	}
	c.components = map[string]*base.Schema{}
	for name, proxy := range model.Model.Components.Schemas.FromOldest() {
		c.components[name] = proxy.Schema()
	}
	if c.components["ErrorDetail"] == nil {
		return nil, fmt.Errorf("the spec has no components/schemas/ErrorDetail")
	}
	return c, nil
}

// Handler returns h with every request and answer checked against the
// API's spec; mismatches fail tb.
func Handler(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	c, err := Spec()
	if err != nil {
		tb.Fatal(err)
	}
	return c.Handler(tb, h)
}

// Handler returns h with every request and answer checked against c;
// mismatches go to rep. The answer reaches the client as h writes it,
// streamed or not: the check runs on a copy, once h has returned.
func (c *Checker) Handler(rep Reporter, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := &body{r: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = in
		}
		rec := &recorder{ResponseWriter: w}
		sent := r.Clone(r.Context()) // as it came, before h changes anything
		h.ServeHTTP(rec, r)
		res := rec.response(sent)
		for _, p := range c.Check(sent, in.bytes(), res) {
			rep.Helper()
			rep.Errorf("contract: %s %s answered %d: %s", sent.Method, sent.URL.RequestURI(), res.StatusCode, p)
		}
	})
}

// Check returns what is wrong with req, whose body was reqBody, and its
// answer res, by the package's rules; nothing when they keep the contract.
func (c *Checker) Check(req *http.Request, reqBody []byte, res *http.Response) []string {
	resBody := readAll(res)
	status := res.StatusCode
	if status == api.StatusClientClosedRequest {
		return nil
	}
	if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
		if status != http.StatusNoContent {
			return []string{"a CORS preflight must be answered 204"}
		}
		return nil
	}
	if _, pattern := c.pages.Handler(req); pattern != "" {
		return nil
	}
	h, pattern := c.ops.Handler(req)
	if pattern == "" {
		return c.checkNoOperation(status, resBody)
	}
	op := h.(operation)
	if op.path == "/openapi.json" && status == http.StatusOK {
		// The document itself: strict mode would call every member its
		// loose schema leaves undeclared a mismatch, and being this very
		// spec is the stronger check.
		if !bytes.Equal(resBody, c.raw) {
			return []string{"GET /openapi.json answered something other than the spec"}
		}
		return nil
	}

	var problems []string
	judged := reqBody
	if read := c.asRead(op, req, reqBody); read != nil {
		judged = read
	}
	reqOK, reqErrs := c.requests.ValidateHttpRequestSync(withBody(req, judged))
	res.Body = readerOf(resBody)
	if ok, errs := c.responses.ValidateHttpResponse(withBody(req, reqBody), res); !ok {
		problems = append(problems, "the answer breaks the spec: "+describe(errs))
	}
	switch {
	case !reqOK && (status < 400 || status >= 500):
		problems = append(problems, fmt.Sprintf("the spec refuses this request (%s), yet it was answered %d: the spec or the server is wrong",
			describe(reqErrs), status))
	case reqOK && (status == http.StatusBadRequest || status == http.StatusUnprocessableEntity):
		problems = append(problems, c.checkRefusal(op, req, resBody)...)
	}
	return problems
}

// checkNoOperation checks the answer to a request the spec has no
// operation for: the router's 404 or 405, in the error envelope.
func (c *Checker) checkNoOperation(status int, body []byte) []string {
	want := map[int]string{http.StatusNotFound: "not_found", http.StatusMethodNotAllowed: "method_not_allowed"}[status]
	if want == "" {
		return []string{"no operation of the spec serves this request, yet it was not answered 404 or 405 " +
			"(a route the router serves and the spec lacks?)"}
	}
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		return []string{fmt.Sprintf("the answer is not the error envelope: %.200s", body)}
	}
	if p := c.CheckSchema("ErrorDetail", env.Error); p != "" {
		return []string{p}
	}
	var detail struct{ Code string }
	_ = json.Unmarshal(env.Error, &detail)
	if detail.Code != want {
		return []string{fmt.Sprintf("code %q, want %q", detail.Code, want)}
	}
	return nil
}

// CheckSchema returns what is wrong with the JSON value b as the spec's
// components/schemas/name, or "".
func (c *Checker) CheckSchema(name string, b []byte) string {
	schema := c.components[name]
	if schema == nil {
		return "the spec has no schema " + name
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(schema, b); !ok {
		return fmt.Sprintf("%.200s breaks %s: %s", b, name, describe(errs))
	}
	return ""
}

// describe joins a validator's errors into one line each.
func describe(errs []*verrors.ValidationError) string {
	var lines []string
	for _, e := range errs {
		line := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			line += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			where := f.FieldPath
			if where == "" {
				where = f.KeywordLocation
			}
			line += fmt.Sprintf(" [%s: %s]", where, f.Reason)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "; ")
}

// withBody returns a copy of req reading body.
func withBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = readerOf(body)
	r.ContentLength = int64(len(body))
	if r.URL.Host == "" { // a server-side request: no scheme and host
		u := *r.URL
		u.Scheme, u.Host = "http", req.Host
		r.URL = &u
	}
	return r
}

func readerOf(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func readAll(res *http.Response) []byte {
	if res.Body == nil {
		return nil
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	_ = res.Body.Close()
	return b.Bytes()
}

// obj is v as a JSON object, or nil.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
