package campaign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ingren/ingren/internal/email"
)

// Mode is how a campaign's emails are written.
type Mode string

// Modes. A campaign stored before modes existed reads as realtime.
const (
	// ModeRealtime calls the model once per email as the worker gets to
	// it: results in minutes, at the provider's full price.
	ModeRealtime Mode = "realtime"
	// ModeBatch hands the first call of every email to the provider's
	// Batch API (OpenAI's: half the price, results within 24 hours); lint,
	// repair and review then run as in realtime.
	ModeBatch Mode = "batch"
)

// Valid reports whether m is one of the modes above.
func (m Mode) Valid() bool { return m == ModeRealtime || m == ModeBatch }

// CheckModes is what the stores check of the modes they are given
// (Create's, "" meaning realtime, and SwitchMode's two): each must be one
// of the modes above.
func CheckModes(modes ...Mode) error {
	for _, m := range modes {
		if !m.Valid() {
			return fmt.Errorf("mode %q is not %s or %s", m, ModeRealtime, ModeBatch)
		}
	}
	return nil
}

// BatchStatus is a provider batch's state as the worker last saw it: the
// provider's own status, or BatchPreparing before the batch exists.
type BatchStatus string

// Batch states: BatchPreparing is ours; the others are OpenAI's.
const (
	BatchPreparing  BatchStatus = "preparing"
	BatchValidating BatchStatus = "validating"
	BatchInProgress BatchStatus = "in_progress"
	BatchFinalizing BatchStatus = "finalizing"
	BatchCompleted  BatchStatus = "completed"
	BatchFailed     BatchStatus = "failed"
	BatchExpired    BatchStatus = "expired"
	BatchCancelling BatchStatus = "cancelling"
	BatchCancelled  BatchStatus = "cancelled"
)

// Ended reports whether the provider is done with a batch in status s:
// its output and error files, if any, are final.
func (s BatchStatus) Ended() bool {
	return s == BatchCompleted || s == BatchFailed || s == BatchExpired || s == BatchCancelled
}

// Batch is one provider batch of a batch-mode campaign: the emails whose
// first call it makes, and how far it got.
type Batch struct {
	// Key names the batch within its campaign; the worker chooses it so
	// that a redelivered message finds the batch it already added.
	Key string
	// Attempt is 1 for a campaign's first batches; a batch retrying the
	// lines another could not answer has that one's Attempt plus 1.
	Attempt int
	// Indexes are the emails in the batch, ascending.
	Indexes []int
	Status  BatchStatus
	// ProviderID is the provider's batch id, "" until created;
	// InputFileID, OutputFileID and ErrorFileID its files, "" until
	// known.
	ProviderID   string
	InputFileID  string
	OutputFileID string
	ErrorFileID  string
	// Completed and Failed are the provider's request counts.
	Completed int
	Failed    int
	// Error is the provider's reason for a batch that failed.
	Error string
	// Collected is true once the batch's results were handed on: every
	// answered line to be written, every other one retried or failed.
	Collected bool
	// CheckedBy and CheckedAt name the chain of check messages that polls
	// the batch and when it took the batch on, so that of two chains (after
	// a duplicate delivery) one goes on.
	CheckedBy string
	CheckedAt time.Time
	// Version counts the batch's writes: Store.UpdateBatch is conditional
	// on it.
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CheckNew refuses a batch that Store.AddBatch cannot store as the port
// says, and returns its indexes as FormatIndexes writes them, which is how
// the stores keep them.
func (b *Batch) CheckNew() (string, error) {
	if b.Key == "" {
		return "", errors.New("the batch has no key")
	}
	if b.Attempt < 1 {
		return "", fmt.Errorf("attempt %d is not 1 or more", b.Attempt)
	}
	if len(b.Indexes) == 0 {
		return "", errors.New("the batch has no indexes")
	}
	indexes := FormatIndexes(b.Indexes)
	// ParseIndexes refuses what FormatIndexes writes of indexes that are
	// negative, repeated or out of order.
	if _, err := ParseIndexes(indexes); err != nil {
		return "", fmt.Errorf("indexes must be ascending and not negative: %w", err)
	}
	return indexes, b.CheckState()
}

// CheckState refuses the fields Store.UpdateBatch writes when they cannot
// be a batch's.
func (b *Batch) CheckState() error {
	if b.Key == "" {
		return errors.New("the batch has no key")
	}
	if b.Status == "" {
		return errors.New("the batch has no status")
	}
	if b.Completed < 0 || b.Failed < 0 {
		return fmt.Errorf("request counts %d completed, %d failed are negative", b.Completed, b.Failed)
	}
	return nil
}

// BatchInfo is a provider batch as the provider reports it.
type BatchInfo struct {
	ID           string
	Status       BatchStatus
	InputFileID  string
	OutputFileID string
	ErrorFileID  string
	Total        int
	Completed    int
	Failed       int
	// Errors are the provider's reasons for a batch that failed as a
	// whole (its input file refused, say).
	Errors []string
}

// BatchResult is one line of a batch's output or error file.
type BatchResult struct {
	// CustomID is the line's custom_id as the input file had it.
	CustomID string
	// Answer is the model's answer, nil when the line failed.
	Answer *email.Completion
	// Error is the provider's reason for a failed line.
	Error string
}

// Batches is a model provider's Batch API: OpenAI's Files and Batches
// endpoints. Implementations are safe for concurrent use.
type Batches interface {
	// Line renders p's first call as one line of a batch input file
	// (JSONL, no newline), under customID.
	Line(customID string, p email.Prompt) ([]byte, error)
	// Upload stores lines, one JSONL line each, as a batch input file
	// named name, and returns its id. ErrBatchUnsupported when the
	// provider has no Files or Batch API.
	Upload(ctx context.Context, name string, lines [][]byte) (string, error)
	// Create starts a batch over an uploaded input file, with a 24 h
	// completion window. ErrBatchUnsupported as for Upload.
	Create(ctx context.Context, inputFileID string, metadata map[string]string) (BatchInfo, error)
	// Find returns the provider's batch over inputFileID, if one was
	// created (a worker that died between creating a batch and storing its
	// id looks here before creating another).
	Find(ctx context.Context, inputFileID string) (BatchInfo, bool, error)
	// Get returns a batch as it is now.
	Get(ctx context.Context, id string) (BatchInfo, error)
	// Cancel asks the provider to cancel a batch; cancelling one that
	// ended is not an error.
	Cancel(ctx context.Context, id string) error
	// Results reads an output or error file, line by line.
	Results(ctx context.Context, fileID string) ([]BatchResult, error)
	// DeleteFile deletes a file; one already gone is not an error.
	DeleteFile(ctx context.Context, id string) error
}

// ErrBatchUnsupported is a provider without the Batch API (some
// OpenAI-compatible servers answer 404): the campaign falls back to
// realtime.
var ErrBatchUnsupported = errors.New("the model provider has no Batch API")

// FormatIndexes writes ascending indexes compactly, as ranges:
// "0-499,501,503-999". Stores keep Batch.Indexes so.
func FormatIndexes(indexes []int) string {
	var b strings.Builder
	for i := 0; i < len(indexes); {
		j := i
		for j+1 < len(indexes) && indexes[j+1] == indexes[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(indexes[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(indexes[j]))
		}
		i = j + 1
	}
	return b.String()
}

// ParseIndexes reads what FormatIndexes wrote.
func ParseIndexes(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("indexes %q: bad index %q", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("indexes %q: bad range %q", s, part)
			}
		}
		if n := len(out); n > 0 && a <= out[n-1] {
			return nil, fmt.Errorf("indexes %q: not ascending at %q", s, part)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}
