package config_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/openai"
)

// infraConfig is the Pulumi program's config. infra is a module of its own
// that this one does not import, so the test reads its source.
var infraConfig = filepath.Join("..", "..", "infra", "stack", "config.go")

// TestInfraDefaults checks that each default infra's Defaults states for a
// setting the functions also read equals the functions' own, declared in
// this module. infra leaves most of them unset, so that the functions'
// defaults apply; it states the redrive count, which SQS needs.
func TestInfraDefaults(t *testing.T) {
	homes := map[string]any{ // infra's stack.Config field: the service's default
		"OpenAIModel":          openai.DefaultModel,
		"WorkerConcurrency":    int64(campaign.DefaultConcurrency),
		"MaxReceiveCount":      int64(campaign.DefaultMaxReceive),
		"ItemTTLDays":          int64(campaign.DefaultTTL / (24 * time.Hour)),
		"MaxCampaignProspects": int64(campaign.DefaultMaxProspects),
	}
	stated := infraDefaults(t)
	if _, ok := stated["MaxReceiveCount"]; !ok {
		t.Errorf("%s: Defaults states no MaxReceiveCount, which the queue's redrive policy needs", infraConfig)
	}
	for field, home := range homes {
		expr, ok := stated[field]
		if !ok {
			continue
		}
		v, ok := literal(expr)
		if !ok {
			t.Errorf("%s: Defaults' %s is not a literal; state it as one, or leave it unset", infraConfig, field)
			continue
		}
		if v != home {
			t.Errorf("%s: Defaults' %s is %v, the service's default %v", infraConfig, field, v, home)
		}
	}
}

// infraDefaults returns the fields that infra's Defaults sets, with their
// values.
func infraDefaults(t *testing.T) map[string]ast.Expr {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), infraConfig, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lit *ast.CompositeLit
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "Defaults" || fn.Recv != nil {
			continue
		}
		for _, s := range fn.Body.List {
			if r, ok := s.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
				lit, _ = r.Results[0].(*ast.CompositeLit)
			}
		}
	}
	if lit == nil {
		t.Fatalf("%s: no func Defaults() that returns a Config literal", infraConfig)
	}
	fields := map[string]ast.Expr{}
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			t.Fatalf("%s: Defaults' Config literal has an unkeyed field", infraConfig)
		}
		if k, ok := kv.Key.(*ast.Ident); ok {
			fields[k.Name] = kv.Value
		}
	}
	return fields
}

// literal returns an int or string literal's value: int64 or string.
func literal(e ast.Expr) (any, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok {
		return nil, false
	}
	switch lit.Kind {
	case token.INT:
		n, err := strconv.ParseInt(lit.Value, 0, 64)
		return n, err == nil
	case token.STRING:
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	return nil, false
}
