// Package webhook tells a campaign's owner that it finished: a signed POST
// to the campaign's webhook_url that never reaches loopback or private
// addresses unless allowed. Notify makes one attempt; the campaign worker
// retries through its queue, apart from the model work.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// Signature headers. The signature is hex HMAC-SHA256 of
// "<timestamp>.<body>" with the shared secret, as "sha256=<hex>"; a receiver
// recomputes it and refuses old timestamps to stop replays.
const (
	SignatureHeader = "X-Ingren-Signature"
	TimestampHeader = "X-Ingren-Timestamp"
)

// ErrBlockedAddress is a webhook that resolves to a loopback, private or
// link-local address.
var ErrBlockedAddress = errors.New("webhook address is loopback, private or link-local")

// Notifier sends webhooks. It is safe for concurrent use.
type Notifier struct {
	secret []byte
	client *http.Client
	now    func() time.Time
}

// Options configure a Notifier.
type Options struct {
	// Secret signs every call (WEBHOOK_SECRET); empty sends no signature.
	Secret string
	// AllowPrivate lets calls reach loopback and private networks (for
	// local development and tests only).
	AllowPrivate bool
	// Timeout bounds one call (default 10 s).
	Timeout time.Duration
}

var _ campaign.Notifier = (*Notifier)(nil)

// New returns a Notifier.
func New(o Options) *Notifier {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !o.AllowPrivate {
		// Checked on the address actually dialled, after DNS, so a name
		// that resolves to 127.0.0.1 or 169.254.169.254 is refused too.
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || blocked(ap.Addr()) {
				return ErrBlockedAddress
			}
			return nil
		}
	}
	transport := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second, MaxIdleConns: 10}
	return &Notifier{
		secret: []byte(o.Secret),
		client: &http.Client{Transport: transport, Timeout: o.Timeout, CheckRedirect: noRedirects},
		now:    time.Now,
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func blocked(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) // carrier-grade NAT, also used by cloud metadata
}

// Payload is the JSON body of a webhook call. Its counts are the API's:
// each prospect once, succeeded without needs_review (the campaign's
// stored Succeeded counts both).
type Payload struct {
	Event       string `json:"event"`
	CampaignID  string `json:"campaign_id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Total       int    `json:"total"`
	Succeeded   int    `json:"succeeded"`
	Failed      int    `json:"failed"`
	NeedsReview int    `json:"needs_review"`
	// Skipped are the prospects a budget left no room for (not in
	// Failed).
	Skipped     int       `json:"skipped"`
	CompletedAt time.Time `json:"completed_at"`
	Usage       Usage     `json:"usage"`
	// Mode and Warnings are the campaign's, as its API view shows them: a
	// batch campaign that fell back to realtime says so here too.
	Mode     string   `json:"mode"`
	Warnings []string `json:"warnings"`
}

// Usage is the campaign's usage as its API view shows it: the tokens and
// cost_usd, null when some model had no price (Warnings then say so).
type Usage struct {
	email.Usage
	CostUSD *float64 `json:"cost_usd"`
}

// Notify implements campaign.Notifier: one call. Its error wraps
// campaign.ErrUndeliverable when another call cannot succeed: the address is
// blocked, or the receiver answered other than 2xx, 429 or 5xx.
func (n *Notifier) Notify(ctx context.Context, c *campaign.Campaign) error {
	p := Payload{
		Event: "campaign.finished", CampaignID: c.ID, Name: c.Name, Status: string(c.Status),
		Total: c.Total, Succeeded: c.Clean(), Failed: c.Unskipped(), NeedsReview: c.NeedsReview, Skipped: c.Skipped,
		CompletedAt: c.CompletedAt, Usage: Usage{Usage: c.Usage}, Mode: string(c.Mode), Warnings: append([]string{}, c.Warnings...),
	}
	if usd, ok := c.Cost(); ok {
		p.Usage.CostUSD = &usd
	}
	if w := c.CostWarning(); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	retry, err := n.send(ctx, c.WebhookURL, body)
	if err != nil && !retry {
		return fmt.Errorf("%w: %w", err, campaign.ErrUndeliverable)
	}
	return err
}

// send makes one call; retry says whether another may succeed.
func (n *Notifier) send(ctx context.Context, url string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		// Only the reason: the URL can carry a token.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return false, fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ingren-webhook/1")
	if len(n.secret) > 0 {
		ts := strconv.FormatInt(n.now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign(n.secret, ts, body))
	}
	res, err := n.client.Do(req)
	if err != nil {
		// The URL can carry a token (a Slack webhook's path is its
		// secret) and this error is logged: keep what failed, not where.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
		}
		if errors.Is(err, ErrBlockedAddress) {
			return false, err
		}
		return true, fmt.Errorf("webhook call: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode < 300:
		return false, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return true, fmt.Errorf("webhook answered %d", res.StatusCode)
	default:
		return false, fmt.Errorf("webhook answered %d", res.StatusCode)
	}
}

// Sign returns the signature header value for a timestamp and body.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature in constant time.
func Verify(secret []byte, timestamp string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}
