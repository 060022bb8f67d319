package api

import "net/http"

// routes is the whole API surface.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("POST /api/v1/generate-email", s.authed(s.generateEmail))
	if s.campaigns != nil {
		mux.Handle("POST /api/v1/campaigns", s.authed(s.createCampaign))
		mux.Handle("GET /api/v1/campaigns", s.authed(s.listCampaigns))
		mux.Handle("GET /api/v1/campaigns/{id}", s.authed(s.getCampaign))
		mux.Handle("DELETE /api/v1/campaigns/{id}", s.authed(s.cancelCampaign))
		mux.Handle("GET /api/v1/campaigns/{id}/emails", s.authed(s.listEmails))
	}
	// The catch-all turns ServeMux's plain-text 404 and 405 into JSON.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(mux, w, r) })
	return s.observe(s.cors(mux))
}
