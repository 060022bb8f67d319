package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/backoff"
	"github.com/ingren/ingren/internal/email"
)

// Backoff after a failure with no hint: full jitter, a random wait between
// zero and base·2^retry, capped.
const (
	backoffBase = 250 * time.Millisecond
	backoffCap  = 8 * time.Second
)

// budget is the retry wait one Write has spent.
type budget struct{ waited time.Duration }

// complete makes one model call: it waits for the governor, sends, and
// retries 429s, 5xx and connection errors until MaxRetries, the
// MaxRetryWait budget or ctx's deadline says stop. It never sleeps past the
// deadline; it returns at once with the wait it would have needed.
func (w *Writer) complete(ctx context.Context, b *budget, req *goopenai.ChatCompletionRequest) (goopenai.ChatCompletionResponse, error) {
	tokens := estimateTokens(req)
	for retry := 0; ; retry++ {
		epoch, err := w.admit(ctx, b, tokens)
		if err != nil {
			return goopenai.ChatCompletionResponse{}, err
		}
		resp, f := w.send(ctx, req)
		switch {
		case f == nil:
			w.gov.release(epoch, succeeded)
			return resp, nil
		case f.status == http.StatusTooManyRequests:
			w.gov.release(epoch, rateLimited)
		default:
			w.gov.release(epoch, neutral)
		}
		if !f.retry {
			return resp, f.err
		}
		wait := f.hint
		if wait <= 0 {
			wait = jitter(retry, rand.Float64())
		}
		if f.status == http.StatusTooManyRequests {
			// Every call waits, not only this one.
			w.gov.pause(w.cfg.Now().Add(wait))
		}
		if retry >= w.cfg.MaxRetries || b.waited+wait > w.cfg.MaxRetryWait || !w.fits(ctx, wait) {
			return resp, f.giveUp(wait)
		}
		w.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "model call retry",
			slog.Int("retry", retry+1), slog.Int("status", f.status),
			slog.String("kind", f.kind.String()), slog.Duration("wait", wait))
		b.waited += wait
		if err := w.cfg.Sleep(ctx, wait); err != nil {
			return resp, ctxError(ctx)
		}
	}
}

// admit waits until the governor lets one attempt go: for a pause to end
// (counted against the retry budget), for the rate buckets, for a place
// among the calls in flight. It returns the epoch for release.
func (w *Writer) admit(ctx context.Context, b *budget, tokens int) (uint64, error) {
	reserved := false
	for {
		if d := w.gov.pauseLeft(w.cfg.Now()); d > 0 {
			if b.waited+d > w.cfg.MaxRetryWait || !w.fits(ctx, d) {
				if reserved {
					w.gov.unreserve(tokens)
				}
				return 0, &email.Error{Kind: email.KindRateLimited, RetryAfter: d,
					Err: errors.New("calls are paused after a rate limit")}
			}
			w.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "model call paused", slog.Duration("wait", d))
			b.waited += d
			if err := w.cfg.Sleep(ctx, d); err != nil {
				return 0, ctxError(ctx)
			}
			continue
		}
		if !reserved {
			reserved = true
			if d := w.gov.reserve(w.cfg.Now(), tokens); d > 0 {
				if !w.fits(ctx, d) {
					w.gov.unreserve(tokens)
					return 0, &email.Error{Kind: email.KindRateLimited, RetryAfter: d,
						Err: errors.New("client-side RPM/TPM limit")}
				}
				if err := w.cfg.Sleep(ctx, d); err != nil {
					return 0, ctxError(ctx)
				}
			}
		}
		epoch, err := w.gov.acquire(ctx)
		if err != nil {
			return 0, ctxError(ctx)
		}
		// A 429 may have paused everyone while this call waited.
		if w.gov.pauseLeft(w.cfg.Now()) > 0 {
			w.gov.release(epoch, neutral)
			continue
		}
		return epoch, nil
	}
}

// fits reports whether waiting d still leaves time before ctx's deadline.
func (w *Writer) fits(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || w.cfg.Now().Add(d).Before(deadline)
}

// failure is a failed attempt, classified.
type failure struct {
	kind   email.Kind
	status int
	retry  bool
	hint   time.Duration // the provider's Retry-After or rate limit reset
	err    error         // what to return when not retrying
}

// giveUp is the error after the last retry: a 429 carries how long to wait.
func (f *failure) giveUp(wait time.Duration) error {
	var e *email.Error
	if errors.As(f.err, &e) && e.Kind == email.KindRateLimited {
		e.RetryAfter = wait
	}
	return f.err
}

