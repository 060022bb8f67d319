package campaign

import (
	"fmt"
	"time"
)

// The defaults of a campaign's limits and of the worker that writes it.
// Each is declared here once; config, the stores and the queues refer to
// these names rather than repeating the numbers.
const (
	// DefaultMaxProspects is the largest campaign (MAX_CAMPAIGN_PROSPECTS).
	DefaultMaxProspects = 10_000
	// DefaultTTL is how long a campaign and its emails are kept
	// (ITEM_TTL_DAYS).
	DefaultTTL = 30 * 24 * time.Hour
	// DefaultConcurrency bounds the emails a worker writes at once
	// (WORKER_CONCURRENCY).
	DefaultConcurrency = 16
	// DefaultMaxReceive is how many times a message is received before
	// the worker gives it up (MAX_RECEIVE_COUNT; the queue's redrive count).
	DefaultMaxReceive = 5
	// DefaultRetryDelay is the first backoff of a message that failed for a
	// reason that passes (RETRY_DELAY), doubled per receive up to
	// MaxRetryDelay.
	DefaultRetryDelay = 10 * time.Second
	// MaxRetryDelay caps that backoff.
	MaxRetryDelay = 5 * time.Minute
	// MaxMessageSize is the largest queue message body a Queue must take
	// (SQS's classic limit, 256 KiB).
	MaxMessageSize = 256 << 10
	// MaxSendDelay is the longest Queue.SendAfter delay (SQS's).
	MaxSendDelay = 15 * time.Minute
)

// CheckDelay is what every Queue.SendAfter checks before it sends.
func CheckDelay(body []byte, delay time.Duration) error {
	if len(body) > MaxMessageSize {
		return fmt.Errorf("send: body is %d bytes, more than %d", len(body), MaxMessageSize)
	}
	if delay < 0 || delay > MaxSendDelay {
		return fmt.Errorf("send: delay %s is not within 0 to %s", delay, MaxSendDelay)
	}
	return nil
}
