// Package console is the web console: a page, served by the program
// itself at GET /, where a person reviews a campaign's emails without
// curl. They enter an API key (kept in the tab's sessionStorage, sent as
// x-api-key, never put in a URL), upload a CSV or open a campaign, watch
// it progress, and go through its emails in a table: quality findings
// highlighted in the text, edit in place, approve or reject with the
// keyboard, regenerate one, retry the failed, download the approved CSV.
//
// Everything the page loads is embedded here (ui/: one HTML page, ES
// modules, one stylesheet; no build step, nothing from a CDN), and it
// calls only the API of the server that serves it. Prospect data is
// untrusted: the scripts build the DOM with textContent alone, and the
// page's Content-Security-Policy forbids inline script and style, so a
// prospect named <img src=x onerror=alert(1)> is text (the browser test
// holds both).
//
// The page works under a prefix (API Gateway's stage, as in /dev, or a
// reverse proxy's path): its scripts call the API relative to their own
// URL, …/console/{file}, and the page names its files relative to itself,
// or, when the request says what prefix was taken off its path
// (X-Forwarded-Prefix, which internal/apigw sets from the event), by
// absolute path under it. Only that works for the page at /dev, whose
// relative URLs would resolve outside the stage.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"time"
)

//go:embed ui
var files embed.FS

// CSP is the page's Content-Security-Policy: scripts, styles and calls
// from this server alone, nothing inline, no frames, no plugins; images
// only from here and data: (the page's empty icon, which keeps the
// browser from asking for /favicon.ico). The browser test fails on any
// violation.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one file the page loads, with the version its URL carries.
type asset struct {
	body        []byte
	contentType string
	version     string // a hash of body: a new body is a new URL
}

func newAsset(name string, body []byte) asset {
	sum := sha256.Sum256(body)
	return asset{body: body, contentType: contentType(name), version: hex.EncodeToString(sum[:8])}
}

// etag is the asset's HTTP entity tag.
func (a asset) etag() string { return `"` + a.version + `"` }

// assets are the files served at /console/{file}, by name; page is the
// page at the root, whose URLs are relative; tmpl makes it for a prefix.
var assets, tmpl, page = mustLoad()

// PrefixHeader names the path prefix a proxy took off the request's path.
const PrefixHeader = "X-Forwarded-Prefix"

// validPrefix is a prefix the page may name its files under: path
// segments of plain characters, nothing that could leave the origin.
var validPrefix = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

func mustLoad() (map[string]asset, *template.Template, asset) {
	assets := map[string]asset{}
	entries, err := fs.ReadDir(files, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	for _, e := range entries {
		if e.Name() == "index.html" {
			continue
		}
		b, err := fs.ReadFile(files, "ui/"+e.Name())
		if err != nil {
			panic(err)
		}
		assets[e.Name()] = newAsset(e.Name(), b)
	}
	// asset names a file with its version, relative to the page's base.
	tmpl := template.Must(template.New("index.html").Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := assets[name]
			if !ok {
				return "", fs.ErrNotExist
			}
			return "console/" + name + "?v=" + a.version, nil
		},
	}).ParseFS(files, "ui/index.html"))
	return assets, tmpl, mustRender(tmpl, "")
}

// mustRender makes the page with its URLs under base: "" (relative) or
// a prefix and a slash.
func mustRender(tmpl *template.Template, base string) asset {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, struct{ Base string }{base}); err != nil {
		panic(err) // the template and its data are ours
	}
	return newAsset("index.html", b.Bytes())
}

// contentType is text for every file: the API Lambda passes text answers
// to API Gateway as text, and anything else as base64.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	default:
		return "text/plain; charset=utf-8"
	}
}

// secure sets the headers every answer of the console carries.
func secure(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// Page serves the console at GET /. A browser revalidates it on each
// visit, so that a new program's page, and the new files it names, show
// at once.
func Page(w http.ResponseWriter, r *http.Request) {
	page := page
	if p := r.Header.Get(PrefixHeader); validPrefix.MatchString(p) {
		page = mustRender(tmpl, p+"/")
	}
	h := w.Header()
	secure(h)
	h.Set("Cache-Control", "no-cache")
	h.Add("Vary", PrefixHeader)
	h.Set("Content-Type", page.contentType)
	h.Set("ETag", page.etag())
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(page.body))
}

// File serves GET /console/{file}: one of the page's files. A request
// that names the current version (as the page does) may be cached for
// good; the modules the page imports by plain name are revalidated.
func File(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.Error(w, "no such file in the console", http.StatusNotFound)
		return
	}
	h := w.Header()
	secure(h)
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag())
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
