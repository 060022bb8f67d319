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
	"embed"
	"html/template"
	"net/http"
	"regexp"

	"github.com/ingren/ingren/internal/webpage"
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

// assets are the files served at /console/{file}, by name; page is the
// page at the root, whose URLs are relative; tmpl makes it for a prefix.
var assets, tmpl, page = mustLoad()

// PrefixHeader names the path prefix a proxy took off the request's path.
const PrefixHeader = "X-Forwarded-Prefix"

// validPrefix is a prefix the page may name its files under: path
// segments of plain characters, nothing that could leave the origin.
var validPrefix = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

func mustLoad() (map[string]webpage.Asset, *template.Template, webpage.Asset) {
	assets, tmpl := webpage.Load(files, "ui/index.html", "console/", "ui")
	return assets, tmpl, render(tmpl, "")
}

// render makes the page with its URLs under base: "" (relative) or a
// prefix and a slash.
func render(tmpl *template.Template, base string) webpage.Asset {
	return webpage.Render(tmpl, struct{ Base string }{base})
}

// secure sets the headers every answer of the console carries, besides
// those webpage sets on every page and file (X-Content-Type-Options).
func secure(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// Page serves the console at GET /. A browser revalidates it on each
// visit, so that a new program's page, and the new files it names, show
// at once.
func Page(w http.ResponseWriter, r *http.Request) {
	page := page
	if p := r.Header.Get(PrefixHeader); validPrefix.MatchString(p) {
		page = render(tmpl, p+"/")
	}
	secure(w.Header())
	w.Header().Add("Vary", PrefixHeader)
	webpage.ServePage(w, r, page)
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
	secure(w.Header())
	webpage.ServeFile(w, r, a)
}
