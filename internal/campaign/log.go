package campaign

import (
	"context"
	"log/slog"
	"slices"
)

// logAttrsKey is the context key of the attributes that say which work a
// context is doing: the message, campaign and prospect a worker handles.
type logAttrsKey struct{}

// withLog returns ctx with attrs added to those every line logged with it
// carries (see LogHandler).
func withLog(ctx context.Context, attrs ...slog.Attr) context.Context {
	old, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return context.WithValue(ctx, logAttrsKey{}, append(slices.Clip(old), attrs...))
}

// LogHandler returns h adding to every record logged with a context the
// worker made the attributes of the work it is doing (campaign_id, tenant,
// index of the prospect, message_id), so that the lines of the packages
// below the worker, such as the model client's retries, say which prospect
// they are about. The programs' loggers use it; the Worker wraps its Log
// with it too, unless it already is one.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*logHandler); ok {
		return h
	}
	return &logHandler{next: h}
}

type logHandler struct{ next slog.Handler }

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs, _ := ctx.Value(logAttrsKey{}).([]slog.Attr); len(attrs) > 0 {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}
