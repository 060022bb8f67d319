package api

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// readBody reads r's body, at most limit bytes and, when timeout is
// positive, within timeout of now. A body that stops coming is the
// client's doing, not the server's: stalled past the read deadline (this
// one or the server's ReadTimeout) it is 408 request_timeout; cut short
// (the client went away, a broken chunk) it is 400 malformed_request. The
// cause goes on the request's log line.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) ([]byte, error) {
	if timeout > 0 {
		// Without a connection (the Lambda adapter) the body is in memory
		// already: there is no deadline to set. net/http lifts it once
		// the body is in, to watch for the client leaving; after an error
		// it stays, so net/http's drain of the unread body gives up at
		// once.
		_ = setReadDeadline(w, time.Now().Add(timeout))
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), min(r.ContentLength, limit))
	if err == nil {
		return body, nil
	}
	// Declared past the common case: errors.As makes them escape, and
	// they would cost two allocations on every request.
	var (
		tooBig *http.MaxBytesError
		netErr net.Error
	)
	switch {
	case errors.As(err, &tooBig):
		return nil, err
	case errors.As(err, &netErr) && netErr.Timeout():
		addLog(r.Context(), slog.String("error", err.Error()))
		return nil, &Error{Status: http.StatusRequestTimeout, Code: "request_timeout",
			Message: "the request body did not arrive in time; send it whole and at once"}
	default:
		addLog(r.Context(), slog.String("error", err.Error()))
		return nil, &Error{Status: http.StatusBadRequest, Code: "malformed_request",
			Message: "the request body ended before it was complete"}
	}
}

// maxBodyHint bounds the buffer readAll makes before it has read
// anything: a client that claims a large body and sends nothing holds no
// more than this.
const maxBodyHint = 64 << 10

// readAll is io.ReadAll with a first buffer of size+1 bytes when size is
// known (a Content-Length) and small: the body and the read that finds its
// end then fit without growing it.
func readAll(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, 0, max(min(size, maxBodyHint)+1, 512))
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// setReadDeadline is http.NewResponseController(w).SetReadDeadline without
// the controller, which costs an allocation on every request: it finds the
// writer that can set the deadline, unwrapping middleware as the
// controller does. A writer that cannot is not an error here (the Lambda
// adapter's): nothing is returned then.
func setReadDeadline(w http.ResponseWriter, deadline time.Time) error {
	for {
		switch t := w.(type) {
		case interface{ SetReadDeadline(time.Time) error }:
			return t.SetReadDeadline(deadline)
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil
		}
	}
}
