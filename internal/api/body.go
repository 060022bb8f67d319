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
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var (
		tooBig *http.MaxBytesError
		netErr net.Error
	)
	switch {
	case err == nil:
		return body, nil
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
