// Package backoff says how long to wait before trying something again, and
// waits. The worker's redelivery delay, the model client's retries and the
// DynamoDB store's retries each choose their base, cap and jitter; the
// doubling and the wait are written once, here.
package backoff

import (
	"context"
	"time"
)

// Exponential is base doubled attempt times (attempt 0 is base itself),
// never more than limit.
func Exponential(base time.Duration, attempt int, limit time.Duration) time.Duration {
	d := base
	for i := 0; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Sleep waits d, or until ctx ends and then returns its error. With d <= 0
// it only reports whether ctx has ended.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
