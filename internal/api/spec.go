package api

import (
	_ "embed"
	"net/http"
)

// spec is the API's contract, OpenAPI 3.1: every route of the table, its
// requests, answers and errors. The contract test holds the router and
// every request and answer of the api tests against it.
//
//go:embed openapi.json
var spec []byte

// Spec returns the OpenAPI document the API serves at /openapi.json.
func Spec() []byte { return spec }

// serveSpec serves the contract without a key: clients are generated from
// it, and the docs page renders it.
func serveSpec(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(spec)
}
