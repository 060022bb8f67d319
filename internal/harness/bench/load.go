package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// OpenLoop sends requests at a fixed rate whatever the answers' latency
// (wrk2 is not in Debian), and times each request from the moment it was
// due, so that a slow answer cannot hide the requests queued behind it
// (coordinated omission).
type OpenLoop struct {
	URL    string
	Body   []byte
	Header http.Header
	// Rate is requests per second; Duration how long to send.
	Rate     int
	Duration time.Duration
	// MaxInFlight bounds outstanding requests (default 1024); a request
	// due while that many are out is counted as an error, not sent.
	MaxInFlight int
	// Client sends the requests; nil means a keep-alive client sized for
	// MaxInFlight. Reuse one client across runs to keep its connections.
	Client *http.Client
}

// NewClient returns a client that keeps up to n idle connections to one
// host, for load runs.
func NewClient(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: n, MaxIdleConnsPerHost: n, DisableCompression: true,
		IdleConnTimeout: time.Minute,
	}, Timeout: 30 * time.Second}
}

// Run sends Rate × Duration requests and waits for every answer.
func (o OpenLoop) Run(ctx context.Context) Run {
	maxIn := o.MaxInFlight
	if maxIn <= 0 {
		maxIn = 1024
	}
	client := o.Client
	if client == nil {
		client = NewClient(maxIn)
	}
	n := int(float64(o.Rate) * o.Duration.Seconds())
	interval := time.Second / time.Duration(o.Rate)
	lat := make([]time.Duration, n)
	failed := make([]bool, n)
	sem := make(chan struct{}, maxIn)
	var wg sync.WaitGroup
	start := time.Now()
	sent := 0
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		select {
		case sem <- struct{}{}:
		default:
			failed[i] = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			failed[i] = !o.send(ctx, client)
			lat[i] = time.Since(due)
		}()
	}
	wg.Wait()
	r := Run{Duration: time.Since(start)}
	var ok []time.Duration
	for i := range sent {
		if failed[i] {
			r.Errors++
			continue
		}
		ok = append(ok, lat[i])
	}
	r.Requests = len(ok)
	r.P50, r.P90, r.P99, r.P999, r.Max = Percentiles(ok)
	r.Latencies = ok
	return r
}

// Merge adds up open-loop runs: their requests, errors and durations, and
// the percentiles of all their latencies together.
func Merge(runs ...Run) Run {
	var m Run
	for _, r := range runs {
		m.Requests += r.Requests
		m.Errors += r.Errors
		m.Duration += r.Duration
		m.LoadCPU += r.LoadCPU
		m.Latencies = append(m.Latencies, r.Latencies...)
	}
	m.P50, m.P90, m.P99, m.P999, m.Max = Percentiles(m.Latencies)
	return m
}

func (o OpenLoop) send(ctx context.Context, c *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(o.Body))
	if err != nil {
		return false
	}
	for k, v := range o.Header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode/100 == 2
}

// Percentiles returns the 50th, 90th, 99th and 99.9th percentiles and the
// maximum of d (nearest rank), sorting d.
func Percentiles(d []time.Duration) (p50, p90, p99, p999, top time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(p/100*float64(len(d))+0.999999) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return rank(50), rank(90), rank(99), rank(99.9), d[len(d)-1]
}
