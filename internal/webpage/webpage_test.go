package webpage_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ingren/ingren/internal/webpage"
)

// site is a page in two folders, as the docs page has its own and a
// vendored one; each holds an index.html, and only ui's is the page.
var site = fstest.MapFS{
	"ui/index.html":     {Data: []byte(`<script src="{{.}}{{asset "app.js"}}"></script><link href="{{asset "app.css"}}">`)},
	"ui/app.js":         {Data: []byte(`console.log("app")`)},
	"ui/app.css":        {Data: []byte(`body{}`)},
	"vendor/index.html": {Data: []byte(`<p>the vendor's demo page</p>`)},
	"vendor/LICENSE":    {Data: []byte(`MIT`)},
	"vendor/pkg.json":   {Data: []byte(`{}`)},
}

func do(t *testing.T, serve func(http.ResponseWriter, *http.Request), target string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	serve(rec, req)
	b, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Result(), string(b)
}

func file(assets map[string]webpage.Asset, name string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { webpage.ServeFile(w, r, assets[name]) }
}

// TestLoadNamesFilesByVersion: Load keeps every file of the folders but
// the page's template, and the page names each file under its URL folder
// with the version that the file's ETag carries.
func TestLoadNamesFilesByVersion(t *testing.T) {
	assets, tmpl := webpage.Load(site, "ui/index.html", "page/", "ui", "vendor")
	var names []string
	for name := range assets {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"LICENSE", "app.css", "app.js", "pkg.json"}; !slices.Equal(names, want) {
		t.Fatalf("Load kept %q, want %q (no index.html)", names, want)
	}
	page := webpage.Render(tmpl, "/dev/")
	res, html := do(t, func(w http.ResponseWriter, r *http.Request) { webpage.ServePage(w, r, page) }, "/")
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)\?v=([0-9a-f]+)"`).FindAllStringSubmatch(html, -1)
	if len(refs) != 2 || refs[0][1] != "/dev/page/app.js" || refs[1][1] != "page/app.css" {
		t.Fatalf("the page names %q, want /dev/page/app.js and page/app.css with versions:\n%s", refs, html)
	}
	for _, ref := range refs {
		name := strings.TrimPrefix(ref[1], "/dev/")[len("page/"):]
		fres, _ := do(t, file(assets, name), "/"+name)
		if got, want := fres.Header.Get("ETag"), `"`+ref[2]+`"`; got != want {
			t.Errorf("%s: ETag %s, but the page names version %s", name, got, want)
		}
	}
	if res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("the page: Content-Type %q", res.Header.Get("Content-Type"))
	}
}

// TestRenderUnknownFilePanics: a template that names a file the page does
// not have fails at once, not with a broken link.
func TestRenderUnknownFilePanics(t *testing.T) {
	fsys := fstest.MapFS{"ui/index.html": {Data: []byte(`{{asset "gone.js"}}`)}}
	_, tmpl := webpage.Load(fsys, "ui/index.html", "page/", "ui")
	defer func() {
		if recover() == nil {
			t.Error("Render of a page naming a missing file did not panic")
		}
	}()
	webpage.Render(tmpl, nil)
}

// TestServeFileCaching: a request naming the file's current version may
// be cached for good; without it, or with an old one, it is revalidated,
// and a browser that has the file gets 304.
func TestServeFileCaching(t *testing.T) {
	assets, _ := webpage.Load(site, "ui/index.html", "page/", "ui", "vendor")
	serve := file(assets, "app.js")
	first, body := do(t, serve, "/app.js")
	etag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || body != `console.log("app")` || etag == "" {
		t.Fatalf("GET /app.js: %d, ETag %q, body %q", first.StatusCode, etag, body)
	}
	version := strings.Trim(etag, `"`)
	for target, want := range map[string]string{
		"/app.js?v=" + version: "public, max-age=31536000, immutable",
		"/app.js?v=old":        "no-cache",
		"/app.js":              "no-cache",
	} {
		if res, _ := do(t, serve, target); res.Header.Get("Cache-Control") != want {
			t.Errorf("GET %s: Cache-Control %q, want %q", target, res.Header.Get("Cache-Control"), want)
		}
	}
	again, body := do(t, serve, "/app.js", "If-None-Match", etag)
	if again.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("GET with If-None-Match %s: %d, %d bytes; want 304 with none", etag, again.StatusCode, len(body))
	}
}

// TestServePageRevalidatedKeepsCallersHeaders: the page is revalidated on
// every visit, answers If-None-Match with 304, and keeps the headers its
// package set.
func TestServePageRevalidatedKeepsCallersHeaders(t *testing.T) {
	_, tmpl := webpage.Load(site, "ui/index.html", "page/", "ui")
	page := webpage.Render(tmpl, "")
	serve := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		webpage.ServePage(w, r, page)
	}
	res, _ := do(t, serve, "/")
	for k, want := range map[string]string{
		"Cache-Control": "no-cache", "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if again, body := do(t, serve, "/", "If-None-Match", res.Header.Get("ETag")); again.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("GET / with its ETag: %d, %d bytes; want 304 with none", again.StatusCode, len(body))
	}
}

// TestContentTypesAreText: every file is served as text, which the API
// Lambda hands to API Gateway as it is, and never sniffed.
func TestContentTypesAreText(t *testing.T) {
	assets, _ := webpage.Load(site, "ui/index.html", "page/", "ui", "vendor")
	for name, want := range map[string]string{
		"app.js":   "text/javascript; charset=utf-8",
		"app.css":  "text/css; charset=utf-8",
		"pkg.json": "application/json; charset=utf-8",
		"LICENSE":  "text/plain; charset=utf-8",
	} {
		res, _ := do(t, file(assets, name), "/"+name)
		if got := res.Header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q", name, got, want)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", name, got)
		}
	}
}

// TestNewBodyNewVersion: the version follows the body, so a changed file
// is a new URL and an unchanged one keeps its cache.
func TestNewBodyNewVersion(t *testing.T) {
	etag := func(body string) string {
		a := webpage.NewAsset("a.js", []byte(body))
		res, _ := do(t, func(w http.ResponseWriter, r *http.Request) { webpage.ServeFile(w, r, a) }, "/a.js")
		return res.Header.Get("ETag")
	}
	one, again, two := etag("one"), etag("one"), etag("two")
	if one != again || one == two {
		t.Errorf("ETags one %s, one again %s, two %s: want the same for the same body, another for another", one, again, two)
	}
}
