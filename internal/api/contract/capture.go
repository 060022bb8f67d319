package contract

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// body tees a request body into a copy as the handler reads it, so that
// the request is checked as the server read it: a handler that answers
// before reading (401) or stops at a limit (413) is not made to wait for
// a body it would not take.
type body struct {
	r    io.ReadCloser
	mu   sync.Mutex
	copy bytes.Buffer
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.mu.Lock()
	b.copy.Write(p[:n])
	b.mu.Unlock()
	return n, err
}

func (b *body) Close() error { return b.r.Close() }

// bytes returns what the handler read.
func (b *body) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.copy.Bytes())
}

// recorder passes an answer on as it is written, streamed answers
// included, and keeps a copy of its status, headers and body.
type recorder struct {
	http.ResponseWriter
	status int
	header http.Header // as sent with the status line
	copy   bytes.Buffer
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.header = w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.copy.Write(p)
	return w.ResponseWriter.Write(p)
}

// Flush keeps a streamed answer streaming.
func (w *recorder) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (the API sets
// read deadlines through it).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// response is the answer as a client read it.
func (w *recorder) response(req *http.Request) *http.Response {
	status, header := w.status, w.header
	if status == 0 { // nothing written: net/http sends 200 with no body
		status, header = http.StatusOK, w.ResponseWriter.Header().Clone()
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Header: header, Request: req,
		Body: io.NopCloser(bytes.NewReader(w.copy.Bytes())), ContentLength: int64(w.copy.Len()),
	}
}
