package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/webhook"
)

// root is the module's root, from this package's folder.
const root = "../../.."

func mustSpec(t *testing.T) *Checker {
	t.Helper()
	c, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// operations lists the spec's operations as "METHOD /path", with whether
// each needs the API key.
func operations(t *testing.T, c *Checker) map[string]bool {
	t.Helper()
	top, _ := c.doc["security"].([]any)
	ops := map[string]bool{}
	for path, item := range obj(c.doc["paths"]) {
		for method, op := range obj(item) {
			if !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, method) {
				continue
			}
			sec, ok := obj(op)["security"].([]any)
			if !ok {
				sec = top
			}
			ops[strings.ToUpper(method)+" "+path] = len(sec) > 0
		}
	}
	return ops
}

// TestRoutesAreTheSpec: the router serves every operation of the spec and
// no other (the Page routes of the docs page aside), each with the key
// the spec says.
func TestRoutesAreTheSpec(t *testing.T) {
	ops := operations(t, mustSpec(t))
	served := map[string]bool{}
	for _, r := range api.Routes() {
		if r.Page {
			continue
		}
		op := r.Method + " " + r.Pattern
		served[op] = true
		authed, ok := ops[op]
		switch {
		case !ok:
			t.Errorf("the router serves %s, which the spec lacks", op)
		case authed != r.Authed:
			t.Errorf("%s: the router says authed=%v, the spec's security says %v", op, r.Authed, authed)
		}
	}
	for op := range ops {
		if !served[op] {
			t.Errorf("the spec has %s, which the router does not serve", op)
		}
	}
}

// localOnly are the routes the AWS deployment leaves out, and why.
var localOnly = map[string]string{
	"GET /healthz": "the local program's health check; on AWS, API Gateway and Lambda report health",
}

// TestInfraServesEveryRoute: the AWS deployment's API Gateway routes
// (infra/stack/api.go, a module of its own, read as source) are the
// router's: every route, with an API key unless it is public in the
// table; only localOnly ones are left out, and infra has none the router
// lacks.
func TestInfraServesEveryRoute(t *testing.T) {
	infra := infraRoutes(t)
	table := map[string]api.Route{}
	for _, r := range api.Routes() {
		table[r.Method+" "+r.Pattern] = r
	}
	for op, public := range infra {
		r, ok := table[op]
		switch {
		case !ok:
			t.Errorf("infra/stack/api.go routes %s, which the router does not serve", op)
		case public == r.Authed:
			t.Errorf("infra/stack/api.go: %s is Public=%v, but the router's Authed=%v", op, public, r.Authed)
		}
	}
	for op, r := range table {
		if _, ok := infra[op]; !ok && !r.Page && localOnly[op] == "" {
			t.Errorf("infra/stack/api.go does not route %s (Public: %v): API Gateway would answer 404", op, !r.Authed)
		}
	}
}

// infraRoutes reads infra/stack/api.go's routes: "METHOD /path" and
// whether it is Public.
func infraRoutes(t *testing.T) map[string]bool {
	t.Helper()
	file := filepath.Join(root, "infra", "stack", "api.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var list *ast.CompositeLit
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "routes" && len(vs.Values) == 1 {
			list, _ = vs.Values[0].(*ast.CompositeLit)
		}
		return list == nil
	})
	if list == nil {
		t.Fatalf("%s: no var routes = []route{...}", file)
	}
	out := map[string]bool{}
	for _, e := range list.Elts {
		lit, ok := e.(*ast.CompositeLit)
		if !ok {
			t.Fatalf("%s: a route that is not a literal", file)
		}
		var path string
		var methods []string
		public := false
		for _, kv := range lit.Elts {
			kv, ok := kv.(*ast.KeyValueExpr)
			if !ok {
				t.Fatalf("%s: a route with an unkeyed field", file)
			}
			switch key := kv.Key.(*ast.Ident).Name; key {
			case "Path":
				path = stringLit(t, kv.Value)
			case "Methods":
				for _, m := range kv.Value.(*ast.CompositeLit).Elts {
					methods = append(methods, stringLit(t, m))
				}
			case "Public":
				public = kv.Value.(*ast.Ident).Name == "true"
			}
		}
		if path == "/" {
			path = "/{$}" // API Gateway's root resource is the router's exact "/"
		}
		for _, m := range methods {
			out[m+" "+path] = public
		}
	}
	return out
}

