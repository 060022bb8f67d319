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

const (
	keyTenant ctxKey = iota
	keyRequestID
	keyLogAttrs
)

func tenantOf(ctx context.Context) string {
	t, _ := ctx.Value(keyTenant).(string)
	return t
}

func requestIDOf(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// logAttrs collects attributes a handler adds to the request's log line.
type logAttrs struct{ attrs []slog.Attr }

func addLog(ctx context.Context, attrs ...slog.Attr) {
	if l, ok := ctx.Value(keyLogAttrs).(*logAttrs); ok {
		l.attrs = append(l.attrs, attrs...)
	}
}
