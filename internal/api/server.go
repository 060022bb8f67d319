// Package api is Ingren's HTTP API: one http.Handler that serves the local
// program (net/http) and the API Lambda (through internal/apigw) alike.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// Authenticator says which tenant a request comes from, or returns
// ErrUnauthorized.
type Authenticator interface {
	Tenant(r *http.Request) (string, error)
}

// Config is what the server needs besides its dependencies.
type Config struct {
	// CORSAllowOrigins lists origins browsers may call from; "*" allows any.
	CORSAllowOrigins []string
	// MaxEmailBody bounds a generate-email body (default 64 KiB).
	MaxEmailBody int64
	// MaxCampaignBody bounds a campaign body (default
	// DefaultMaxCampaignBody).
	MaxCampaignBody int64
	// EmailTimeout bounds one generate-email request, retries and repair
	// round included; the programs pass OPENAI_TIMEOUT. It is at most
	// MaxEmailTimeout, which is also the default.
	EmailTimeout time.Duration
	// EmailBodyTimeout bounds reading a generate-email body, from the end
	// of its headers (default 10 s: 64 KiB at 6.4 KB/s); past it the
	// answer is 408. The body is read before the request takes a slot.
	EmailBodyTimeout time.Duration
	// MaxEmailsInFlight bounds generate-email requests being worked at once
	// (default 256), shared between tenants: a tenant may take a slot only
	// while more are free than it holds (see slots). Past that the answer
	// is 503 with Retry-After: turning requests away, rather than letting
	// them wait without bound, keeps memory and latency bounded under
	// overload.
	MaxEmailsInFlight int
	// MaxListBytes bounds the body of an answer that lists a campaign's
	// emails (0: no bound, and the CSV export streams). A JSON page that
	// would be larger comes back with fewer emails and a next_cursor; the
	// CSV export stops at a page boundary and names the rest in an
	// X-Next-Cursor header and a Link rel="next". The API Lambda sets it
	// under Lambda's 6 MB response limit.
	MaxListBytes int
	// Prices turn usage into cost_usd (the programs pass MODEL_PRICES's
	// table); nil prices no model.
	Prices campaign.Prices
	// Meter keeps the API keys' monthly budgets for generate-email and
	// books its calls for GET /api/v1/usage; nil calls the composer
	// without either.
	Meter *campaign.Meter
}

// DefaultMaxCampaignBody is the default bound of a campaign body: Lambda's
// synchronous payload limit, 6 MB.
const DefaultMaxCampaignBody = 6 << 20

// MaxEmailTimeout is the longest a generate-email request may take: under
// API Gateway's 29 s integration timeout, so that the client gets our 504
// with a request id rather than the gateway's.
const MaxEmailTimeout = 25 * time.Second

// Server holds the API's dependencies.
type Server struct {
	cfg       Config
	auth      Authenticator
	composer  *email.Composer
	campaigns *campaign.Service
	log       *slog.Logger
	now       func() time.Time
	// emailSlots are the generate-email requests in flight, per tenant.
	emailSlots *slots
}

// NewServer returns the API as one handler. campaigns may be nil, for a
// program that serves single emails only.
func NewServer(cfg Config, auth Authenticator, composer *email.Composer, campaigns *campaign.Service, log *slog.Logger) http.Handler {
	if cfg.MaxEmailBody == 0 {
		cfg.MaxEmailBody = 64 << 10
	}
	if cfg.MaxCampaignBody == 0 {
		cfg.MaxCampaignBody = DefaultMaxCampaignBody
	}
	if cfg.EmailTimeout <= 0 || cfg.EmailTimeout > MaxEmailTimeout {
		cfg.EmailTimeout = MaxEmailTimeout
	}
	if cfg.EmailBodyTimeout == 0 {
		cfg.EmailBodyTimeout = 10 * time.Second
	}
	if cfg.MaxEmailsInFlight == 0 {
		cfg.MaxEmailsInFlight = 256
	}
	s := &Server{cfg: cfg, auth: auth, composer: composer, campaigns: campaigns, log: log, now: time.Now,
		emailSlots: newSlots(cfg.MaxEmailsInFlight)}
	return s.routes()
}

type ctxKey int

// keyRequest holds the request's *requestState.
const keyRequest ctxKey = iota

// requestState is what the middleware knows of one request: observe makes
// it and authed sets the tenant. One value in the context, written by the
// request's own goroutine before the handler reads it, rather than a
// context and a copy of the request per layer.
type requestState struct {
	id     string
	tenant string
	// attrs collects attributes a handler adds to the request's log line;
	// attrsBuf holds the first few.
	attrs    []slog.Attr
	attrsBuf [8]slog.Attr
	sw       statusWriter
}

func stateOf(ctx context.Context) *requestState {
	st, _ := ctx.Value(keyRequest).(*requestState)
	return st
}

func tenantOf(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.tenant
	}
	return ""
}

func requestIDOf(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.id
	}
	return ""
}

func addLog(ctx context.Context, attrs ...slog.Attr) {
	if st := stateOf(ctx); st != nil {
		st.attrs = append(st.attrs, attrs...)
	}
}
