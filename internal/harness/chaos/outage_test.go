package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/sqsevent"
	"github.com/ingren/ingren/internal/sqsqueue"
	"github.com/ingren/ingren/internal/testenv"
	"github.com/ingren/ingren/internal/testprog"
)

// proxy forwards TCP connections from its own address to target. Down
// closes its listener and cuts every connection with a reset; Up listens
// on the same address again. To a client that is what an emulator restart,
// a network partition or a load balancer dropping connections looks like.
type proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener // nil while down
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	// accepted counts connections, to show that traffic did go through.
	accepted atomic.Int64
}

func newProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	tb.Cleanup(p.Down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
}

func (p *proxy) forward(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // went down meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// Down stops accepting (new connections are refused) and resets every
// open connection, then waits until all forwarding has stopped.
func (p *proxy) Down() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN: the peer sees "connection reset"
		}
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Up listens on the proxy's address again.
func (p *proxy) Up(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("proxy up on %s: %v", p.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lambdaAPI calls the API Lambda's handler with API Gateway REST proxy
// events built from the recorded one in testdata, as API Gateway would
// after checking the key whose id is keyID.
func lambdaAPI(h func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error), keyID string) testprog.API {
	return func(tb testing.TB, method, path string, body any) (int, []byte) {
		tb.Helper()
		ev := testprog.APIEvent(tb, method, path, body)
		ev.RequestContext.Identity.APIKeyID = keyID
		res, err := h(context.Background(), ev)
		if err != nil {
			tb.Fatal(err)
		}
		return res.StatusCode, []byte(res.Body)
	}
}

// TestEmulatorOutage cuts the worker Lambda off from DynamoDB and SQS in
// the middle of a campaign, then restores them, and checks that the
// campaign still completes with every prospect exactly once and that no
// message went to the dead-letter queue.
//
// Why not restart the emulators themselves: DynamoDB Local runs -inMemory
// and fauxqs keeps queues in memory, so a restart loses the table and the
// queue, which the real services never do; the test would then only show
// that lost data is lost. What a restart, a partition or throttling does
// to the worker is that its SDK calls fail for a while, with connections
// refused or reset mid-request. A TCP proxy in front of each emulator,
// taken down and brought back up, does exactly that and keeps the state.
//
// Lambda's event source mapping is AWS's, not ours, and is not cut off:
// the test's stand-in for it reads the queue directly. The outage is
// shorter than the redrive allows: a message whose every receive fails
// goes to the dead-letter queue after MaxReceiveCount receives (SDK
// retries + visibility timeout each), leaving its prospect pending.
func TestEmulatorOutage(t *testing.T) {
	const invocationTimeout = 20 * time.Second
	n := pick(200, 1000)
	outages, outage := pick(1, 3), pick(4*time.Second, 8*time.Second)
	const visibility, maxReceive = 2 * time.Second, 20
	ddb, sqsc := testenv.DynamoDB(t), testenv.SQS(t)
	table := testenv.CreateTable(t, ddb)
	queueURL, dlqURL := testenv.CreateQueue(t, sqsc, visibility, maxReceive)
	ddbProxy := newProxy(t, hostOf(t, os.Getenv(testenv.EnvDynamoDBEndpoint)))
	sqsProxy := newProxy(t, hostOf(t, os.Getenv(testenv.EnvSQSEndpoint)))
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://"+ddbProxy.addr)
	t.Setenv("AWS_ENDPOINT_URL_SQS", "http://"+sqsProxy.addr)
	t.Setenv("AWS_REGION", testenv.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")

	up := openaitest.New(t, openaitest.WithLatency(100*time.Millisecond, 50*time.Millisecond))
	env := map[string]string{
		"TABLE_NAME": table, "QUEUE_URL": queueURL, "OPENAI_BASE_URL": up.URL, "OPENAI_API_KEY": "sk-chaos-test",
		"WORKER_CONCURRENCY": "8", "MAX_RECEIVE_COUNT": fmt.Sprint(maxReceive), "LOG_LEVEL": "error",
	}
	getenv := func(k string) string { return env[k] }
	apiH, err := app.NewAPILambda(context.Background(), getenv)
	if err != nil {
		t.Fatal(err)
	}
	workerH, err := app.NewWorkerLambda(context.Background(), getenv)
	if err != nil {
		t.Fatal(err)
	}
	call := lambdaAPI(apiH, "chaos-key-id")

	// The event source mapping: two invocations at a time, batches of up
	// to 10, reported failures left for the visibility timeout.
	var failures atomic.Int64
	direct := sqsqueue.New(sqsc, queueURL)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				msgs, err := direct.Receive(ctx, 10, time.Second)
				if err != nil || len(msgs) == 0 {
					continue
				}
				// Lambda gives each invocation its timeout as a deadline; the
				// worker's email leases end with it. A lease that an outage
				// kept the worker from releasing delays its email that long.
				ictx, icancel := context.WithTimeout(context.Background(), invocationTimeout)
				res, err := workerH(ictx, sqsevent.Event(msgs, "arn:aws:sqs:us-east-1:000000000000:work"))
				icancel()
				if err != nil {
					t.Error(err)
					return
				}
				failed := map[string]bool{}
				for _, f := range res.BatchItemFailures {
					failed[f.ItemIdentifier] = true
				}
				failures.Add(int64(len(failed)))
				var del []string
				for _, m := range msgs {
					if !failed[m.ID] {
						del = append(del, m.Handle)
					}
				}
				if err := direct.Delete(context.WithoutCancel(ctx), del); err != nil {
					t.Error(err)
				}
			}
		})
	}

	start := time.Now()
	id := submit(t, call, n, nil)
	var report []string
	for i := range outages {
		at := (i + 1) * n / (outages + 2)
		before := call.WaitFor(t, id, 60*time.Second, func(c testprog.Campaign) bool { return c.Succeeded+c.Failed >= at })
		if before.Done() {
			t.Fatalf("the campaign finished before outage %d", i+1)
		}
		failedBefore := failures.Load()
		ddbProxy.Down()
		sqsProxy.Down()
		time.Sleep(outage) // the outage itself, not a wait for something
		ddbProxy.Up(t)
		sqsProxy.Up(t)
		back := time.Now()
		after := call.WaitFor(t, id, 60*time.Second, func(c testprog.Campaign) bool {
			return c.Succeeded+c.Failed > before.Succeeded+before.Failed+20 || c.Done()
		})
		report = append(report, fmt.Sprintf("outage %d of %v at %d done: %d batch item failures; %d emails done within %v of recovery",
			i+1, outage, before.Succeeded+before.Failed, failures.Load()-failedBefore,
			after.Succeeded+after.Failed-before.Succeeded-before.Failed, time.Since(back).Round(time.Millisecond)))
	}
	c := call.WaitFor(t, id, pick(90*time.Second, 5*time.Minute), testprog.Campaign.Final)
	wall := time.Since(start)
	if c.Status != "completed" || c.Succeeded != n || c.Failed != 0 {
		t.Fatalf("campaign %+v, want completed with %d succeeded", c, n)
	}
	byStatus := checkExactlyOnce(t, call, c)

	dead, err := sqsc.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead.Messages) > 0 {
		t.Errorf("%d messages went to the dead-letter queue during the outage", len(dead.Messages))
	}
	if ddbProxy.accepted.Load() == 0 || sqsProxy.accepted.Load() == 0 {
		t.Fatalf("connections through the proxies: DynamoDB %d, SQS %d: the Lambdas went around them",
			ddbProxy.accepted.Load(), sqsProxy.accepted.Load())
	}
	first := firstCalls(t, up, n)
	for _, r := range report {
		t.Log(r)
	}
	t.Logf("%d prospects completed in %v: statuses %v; %d batch item failures in all; %d first model calls: %d prospects redone (written, then the write failed)",
		n, wall.Round(time.Millisecond), byStatus, failures.Load(), first.calls, first.redone)
}

func hostOf(tb testing.TB, endpoint string) string {
	tb.Helper()
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		tb.Fatalf("endpoint %q: %v", endpoint, errors.Join(err, errors.New("no host")))
	}
	return u.Host
}
