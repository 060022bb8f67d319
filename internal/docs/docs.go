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
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed ui swagger-ui
var files embed.FS

// CSP is the page's Content-Security-Policy: scripts, styles, images and
// calls from this server alone, nothing inline. The one exception is
// Swagger UI's icons, which its CSS draws from data: URLs. The browser test
// fails on any violation, so a Swagger UI that needs more shows there.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

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

// assets are the files served at /docs/{file}, by name; page is the page.
var assets, page = mustLoad()

func mustLoad() (map[string]asset, asset) {
	assets := map[string]asset{}
	for _, dir := range []string{"ui", "swagger-ui"} {
		entries, err := fs.ReadDir(files, dir)
		if err != nil {
			panic(err) // the embedded tree is fixed at build time
		}
		for _, e := range entries {
			if e.Name() == "index.html" {
				continue
			}
			b, err := fs.ReadFile(files, dir+"/"+e.Name())
			if err != nil {
				panic(err)
			}
			assets[e.Name()] = newAsset(e.Name(), b)
		}
	}
	// asset names a file with its version, relative to the page at …/docs.
	tmpl := template.Must(template.New("index.html").Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := assets[name]
			if !ok {
				return "", fs.ErrNotExist
			}
			return "docs/" + name + "?v=" + a.version, nil
		},
	}).ParseFS(files, "ui/index.html"))
	var b bytes.Buffer
	if err := tmpl.Execute(&b, nil); err != nil {
		panic(err)
	}
	return assets, newAsset("index.html", b.Bytes())
}

// contentType is text for every file: the API Lambda passes text answers
// to API Gateway as text, and anything else as base64, which API Gateway
// would hand to the browser undecoded.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	default: // LICENSE, NOTICE, *.txt
		return "text/plain; charset=utf-8"
	}
}

// Page serves the docs page at GET /docs. A browser revalidates it on
// each visit, so that a new program's page, and the new files it names,
// show at once.
func Page(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", page.contentType)
	h.Set("ETag", page.etag())
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(page.body))
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
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag())
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
