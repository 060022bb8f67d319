package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/console"
)

func serve(t *testing.T, path string) *http.Response {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", console.Page)
	mux.HandleFunc("GET /console/{file}", console.File)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

// TestPageAndFilesCarryThePolicy: the page and every file it names are
// served, each with the strict policy, and a file named with its version
// may be cached for good.
func TestPageAndFilesCarryThePolicy(t *testing.T) {
	res := serve(t, "/")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	checkHeaders(t, "/", res.Header)
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	refs := regexp.MustCompile(`(?:src|href)="(console/[^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(refs) < 2 {
		t.Fatalf("the page names %d files, want its script and stylesheet:\n%s", len(refs), html)
	}
	for _, r := range refs {
		res := serve(t, "/"+strings.ReplaceAll(r[1], "&amp;", "&"))
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", r[1], res.StatusCode)
			continue
		}
		checkHeaders(t, r[1], res.Header)
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q, want immutable for a versioned URL", r[1], got)
		}
	}
	if res := serve(t, "/console/dom.js"); res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("a module imported by plain name: Cache-Control %q, want no-cache", res.Header.Get("Cache-Control"))
	}
	if res := serve(t, "/console/nope.js"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /console/nope.js: %d, want 404", res.StatusCode)
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "style=") || regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
		t.Errorf("the page has inline script or style, which its policy forbids:\n%s", html)
	}
}

func checkHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("%s: Content-Security-Policy %q allows something unsafe", path, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", path, h.Get("X-Content-Type-Options"))
	}
}

// TestScriptsNeverParseMarkup: the console's scripts build the DOM from
// text alone. Prospect data in an HTML parser would be markup; the
// policy stops inline script, but not markup that restyles or fakes the
// page.
func TestScriptsNeverParseMarkup(t *testing.T) {
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment|\beval\(|new Function|setTimeout\(\s*["'\x60]|\.srcdoc`)
	scripts, err := fs.Glob(os.DirFS("ui"), "*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in ui/: %v", err)
	}
	for _, name := range scripts {
		b, err := os.ReadFile("ui/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := sinks.FindString(line); m != "" && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("ui/%s:%d uses %s: build the DOM with dom.js's h, from text", name, i+1, m)
			}
		}
	}
}

// TestPageUnderAPrefix: told the prefix a proxy took off (API Gateway's
// stage), the page names its files by absolute path under it; a prefix
// that is not a plain path is ignored.
func TestPageUnderAPrefix(t *testing.T) {
	for _, tc := range []struct{ name, prefix, want string }{
		{"Stage", "/dev", `src="/dev/console/app.js?v=`},
		{"None", "", `src="console/app.js?v=`},
		{"NotAPath", "//evil.example", `src="console/app.js?v=`},
		{"Markup", `/dev"><script>`, `src="console/app.js?v=`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /{$}", console.Page)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set(console.PrefixHeader, tc.prefix)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("the page lacks %s:\n%s", tc.want, rec.Body)
			}
			if !strings.Contains(rec.Header().Get("Vary"), console.PrefixHeader) {
				t.Errorf("Vary %q lacks %s", rec.Header().Get("Vary"), console.PrefixHeader)
			}
		})
	}
}
