// Package sqsqueue implements campaign.Queue on Amazon SQS (or an emulator
// that speaks its JSON protocol) with aws-sdk-go-v2.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"

	"github.com/ingren/ingren/internal/backoff"
	"github.com/ingren/ingren/internal/campaign"
)

const (
	// MaxBodySize is the largest body Send accepts. SQS itself takes up to
	// 1 MiB; the port promises 256 KiB, and so do the other backends.
	MaxBodySize = campaign.MaxMessageSize

	// maxBatchEntries and maxBatchBytes bound one SendMessageBatch or
	// DeleteMessageBatch request. 256 KiB rather than SQS's 1 MiB, so that
	// the adapter works with SQS-compatible endpoints that enforce the
	// smaller limit.
	maxBatchEntries = 10
	maxBatchBytes   = 256 << 10

	// maxWait is the longest long poll SQS allows.
	maxWait = 20 * time.Second
)

// Queue is a campaign.Queue on one SQS standard queue. Its dead-letter
// queue, if any, is the queue's redrive policy: SQS moves a message there
// when a receive would exceed maxReceiveCount.
//
// Bodies travel as SQS message bodies, unencoded, so they must be text that
// SQS accepts (JSON is): SQS rejects other bytes as InvalidMessageContents.
//
// A Queue is safe for concurrent use.
type Queue struct {
	client *sqs.Client
	url    string

	// parallel bounds the batch requests one Send or Delete has in flight.
	// Against fauxqs, 4 to 32 make no difference (fauxqs is the bottleneck);
	// against SQS, mind that the SDK's default transport keeps only 10 idle
	// connections per host.
	parallel int
	// attempts is how many times Send tries the entries of a batch that SQS
	// reports as failed (and not the sender's fault), backing off from
	// backoff, doubling, with jitter. Failed requests as a whole are the
	// SDK retryer's job.
	attempts int
	backoff  time.Duration
}

var _ campaign.Queue = (*Queue)(nil)

// New returns a Queue that sends to and receives from the queue at queueURL.
func New(client *sqs.Client, queueURL string) *Queue {
	return &Queue{
		client:   client,
		url:      queueURL,
		parallel: 16,
		attempts: 4,
		backoff:  50 * time.Millisecond,
	}
}

// SendAfter enqueues body with SendMessage and DelaySeconds: delay
// rounded up to whole seconds.
func (q *Queue) SendAfter(ctx context.Context, body []byte, delay time.Duration) error {
	if err := campaign.CheckDelay(body, delay); err != nil {
		return err
	}
	secs := int32((delay + time.Second - 1) / time.Second)
	if _, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: &q.url, MessageBody: aws.String(string(body)), DelaySeconds: secs,
	}); err != nil {
		return fmt.Errorf("send a message delayed %ds: %w", secs, err)
	}
	return nil
}

// Send enqueues bodies with SendMessageBatch, up to 10 bodies (and 256 KiB)
// a request, many requests at once. It checks every body's size before it
// sends any. On error, it says how many bodies were not sent; the others
// were.
func (q *Queue) Send(ctx context.Context, bodies [][]byte) error {
	for i, b := range bodies {
		if len(b) > MaxBodySize {
			return fmt.Errorf("send: body %d is %d bytes, more than %d", i, len(b), MaxBodySize)
		}
	}
	batches := batches(bodies)
	var sent atomic.Int64
	var (
		mu       sync.Mutex
		firstErr error // of failed entries, when no request failed
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(q.parallel)
	for _, b := range batches {
		g.Go(func() error {
			n, err := q.sendBatch(gctx, bodies, b)
			sent.Add(int64(n))
			var fe *entriesError
			if errors.As(err, &fe) {
				// Entries SQS refused: the other batches go on.
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return nil
			}
			return err
		})
	}
	err := g.Wait()
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return fmt.Errorf("send: %d of %d messages not sent: %w", len(bodies)-int(sent.Load()), len(bodies), err)
	}
	return nil
}

