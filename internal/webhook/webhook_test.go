package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

func finished(url string) *campaign.Campaign {
	return &campaign.Campaign{ID: "cmp_1", Name: "Q4", Status: campaign.StatusCompleted, Total: 3, Succeeded: 3,
		WebhookURL: url, CompletedAt: time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)}
}

func TestNotify(t *testing.T) {
	secret := []byte("whsec-test")
	t.Run("OKSigned", func(t *testing.T) {
		var got atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if !Verify(secret, r.Header.Get(TimestampHeader), body, r.Header.Get(SignatureHeader)) {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if Verify([]byte("other"), r.Header.Get(TimestampHeader), body, r.Header.Get(SignatureHeader)) {
				t.Error("a signature verified under another secret")
			}
			got.Store(true)
		}))
		defer srv.Close()
		n := New(Options{Secret: string(secret), AllowPrivate: true})
		if err := n.Notify(context.Background(), finished(srv.URL)); err != nil || !got.Load() {
			t.Fatalf("err %v, delivered %v", err, got.Load())
		}
	})
	// The payload counts each prospect once, as the API's campaign view
	// does: succeeded leaves out the needs_review emails the stored
	// counter includes.
	t.Run("OKCountsEachProspectOnce", func(t *testing.T) {
		got := make(chan Payload, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var p Payload
			_ = json.NewDecoder(r.Body).Decode(&p)
			got <- p
		}))
		defer srv.Close()
		c := finished(srv.URL)
		c.Total, c.Succeeded, c.NeedsReview, c.Failed = 200, 199, 5, 1
		if err := New(Options{AllowPrivate: true}).Notify(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if p := <-got; p.Succeeded != 194 || p.NeedsReview != 5 || p.Failed != 1 {
			t.Fatalf("payload %+v, want 194 succeeded, 5 need review, 1 failed", p)
		}
	})
	// One call per Notify: the worker retries through its queue what
	// another call may fix, and gives the rest up at once.
	for _, tc := range []struct {
		name          string
		status        int
		undeliverable bool
	}{
		{"Err5xxIsRetriable", http.StatusBadGateway, false},
		{"Err429IsRetriable", http.StatusTooManyRequests, false},
		{"Err4xxIsUndeliverable", http.StatusGone, true},
		{"Err3xxIsUndeliverable", http.StatusMovedPermanently, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			n := New(Options{AllowPrivate: true})
			err := n.Notify(context.Background(), finished(srv.URL))
			if err == nil || calls.Load() != 1 {
				t.Fatalf("err %v after %d calls; want an error after 1", err, calls.Load())
			}
			if got := errors.Is(err, campaign.ErrUndeliverable); got != tc.undeliverable {
				t.Fatalf("err %v: undeliverable %v, want %v", err, got, tc.undeliverable)
			}
		})
	}
	t.Run("ErrNoAnswerIsRetriable", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		n := New(Options{AllowPrivate: true, Timeout: 50 * time.Millisecond})
		if err := n.Notify(context.Background(), finished(srv.URL)); err == nil || errors.Is(err, campaign.ErrUndeliverable) {
			t.Fatalf("err %v; want a retriable error", err)
		}
	})
	t.Run("ErrLoopbackBlocked", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
		defer srv.Close()
		n := New(Options{})
		for _, u := range []string{srv.URL, "http://localhost:" + srv.URL[len("http://127.0.0.1:"):]} {
			if err := n.Notify(context.Background(), finished(u)); !errors.Is(err, ErrBlockedAddress) || !errors.Is(err, campaign.ErrUndeliverable) {
				t.Fatalf("%s: err %v, want ErrBlockedAddress, undeliverable", u, err)
			}
		}
		if calls.Load() != 0 {
			t.Fatalf("a blocked webhook reached the server %d times", calls.Load())
		}
	})
	t.Run("ErrRedirectNotFollowed", func(t *testing.T) {
		var target atomic.Int32
		dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { target.Add(1) }))
		defer dst.Close()
		src := httptest.NewServer(http.RedirectHandler(dst.URL, http.StatusTemporaryRedirect))
		defer src.Close()
		n := New(Options{AllowPrivate: true})
		if err := n.Notify(context.Background(), finished(src.URL)); err == nil || target.Load() != 0 {
			t.Fatalf("err %v, redirect target hit %d times", err, target.Load())
		}
	})
}

func TestBlocked(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "fd00::1": true, "0.0.0.0": true, "100.64.0.1": true, "::ffff:127.0.0.1": true,
		"8.8.8.8": false, "2606:4700::1111": false, "52.94.236.248": false,
	} {
		if got := blocked(netip.MustParseAddr(addr)); got != want {
			t.Errorf("blocked(%s) = %v, want %v", addr, got, want)
		}
	}
}