// send makes one HTTP attempt bounded by the per-call timeout.
func (w *Writer) send(ctx context.Context, req *goopenai.ChatCompletionRequest) (goopenai.ChatCompletionResponse, *failure) {
	ac := &attemptContext{Context: ctx}
	a := &ac.a
	var actx context.Context = ac
	if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > w.cfg.Timeout {
		// When ctx ends first the timeout would change nothing
		// (context.WithTimeout then keeps ctx's deadline), and classify
		// looks at ctx first: no timer for it. Contexts run on the real
		// clock, not cfg.Now.
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(actx, w.cfg.Timeout)
		defer cancel()
	}
	start := w.cfg.Now()
	resp, err := w.client.CreateChatCompletion(actx, *req)
	if o := w.cfg.Observer; o != nil && a.sent {
		o.ModelCalled(req.Model, w.cfg.Now().Sub(start), a.status)
	}
	if err == nil {
		return resp, nil
	}
	return resp, w.classify(ctx, actx, a, err)
}

// classify decides, once, what a failed attempt means: whether to retry,
// and which email.Kind the caller sees.
func (w *Writer) classify(ctx, actx context.Context, a *attempt, err error) *failure {
	if ctx.Err() != nil {
		return &failure{err: ctxError(ctx)}
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		// A call that hung for the whole timeout would likely hang again:
		// give the time back to the caller rather than retry.
		return &failure{kind: email.KindTimeout,
			err: &email.Error{Kind: email.KindTimeout, Err: fmt.Errorf("no answer within %v: %w", w.cfg.Timeout, err)}}
	}
	status, errType, code := 0, "", ""
	var apiErr *goopenai.APIError
	var reqErr *goopenai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status, errType = apiErr.HTTPStatusCode, apiErr.Type
		code, _ = apiErr.Code.(string)
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	case !a.sent:
		return &failure{kind: email.KindRejected, err: &email.Error{Kind: email.KindRejected, Err: err}}
	default:
		// A connection error, or a 2xx whose body was cut or broken.
		return &failure{kind: email.KindUnavailable, retry: true, status: a.status,
			err: &email.Error{Kind: email.KindUnavailable, Err: err}}
	}
	now := w.cfg.Now()
	f := &failure{status: status}
	switch {
	case status == http.StatusTooManyRequests && code == "insufficient_quota":
		// Out of credit: no wait will cure it.
		f.kind = email.KindRejected
	case status == http.StatusTooManyRequests:
		f.kind, f.retry = email.KindRateLimited, true
		f.hint = retryAfter(a.header, now)
		if f.hint <= 0 {
			f.hint = resetHint(a.header, errType)
		}
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		f.kind, f.retry = email.KindUnavailable, true
		f.hint = retryAfter(a.header, now)
	default:
		f.kind = email.KindRejected
	}
	f.err = &email.Error{Kind: f.kind, RetryAfter: f.hint, Err: err}
	return f
}

// ctxError is the error for a ctx that ran out: KindTimeout at the
// deadline; a cancellation is returned as it is.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return &email.Error{Kind: email.KindTimeout, Err: err}
	}
	return fmt.Errorf("openai: %w", err)
}

// retryAfter reads retry-after-ms (OpenAI's, in milliseconds) or
// Retry-After (seconds or an HTTP date); 0 when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return max(0, time.Duration(s*float64(time.Second)))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

// resetHint reads OpenAI's x-ratelimit-reset-requests and -tokens ("1s",
// "6m0s", "20ms"), preferring the one for the limit the error names.
func resetHint(h http.Header, errType string) time.Duration {
	if h == nil {
		return 0
	}
	reqs := parseReset(h.Get("x-ratelimit-reset-requests"))
	toks := parseReset(h.Get("x-ratelimit-reset-tokens"))
	if errType == "tokens" && toks > 0 {
		return toks
	}
	if reqs > 0 {
		return reqs
	}
	return toks
}

func parseReset(v string) time.Duration {
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// jitter is the full-jitter wait before retry number retry (from 0),
// given r uniform in [0, 1).
func jitter(retry int, r float64) time.Duration {
	return time.Duration(r * float64(backoff.Exponential(backoffBase, retry, backoffCap)))
}

// estimateTokens guesses a request's cost for the TPM bucket: about four
// characters a token for the prompt, plus the most the answer may use.
func estimateTokens(req *goopenai.ChatCompletionRequest) int {
	n := 0
	for i := range req.Messages {
		n += len(req.Messages[i].Content)
	}
	return n/4 + req.MaxCompletionTokens
}