func stringLit(t *testing.T, e ast.Expr) string {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		t.Fatalf("%T is not a string literal", e)
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// examples are the spec's examples that are copies of testdata files, by
// JSON pointer.
var examples = map[string]string{
	"/paths/~1api~1v1~1generate-email/post/requestBody/content/application~1json/examples/sarah/value": "testdata/requests/sarah.json",
	"/paths/~1api~1v1~1lint/post/requestBody/content/application~1json/examples/sarah/value":           "testdata/requests/lint-sarah.json",
	"/paths/~1api~1v1~1campaigns/post/requestBody/content/text~1csv/examples/salesNavigator/value":     "testdata/csv/salesnav.csv",
}

// TestExamplesAreTestdata: the spec's request examples are the testdata
// files the tests send, so the docs page shows requests that work.
func TestExamplesAreTestdata(t *testing.T) {
	c := mustSpec(t)
	for ptr, file := range examples {
		var v any = c.doc
		for _, part := range strings.Split(ptr, "/")[1:] {
			v = obj(v)[strings.NewReplacer("~1", "/", "~0", "~").Replace(part)]
		}
		if v == nil {
			t.Errorf("the spec has no example at %s", ptr)
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := v.(string); ok {
			if s != string(b) {
				t.Errorf("%s differs from %s", ptr, file)
			}
			continue
		}
		var want any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		got, _ := json.Marshal(v)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(got, wantJSON) {
			t.Errorf("%s differs from %s:\n got %s\nwant %s", ptr, file, got, wantJSON)
		}
	}
}

// enum returns the enum of the spec's schema at the JSON pointer ptr.
func enum(t *testing.T, c *Checker, ptr string) []string {
	t.Helper()
	var v any = c.doc
	for _, part := range strings.Split(ptr, "/")[1:] {
		v = obj(v)[part]
	}
	var out []string
	list, _ := obj(v)["enum"].([]any)
	for _, e := range list {
		out = append(out, e.(string))
	}
	if len(out) == 0 {
		t.Fatalf("no enum at %s", ptr)
	}
	return out
}

// TestErrorCodesAreTheSpec: ErrorCode lists every error code the api
// function, its API Gateway adapter and API Gateway's own answers
// (infra/stack/responses.go) give, and no other.
func TestErrorCodesAreTheSpec(t *testing.T) {
	files := append(goSources(t, "internal/api", "internal/apigw"), filepath.Join(root, "infra", "stack", "responses.go"))
	sameCodes(t, "error code", codes(t, files, "Code", regexp.MustCompile(`"code":"([a-z_]+)"`)),
		enum(t, mustSpec(t), "/components/schemas/ErrorCode"), "the spec's ErrorCode")
}

// TestFindingCodesAreTheSpec: a finding's code in the spec is every code
// internal/lint reports, and no other.
func TestFindingCodesAreTheSpec(t *testing.T) {
	sameCodes(t, "finding code", codes(t, goSources(t, "internal/lint"), "", nil),
		enum(t, mustSpec(t), "/components/schemas/Finding/properties/code"), "the spec's Finding.code")
}

// goSources lists the Go files, tests aside, of the module's folders dirs.
func goSources(t *testing.T, dirs ...string) []string {
	t.Helper()
	var files []string
	for _, dir := range dirs {
		all, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range all {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	return files
}

// sameCodes fails unless given, the codes the code gives (each with where
// it gives it), and spec, the enum that specName holds, are the same set.
func sameCodes(t *testing.T, what string, given map[string]string, spec []string, specName string) {
	t.Helper()
	if len(given) < 10 {
		t.Fatalf("found only %v: the scan is broken", given)
	}
	for code, where := range given {
		if !slices.Contains(spec, code) {
			t.Errorf("%s gives %s %q, which %s lacks", where, what, code, specName)
		}
	}
	for _, code := range spec {
		if given[code] == "" {
			t.Errorf("%s has %q, which nothing gives", specName, code)
		}
	}
}

// codes returns the codes files give, each with a place that gives it:
// with field, the string values of composite literal fields of that
// name ({Code: "x"}) and of inJSON's matches in string literals; without,
// the string constants named Code… (internal/lint's finding codes).
func codes(t *testing.T, files []string, field string, inJSON *regexp.Regexp) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		add := func(code string, pos token.Pos) {
			if _, ok := out[code]; !ok {
				out[code] = fset.Position(pos).String()
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && field != "" && id.Name == field {
					if lit, ok := n.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						add(s, lit.Pos())
					}
				}
			case *ast.BasicLit:
				if inJSON != nil && n.Kind == token.STRING {
					s, _ := strconv.Unquote(n.Value)
					for _, m := range inJSON.FindAllStringSubmatch(s, -1) {
						add(m[1], n.Pos())
					}
				}
			case *ast.ValueSpec:
				if field == "" && len(n.Names) == len(n.Values) {
					for i, name := range n.Names {
						if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.HasPrefix(name.Name, "Code") {
							s, _ := strconv.Unquote(lit.Value)
							add(s, lit.Pos())
						}
					}
				}
			}
			return true
		})
	}
	return out
}

// TestWebhookIsTheSpec: the body of a real webhook call is the spec's
// CampaignFinished.
func TestWebhookIsTheSpec(t *testing.T) {
	got := make(chan []byte, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	t.Cleanup(hook.Close)
	c := &campaign.Campaign{ID: "cmp_1", Name: "Q4 outbound", Status: campaign.StatusCompletedWithErrors, Total: 3,
		Succeeded: 2, Failed: 1, NeedsReview: 1, WebhookURL: hook.URL, CompletedAt: time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC),
		Usage: email.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, BatchPromptTokens: 10, BatchCompletionTokens: 5},
		Mode:  campaign.ModeBatch, Warnings: []string{"a warning"}}
	if err := webhook.New(webhook.Options{AllowPrivate: true}).Notify(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if p := mustSpec(t).CheckSchema("CampaignFinished", <-got); p != "" {
		t.Error(p)
	}
}

// TestReadmeNamesEveryErrorCode: the README's API section, which people
// read before the spec, names every error code the spec lists.
func TestReadmeNamesEveryErrorCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## API\n")
	if !ok {
		t.Fatal("README.md has no ## API section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, code := range enum(t, mustSpec(t), "/components/schemas/ErrorCode") {
		if !strings.Contains(section, "`"+code+"`") {
			t.Errorf("README.md's API section does not name error code `%s`", code)
		}
	}
}
