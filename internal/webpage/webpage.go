// Package webpage serves the pages the program serves itself, the docs
// page (internal/docs) and the review console (internal/console): an HTML
// page made from a template, and the files it loads, all embedded in the
// binary.
//
// A file's URL carries a hash of its body (…?v=…), so that a browser may
// keep the file for good under that URL and a new program's file is a new
// URL; the page, which names them, is revalidated on every visit. Both
// answer If-None-Match with 304.
//
// What differs between the pages stays with them: their routes, their
// Content-Security-Policy and other headers, what their template is given.
package webpage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// Asset is one file a page loads, or the page itself, with the version
// its URL carries.
type Asset struct {
	body        []byte
	contentType string
	version     string // a hash of body: a new body is a new URL
}

// NewAsset is the file name holding body; its name chooses its type.
func NewAsset(name string, body []byte) Asset {
	sum := sha256.Sum256(body)
	return Asset{body: body, contentType: contentType(name), version: hex.EncodeToString(sum[:8])}
}

// etag is the asset's HTTP entity tag.
func (a Asset) etag() string { return `"` + a.version + `"` }

// Load reads the files in dirs of fsys, by name, but those named as the
// page's template, index (a path in fsys), which it parses. The template's
// function asset names a file with its version under urlDir: {{asset
// "app.js"}} is urlDir+"app.js?v=…", and a name not among the files is an
// error. Load panics on an error: its callers load files embedded at build
// time, so an error is a bug the first test shows.
func Load(fsys fs.FS, index, urlDir string, dirs ...string) (map[string]Asset, *template.Template) {
	name := path.Base(index)
	assets := map[string]Asset{}
	for _, dir := range dirs {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			panic(err)
		}
		for _, e := range entries {
			if e.Name() == name {
				continue
			}
			b, err := fs.ReadFile(fsys, dir+"/"+e.Name())
			if err != nil {
				panic(err)
			}
			assets[e.Name()] = NewAsset(e.Name(), b)
		}
	}
	tmpl := template.Must(template.New(name).Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := assets[name]
			if !ok {
				return "", fs.ErrNotExist
			}
			return urlDir + name + "?v=" + a.version, nil
		},
	}).ParseFS(fsys, index))
	return assets, tmpl
}

// Render makes the page from tmpl and data. It panics on an error: the
// template and its data are the caller's own.
func Render(tmpl *template.Template, data any) Asset {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		panic(err)
	}
	return NewAsset(tmpl.Name(), b.Bytes())
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

// ServePage serves the page, which a browser revalidates on each visit,
// so that a new program's page, and the new files it names, show at once.
// The caller sets the page's own headers first.
func ServePage(w http.ResponseWriter, r *http.Request, page Asset) {
	w.Header().Set("Cache-Control", "no-cache")
	serve(w, r, page)
}

// ServeFile serves one of the page's files. A request that names its
// current version (as the page does) may be cached for good; any other is
// revalidated. The caller sets the file's own headers first.
func ServeFile(w http.ResponseWriter, r *http.Request, a Asset) {
	if r.URL.Query().Get("v") == a.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	serve(w, r, a)
}

// serve answers with the asset, or 304 to a request that has it already.
// Its type is ours, never the browser's guess.
func serve(w http.ResponseWriter, r *http.Request, a Asset) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag())
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
