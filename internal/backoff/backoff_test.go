package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestExponential(t *testing.T) {
	for _, tc := range []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{"FirstIsBase", 0, time.Second},
		{"Doubles", 3, 8 * time.Second},
		{"StopsAtLimit", 9, time.Minute},
		{"NoOverflow", 1 << 20, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Exponential(time.Second, tc.attempt, time.Minute); got != tc.want {
				t.Fatalf("Exponential(1s, %d, 1m) = %v, want %v", tc.attempt, got, tc.want)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if err := Sleep(ctx, time.Millisecond); err != nil {
		t.Fatalf("Sleep on a live context: %v", err)
	}
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on an ended context: %v, want context.Canceled", err)
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(0) on an ended context: %v, want context.Canceled", err)
	}
}
