package api

import (
	"net/http"

	"github.com/ingren/ingren/internal/console"
	"github.com/ingren/ingren/internal/docs"
)

// Route is one operation the API serves.
type Route struct {
	Method, Pattern string
	// Authed routes need an x-api-key; the others (health, the contract
	// and its docs) are public.
	Authed bool
	// Campaigns routes are served only by a program with a campaign
	// service.
	Campaigns bool
	// Page routes serve the docs page, the console and their files to
	// browsers: they are not operations of the contract.
	Page bool
}

// route is a Route with its handler.
type route struct {
	Route
	plain  http.HandlerFunc // a public route's handler
	handle handlerFunc      // an authed route's handler
}

// table is the whole API surface: the router serves it, and the contract
// test holds it against the OpenAPI spec.
func (s *Server) table() []route {
	public := func(method, pattern string, h http.HandlerFunc) route {
		return route{Route: Route{Method: method, Pattern: pattern}, plain: h}
	}
	authed := func(method, pattern string, h handlerFunc) route {
		return route{Route: Route{Method: method, Pattern: pattern, Authed: true}, handle: h}
	}
	page := func(pattern string, h http.HandlerFunc) route {
		return route{Route: Route{Method: "GET", Pattern: pattern, Page: true}, plain: h}
	}
	campaigns := func(method, pattern string, h handlerFunc) route {
		r := authed(method, pattern, h)
		r.Campaigns = true
		return r
	}
	return []route{
		public("GET", "/healthz", s.healthz),
		public("GET", "/openapi.json", serveSpec),
		page("/docs", docs.Page),
		page("/docs/{$}", docs.PageSlash),
		page("/docs/{file}", docs.File),
		page("/{$}", console.Page),
		page("/console/{file}", console.File),
		authed("POST", "/api/v1/generate-email", s.generateEmail),
		authed("POST", "/api/v1/lint", s.lintEmail),
		campaigns("POST", "/api/v1/campaigns", s.createCampaign),
		campaigns("GET", "/api/v1/campaigns", s.listCampaigns),
		campaigns("GET", "/api/v1/campaigns/{id}", s.getCampaign),
		campaigns("DELETE", "/api/v1/campaigns/{id}", s.cancelCampaign),
		campaigns("GET", "/api/v1/campaigns/{id}/emails", s.listEmails),
		campaigns("GET", "/api/v1/campaigns/{id}/emails/{index}", s.getEmail),
		campaigns("PATCH", "/api/v1/campaigns/{id}/emails/{index}", s.changeEmail),
		campaigns("POST", "/api/v1/campaigns/{id}/emails/{index}/regenerate", s.regenerateEmail),
		campaigns("POST", "/api/v1/campaigns/{id}/retry", s.retryCampaign),
		campaigns("GET", "/api/v1/usage", s.getUsage),
	}
}

// Routes lists every operation of a program with campaigns.
func Routes() []Route {
	var out []Route
	for _, r := range (&Server{}).table() {
		out = append(out, r.Route)
	}
	return out
}

// routes is the router.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.table() {
		if r.Campaigns && s.campaigns == nil {
			continue
		}
		var h http.Handler = r.plain
		if r.Authed {
			h = s.authed(r.handle)
		}
		mux.Handle(r.Method+" "+r.Pattern, h)
	}
	// The catch-all turns ServeMux's plain-text 404 and 405 into JSON.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(mux, w, r) })
	return s.observe(s.cors(mux))
}
