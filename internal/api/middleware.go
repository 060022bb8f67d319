package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// observe gives every request an id and logs one line per request: never
// its body, never the key.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if id == "" || len(id) > 128 {
			id = newID("req_")
		}
		w.Header().Set(RequestIDHeader, id)
		st := &requestState{id: id, sw: statusWriter{ResponseWriter: w, status: http.StatusOK}}
		st.attrs = st.attrsBuf[:0]
		ctx := context.WithValue(r.Context(), keyRequest, st)
		next.ServeHTTP(&st.sw, r.WithContext(ctx))
		level := slog.LevelInfo
		if st.sw.status >= 500 {
			level = slog.LevelError
		}
		if !s.log.Enabled(ctx, level) {
			// LogAttrs would drop the line: skip building it.
			return
		}
		all := append([]slog.Attr{
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", st.sw.status),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
		}, st.attrs...)
		s.log.LogAttrs(ctx, level, "request", all...)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer, so that
// readBody can set the connection's read deadline through the middleware.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// exposedHeaders are the answers' headers a browser script may read: an
// email's ETag (for If-Match) and a CSV chunk's next cursor among them.
// infra/stack/responses.go keeps the same list for API Gateway's answers.
const exposedHeaders = "X-Request-Id, Retry-After, Location, ETag, X-Next-Cursor"

// cors answers preflight requests without a key and adds the CORS headers
// for allowed origins.
func (s *Server) cors(next http.Handler) http.Handler {
	any := slices.Contains(s.cfg.CORSAllowOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && (any || slices.Contains(s.cfg.CORSAllowOrigins, origin))
		if allowed {
			h := w.Header()
			if any {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Add("Vary", "Origin")
			}
			h.Set("Access-Control-Expose-Headers", exposedHeaders)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h := w.Header()
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, x-api-key, Idempotency-Key, Accept, X-Request-Id, If-Match")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authed resolves the tenant and runs h, turning its error into a JSON
// answer.
func (s *Server) authed(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, err := s.auth.Tenant(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		st := stateOf(r.Context())
		if st == nil {
			// Served without observe (a test): a state of its own.
			st = &requestState{}
			r = r.WithContext(context.WithValue(r.Context(), keyRequest, st))
		}
		st.tenant = tenant
		addLog(r.Context(), slog.String("tenant", tenant))
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// notFound answers 405 when the path exists with another method, else 404.
func (s *Server) notFound(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: r.Method + " is not allowed here; use " + strings.Join(allow, " or ")})
		return
	}
	s.writeError(w, r, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no route for " + r.Method + " " + r.URL.Path})
}

// jsonContentType is the Content-Type of every JSON answer, one slice for
// all of them (http.Header.Set would make one per answer). Never appended
// to: its capacity is its length.
var jsonContentType = []string{"application/json; charset=utf-8"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// marshalJSON encodes v as writeJSON does, for an answer whose size
// matters before it is sent.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func newID(prefix string) string {
	var random [12]byte
	_, _ = rand.Read(random[:])
	var buf [40]byte
	return string(hex.AppendEncode(append(buf[:0], prefix...), random[:]))
}

// KeyAuth is the local program's Authenticator: the x-api-key header
// checked against a set of keys.
type KeyAuth struct {
	Keys interface {
		Tenant(key string) (string, bool)
	}
}

// Tenant implements Authenticator.
func (a KeyAuth) Tenant(r *http.Request) (string, error) {
	// The canonical spelling: Get would canonicalize x-api-key, with an
	// allocation, on every request.
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		return "", ErrUnauthorized
	}
	t, ok := a.Keys.Tenant(key)
	if !ok {
		return "", ErrUnauthorized
	}
	return t, nil
}
