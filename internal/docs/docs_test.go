package docs_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/apigw"
	"github.com/ingren/ingren/internal/apikey"
	"github.com/ingren/ingren/internal/docs"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/prompts"
)

// newServer is the API as the programs serve it, with the offline writer.
func newServer(t *testing.T) http.Handler {
	t.Helper()
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewServer(api.Config{}, api.KeyAuth{Keys: apikey.New([]string{apiKey})},
		&email.Composer{Writer: offline.New(), Prompts: set}, nil, slog.New(slog.DiscardHandler))
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// pageFiles are the files the page loads, as it names them: docs/x?v=….
func pageFiles(t *testing.T, page string) []string {
	t.Helper()
	var refs []string
	for _, m := range regexp.MustCompile(`(?:src|href)="(docs/[^"]+)"`).FindAllStringSubmatch(page, -1) {
		refs = append(refs, m[1])
	}
	if len(refs) < 3 {
		t.Fatalf("the page names %q; want Swagger UI's script and style and ours", refs)
	}
	return refs
}

func TestPage(t *testing.T) {
	h := newServer(t)
	res, page := get(t, h, "/docs")

	t.Run("OKWithoutKey", func(t *testing.T) {
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET /docs: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), page)
		}
		for k, want := range map[string]string{
			"Content-Security-Policy": docs.CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if strings.Contains(page, "<script>") || strings.Contains(page, "http") {
			t.Errorf("the page has an inline script or an absolute URL:\n%s", page)
		}
	})
	t.Run("OKEveryFileItNamesCachedForGood", func(t *testing.T) {
		for _, ref := range pageFiles(t, page) {
			res, body := get(t, h, "/"+ref)
			if res.StatusCode != 200 || body == "" {
				t.Errorf("GET /%s: %d, %d bytes", ref, res.StatusCode, len(body))
			}
			if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("GET /%s: Cache-Control %q, want immutable", ref, got)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET /%s: X-Content-Type-Options %q", ref, got)
			}
		}
	})
	t.Run("OKContentTypes", func(t *testing.T) {
		for path, want := range map[string]string{
			"/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
			"/docs/docs.js":              "text/javascript; charset=utf-8",
			"/docs/swagger-ui.css":       "text/css; charset=utf-8",
			"/docs/LICENSE":              "text/plain; charset=utf-8",
			"/docs/NOTICE":               "text/plain; charset=utf-8",
		} {
			res, _ := get(t, h, path)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != want {
				t.Errorf("GET %s: %d %q, want 200 %q", path, res.StatusCode, res.Header.Get("Content-Type"), want)
			}
		}
	})
	t.Run("OKOtherVersionRevalidated", func(t *testing.T) {
		res, _ := get(t, h, "/docs/swagger-ui.css?v=old")
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%d Cache-Control %q, want 200 no-cache", res.StatusCode, res.Header.Get("Cache-Control"))
		}
	})
	t.Run("OKNotModified", func(t *testing.T) {
		first, _ := get(t, h, "/docs/swagger-ui.css")
		etag := first.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		again, body := get(t, h, "/docs/swagger-ui.css", "If-None-Match", etag)
		if again.StatusCode != http.StatusNotModified || body != "" {
			t.Fatalf("%d, %d bytes; want 304 with none", again.StatusCode, len(body))
		}
	})
	t.Run("RedirectTrailingSlash", func(t *testing.T) {
		// Relative, so that it keeps API Gateway's stage: /dev/docs/ → /dev/docs.
		res, _ := get(t, h, "/docs/")
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "../docs" {
			t.Fatalf("%d Location %q, want 301 ../docs", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("ErrNoSuchFile", func(t *testing.T) {
		for _, path := range []string{"/docs/nope.js", "/docs/index.html", "/docs/..%2Fdocs.go", "/docs/ui", "/docs/swagger-ui.css.map"} {
			if res, body := get(t, h, path); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d %.100s, want 404", path, res.StatusCode, body)
			}
		}
	})
}

// TestPageThroughLambda serves the page and its files through the API
// Lambda's adapter: each comes back as text, which API Gateway hands to the
// browser as it is. (An answer in base64 would reach the browser
// undecoded: API Gateway decodes only binaryMediaTypes, and those are the
// CSV uploads.)
func TestPageThroughLambda(t *testing.T) {
	h := newServer(t)
	lambda := apigw.Handler(h)
	_, page := get(t, h, "/docs")
	for _, path := range append([]string{"docs"}, pageFiles(t, page)...) {
		_, want := get(t, h, "/"+path)
		res, err := lambda(context.Background(), testprog.APIEvent(t, "GET", "/"+path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || res.IsBase64Encoded || res.Body != want {
			t.Errorf("GET /%s through the Lambda: %d, base64 %v, body of %d bytes, want 200 text of %d",
				path, res.StatusCode, res.IsBase64Encoded, len(res.Body), len(want))
		}
	}
}

// TestVendoredVersionIsNamed holds the package's doc comment to the
// swagger-ui-dist that make docs-assets vendored.
func TestVendoredVersionIsNamed(t *testing.T) {
	b, err := os.ReadFile("swagger-ui/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("docs.go")
	if err != nil {
		t.Fatal(err)
	}
	if want := pkg.Name + " " + pkg.Version; pkg.Name != "swagger-ui-dist" || !strings.Contains(string(src), want) {
		t.Fatalf("docs.go's doc comment does not name %s, the vendored package", want)
	}
}
