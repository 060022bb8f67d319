// Package docs is the API's docs page: the OpenAPI contract rendered by
// Swagger UI, with "Try it out" calling the server that serves the page.
//
// Everything the page loads is served from here, embedded in the binary: a
// self-hosted program works offline, and the page makes no request to any
// host but its own (its Content-Security-Policy says so to the browser).
// The page is ours (ui/index.html, ui/docs.js: no inline script); the
// renderer is swagger-ui-dist 5.35.0 from npm, vendored unchanged into
// swagger-ui/ with its licences. Swagger UI reads OpenAPI 3.1, has
// Authorize for the x-api-key scheme, and its "Try it out" calls the API
// straight from the browser (Scalar's goes through a hosted proxy by
// default). To move to another version, run
//
//	make docs-assets VERSION=x.y.z
//
// then name the version here (TestVendoredVersionIsNamed holds this comment
// to swagger-ui/package.json) and run the browser test.
//
// URLs are relative, so that the page works under any prefix (API
// Gateway's stage, as in /dev/docs): the page at …/docs loads its files
// from …/docs/{file} and the contract from …/openapi.json.
package docs

import (
	"embed"
	"net/http"

	"github.com/ingren/ingren/internal/webpage"
)

//go:embed ui swagger-ui
var files embed.FS

// CSP is the page's Content-Security-Policy: scripts, styles, images and
// calls from this server alone, nothing inline. The one exception is
// Swagger UI's icons, which its CSS draws from data: URLs. The browser test
// fails on any violation, so a Swagger UI that needs more shows there.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// assets are the files served at /docs/{file}, by name, named relative to
// the page at …/docs; page is the page.
var assets, page = mustLoad()

func mustLoad() (map[string]webpage.Asset, webpage.Asset) {
	assets, tmpl := webpage.Load(files, "ui/index.html", "docs/", "ui", "swagger-ui")
	return assets, webpage.Render(tmpl, nil)
}

// Page serves the docs page at GET /docs. A browser revalidates it on
// each visit, so that a new program's page, and the new files it names,
// show at once.
func Page(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("Referrer-Policy", "no-referrer")
	webpage.ServePage(w, r, page)
}

// PageSlash serves GET /docs/: a redirect to …/docs, since the page's
// relative URLs hold only there. The Location is relative too, so that it
// keeps any prefix (http.Redirect would make it absolute, without one).
func PageSlash(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Location", "../docs")
	w.WriteHeader(http.StatusMovedPermanently)
}

// File serves GET /docs/{file}: one of the page's files. A request that
// names the current version (as the page does) may be cached for good.
func File(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.Error(w, "no such file in the docs page", http.StatusNotFound)
		return
	}
	webpage.ServeFile(w, r, a)
}
