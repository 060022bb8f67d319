// Tests of the built Lambda binaries under the AWS Lambda Runtime Interface
// Emulator: the same bootstrap files that dist/*.zip holds (built for this
// machine's architecture), started the way Lambda starts them.
package functions_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/sqsevent"
	"github.com/ingren/ingren/internal/sqsqueue"
	"github.com/ingren/ingren/internal/testenv"
)

// rie finds the emulator binary: INGREN_RIE, or where make test installs it.
func rie(t *testing.T) string {
	t.Helper()
	p := os.Getenv("INGREN_RIE")
	if p == "" {
		p, _ = filepath.Abs("../.tools/bin/aws-lambda-rie")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("aws-lambda-rie not found at %s: make test installs it", p)
		}
		t.Skipf("aws-lambda-rie not found at %s: run make test, which installs it", p)
	}
	return p
}

// build compiles a function as make build does, for this machine.
func build(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, "./"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	return out
}

// lambda is one function running under the emulator.
type lambda struct {
	url string
	mu  sync.Mutex
	log bytes.Buffer
}

var initRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

func start(t *testing.T, emulator, bootstrap string, env map[string]string) *lambda {
	t.Helper()
	addr, runtimeAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Both addresses are set: the emulator's Runtime API defaults to a fixed
	// port (9001), which two emulators (or two test runs) would share.
	cmd := exec.CommandContext(ctx, emulator, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", runtimeAddr, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	l := &lambda{url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			l.mu.Lock()
			l.log.WriteString(s.Text() + "\n")
			l.mu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		pw.Close()
		if t.Failed() {
			t.Logf("emulator log:\n%s", l.logs())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (l *lambda) logs() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log.String()
}

// invoke sends an event and decodes the function's answer into out.
func (l *lambda) invoke(t *testing.T, event, out any) {
	t.Helper()
	b, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(l.url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("invoke: %d %s", res.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("invoke answer %s: %v", body, err)
	}
}

// initMillis is the cold start the emulator measured.
func (l *lambda) initMillis(t *testing.T) float64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m := initRE.FindStringSubmatch(l.logs()); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no INIT REPORT in the emulator log")
	return 0
}

func apiEvent(t *testing.T, method, path, body string) events.APIGatewayProxyRequest {
	t.Helper()
	b, err := os.ReadFile("../testdata/events/apigw-generate-email.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if method != "" {
		ev.HTTPMethod, ev.Path, ev.Resource, ev.Body = method, path, path, body
	}
	return ev
}

func TestBinariesUnderRIE(t *testing.T) {
	emulator := rie(t)
	ddb, sqsc := testenv.DynamoDB(t), testenv.SQS(t)
	table := testenv.CreateTable(t, ddb)
	queueURL, _ := testenv.CreateQueue(t, sqsc, 5*time.Second, 3)
	up := openaitest.New(t)
	env := map[string]string{
		"TABLE_NAME": table, "QUEUE_URL": queueURL, "OPENAI_BASE_URL": up.URL, "OPENAI_API_KEY": "sk-test",
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_DYNAMODB": os.Getenv("INGREN_DYNAMODB_ENDPOINT"), "AWS_ENDPOINT_URL_SQS": os.Getenv("INGREN_SQS_ENDPOINT"),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_MAX_ATTEMPTS": strconv.Itoa(testenv.MaxAttempts),
	}
	api := start(t, emulator, build(t, "api"), env)
	worker := start(t, emulator, build(t, "worker"), env)

	var res events.APIGatewayProxyResponse
	api.invoke(t, apiEvent(t, "", "", ""), &res)
	if res.StatusCode != 200 || !strings.Contains(res.Body, `"subject"`) || !strings.Contains(res.Body, "Sarah") {
		t.Fatalf("generate-email: %d %s", res.StatusCode, res.Body)
	}
	apiInit := api.initMillis(t)

	api.invoke(t, apiEvent(t, "POST", "/api/v1/campaigns",
		`{"prospects": [{"prospect": {"first_name": "Ana"}, "company": {"company_name": "Acme"}}, {"prospect": {"first_name": "Bo"}, "company": {"company_name": "Beta"}}]}`), &res)
	if res.StatusCode != 202 {
		t.Fatalf("submit: %d %s", res.StatusCode, res.Body)
	}
	var acc struct {
		CampaignID string `json:"campaign_id"`
	}
	_ = json.Unmarshal([]byte(res.Body), &acc)

	// Feed the worker binary what the queue holds, as Lambda would, until
	// the campaign is done: first the expand message, then the items.
	q := sqsqueue.New(sqsc, queueURL)
	var workerInit float64
	deadline := time.Now().Add(60 * time.Second)
	for {
		api.invoke(t, apiEvent(t, "GET", "/api/v1/campaigns/"+acc.CampaignID, ""), &res)
		if strings.Contains(res.Body, `"status":"completed"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign not completed: %s", res.Body)
		}
		msgs, err := q.Receive(context.Background(), 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			continue
		}
		var out events.SQSEventResponse
		worker.invoke(t, sqsevent.Event(msgs, "arn:aws:sqs:us-east-1:000000000000:work"), &out)
		if len(out.BatchItemFailures) != 0 {
			t.Fatalf("worker reported failures %v", out.BatchItemFailures)
		}
		var handles []string
		for _, m := range msgs {
			handles = append(handles, m.Handle)
		}
		if err := q.Delete(context.Background(), handles); err != nil {
			t.Fatal(err)
		}
		if workerInit == 0 {
			workerInit = worker.initMillis(t)
		}
	}
	if up.Count() != 3 {
		t.Errorf("model calls %d, want 3 (one single email, two campaign emails)", up.Count())
	}
	// The mains write their metrics to stdout as EMF lines, which Lambda
	// sends to the log group, where CloudWatch reads them.
	for _, want := range []struct {
		l            *lambda
		name, metric string
	}{{api, "api", "ingren_model_latency_seconds"}, {api, "api", "ingren_emails_total"}, {worker, "worker", "ingren_emails_total"}} {
		if !hasEMF(want.l.logs(), want.metric) {
			t.Errorf("the %s binary wrote no EMF line of %s:\n%s", want.name, want.metric, want.l.logs())
		}
	}
	// The goal is under 100 ms; it is recorded, not asserted, because a
	// loaded CI machine is no measure of Lambda.
	t.Logf("cold start (INIT REPORT): api %.1f ms, worker %.1f ms", apiInit, workerInit)
	fmt.Fprintf(os.Stderr, "rie: cold start api=%.1fms worker=%.1fms\n", apiInit, workerInit)
}

// hasEMF reports whether log has an Embedded Metric Format line of
// namespace Ingren that defines metric.
func hasEMF(log, metric string) bool {
	for _, line := range strings.Split(log, "\n") {
		i := strings.Index(line, `{"_aws":`)
		if i < 0 {
			continue
		}
		var emf struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace string
					Metrics   []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if json.Unmarshal([]byte(line[i:]), &emf) != nil {
			continue
		}
		for _, d := range emf.AWS.CloudWatchMetrics {
			for _, m := range d.Metrics {
				if d.Namespace == "Ingren" && m.Name == metric {
					return true
				}
			}
		}
	}
	return false
}