// batches splits bodies into runs of indexes that fit one SendMessageBatch.
func batches(bodies [][]byte) [][]int {
	var (
		out   [][]int
		cur   []int
		bytes int
	)
	for i, b := range bodies {
		if len(cur) == maxBatchEntries || (len(cur) > 0 && bytes+len(b) > maxBatchBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, i)
		bytes += len(b)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// entriesError reports the entries of a batch that SQS refused.
type entriesError struct {
	n     int
	first types.BatchResultErrorEntry
}

func (e *entriesError) Error() string {
	return fmt.Sprintf("%d entries failed, first: %s: %s",
		e.n, aws.ToString(e.first.Code), aws.ToString(e.first.Message))
}

// sendBatch sends the bodies at idx, retrying the entries SQS reports as
// failed, and returns how many were sent.
func (q *Queue) sendBatch(ctx context.Context, bodies [][]byte, idx []int) (int, error) {
	// Entry ids are the bodies' indexes, so a retry keeps them.
	pending := make([]types.SendMessageBatchRequestEntry, len(idx))
	for j, i := range idx {
		pending[j] = types.SendMessageBatchRequestEntry{
			Id:          aws.String(strconv.Itoa(i)),
			MessageBody: aws.String(string(bodies[i])),
		}
	}
	sent := 0
	for attempt := 1; ; attempt++ {
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{
			QueueUrl: &q.url,
			Entries:  pending,
		})
		if err != nil {
			return sent, err
		}
		sent += len(out.Successful)
		if len(out.Failed) == 0 {
			return sent, nil
		}
		retry := make(map[string]bool, len(out.Failed))
		var fatal *types.BatchResultErrorEntry
		for k, f := range out.Failed {
			if f.SenderFault {
				// The request is wrong (bad characters, say): a retry
				// would fail the same way.
				if fatal == nil {
					fatal = &out.Failed[k]
				}
				continue
			}
			retry[aws.ToString(f.Id)] = true
		}
		if fatal != nil || attempt == q.attempts {
			first := out.Failed[0]
			if fatal != nil {
				first = *fatal
			}
			return sent, &entriesError{n: len(out.Failed), first: first}
		}
		var next []types.SendMessageBatchRequestEntry
		for _, e := range pending {
			if retry[aws.ToString(e.Id)] {
				next = append(next, e)
			}
		}
		pending = next
		if err := backoff.Sleep(ctx, jitter(q.backoff<<(attempt-1))); err != nil {
			return sent, err
		}
	}
}

// Receive receives up to max messages with one ReceiveMessage call, long
// polling for wait rounded up to whole seconds (at most 20). A wait of 0
// sends no WaitTimeSeconds, so the queue's ReceiveMessageWaitTimeSeconds
// applies (0 unless set).
func (q *Queue) Receive(ctx context.Context, n int, wait time.Duration) ([]campaign.Delivery, error) {
	if n < 1 || n > maxBatchEntries {
		return nil, fmt.Errorf("receive: max %d, want 1 to %d", n, maxBatchEntries)
	}
	wait = min(max(wait, 0), maxWait)
	out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:            &q.url,
		MaxNumberOfMessages: int32(n),
		WaitTimeSeconds:     int32((wait + time.Second - 1) / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	msgs := make([]campaign.Delivery, len(out.Messages))
	for i, m := range out.Messages {
		count, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		if err != nil {
			return nil, fmt.Errorf("receive: message %s: ApproximateReceiveCount: %w", aws.ToString(m.MessageId), err)
		}
		msgs[i] = campaign.Delivery{
			ID:           aws.ToString(m.MessageId),
			Handle:       aws.ToString(m.ReceiptHandle),
			Body:         []byte(aws.ToString(m.Body)),
			ReceiveCount: count,
		}
	}
	return msgs, nil
}

// Delete deletes with DeleteMessageBatch, 10 handles a request. Handles SQS
// calls invalid are ignored, as the port asks; SQS itself accepts the
// handle of a message already deleted or received again by someone else
// (and then may not delete it).
func (q *Queue) Delete(ctx context.Context, handles []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(q.parallel)
	for start := 0; start < len(handles); start += maxBatchEntries {
		chunk := handles[start:min(start+maxBatchEntries, len(handles))]
		g.Go(func() error { return q.deleteBatch(gctx, chunk) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

func (q *Queue) deleteBatch(ctx context.Context, handles []string) error {
	entries := make([]types.DeleteMessageBatchRequestEntry, len(handles))
	for i, h := range handles {
		entries[i] = types.DeleteMessageBatchRequestEntry{
			Id:            aws.String(strconv.Itoa(i)),
			ReceiptHandle: aws.String(h),
		}
	}
	out, err := q.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{
		QueueUrl: &q.url,
		Entries:  entries,
	})
	if err != nil {
		var invalid *types.ReceiptHandleIsInvalid
		if errors.As(err, &invalid) {
			// Some endpoints fail the whole batch for one bad handle:
			// fall back to one request per handle.
			return q.deleteEach(ctx, handles)
		}
		return err
	}
	var errs []error
	for _, f := range out.Failed {
		if isInvalidHandle(aws.ToString(f.Code)) {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message)))
	}
	return errors.Join(errs...)
}

func (q *Queue) deleteEach(ctx context.Context, handles []string) error {
	for _, h := range handles {
		_, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &q.url, ReceiptHandle: aws.String(h)})
		var invalid *types.ReceiptHandleIsInvalid
		if err != nil && !errors.As(err, &invalid) {
			return err
		}
	}
	return nil
}

// isInvalidHandle reports whether a batch entry's error code says the
// receipt handle is not (or no longer) valid.
func isInvalidHandle(code string) bool {
	return strings.HasSuffix(code, "ReceiptHandleIsInvalid")
}

// Extend sets the message's visibility timeout with ChangeMessageVisibility,
// d rounded up to whole seconds (SQS allows at most 12 hours). SQS returns
// an error (MessageNotInflight) when the delivery has expired or the
// message was deleted.
func (q *Queue) Extend(ctx context.Context, handle string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("extend: negative timeout %v", d)
	}
	_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          &q.url,
		ReceiptHandle:     &handle,
		VisibilityTimeout: int32((d + time.Second - 1) / time.Second),
	})
	if err != nil {
		return fmt.Errorf("extend: %w", err)
	}
	return nil
}

// jitter returns a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
