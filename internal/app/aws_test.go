package app_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/dynamo"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/sqsevent"
	"github.com/ingren/ingren/internal/sqsqueue"
	"github.com/ingren/ingren/internal/testenv"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/internal/webhook"
	"github.com/ingren/ingren/prompts"
)

type apiHandler = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
type workerHandler = func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// awsWorld is the AWS deployment on emulators: DynamoDB Local, fauxqs, and
// the two Lambda handlers built exactly as their mains build them.
type awsWorld struct {
	api      apiHandler
	worker   workerHandler
	queue    *sqsqueue.Queue
	sqs      *sqs.Client
	queueURL string
	dlqURL   string
	table    string
}

func newAWSWorld(t *testing.T, upstream string, extra map[string]string) *awsWorld {
	t.Helper()
	ddb := testenv.DynamoDB(t)
	sqsc := testenv.SQS(t)
	table := testenv.CreateTable(t, ddb)
	url, dlq := testenv.CreateQueue(t, sqsc, 2*time.Second, 3)
	// The SDK's own variables point the Lambdas' clients at the emulators.
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", os.Getenv("INGREN_DYNAMODB_ENDPOINT"))
	t.Setenv("AWS_ENDPOINT_URL_SQS", os.Getenv("INGREN_SQS_ENDPOINT"))
	t.Setenv("AWS_ENDPOINT_URL_SSM", fakeSSM(t, map[string]string{
		openAIKeyParam: ssmOpenAIKey, webhookSecretParam: ssmWebhookSecret,
	}))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_MAX_ATTEMPTS", strconv.Itoa(testenv.MaxAttempts))
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	env := map[string]string{
		"TABLE_NAME": table, "QUEUE_URL": url, "OPENAI_BASE_URL": upstream,
		"OPENAI_API_KEY_PARAM": openAIKeyParam, "WEBHOOK_SECRET_PARAM": webhookSecretParam,
		"WORKER_CONCURRENCY": "8", "MAX_RECEIVE_COUNT": "3", "LOG_LEVEL": "error", "OPENAI_TIMEOUT": "2s",
		"RETRY_DELAY": "1s",
	}
	for k, v := range extra {
		env[k] = v
	}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	apiH, err := app.NewAPILambda(ctx, getenv)
	if err != nil {
		t.Fatal(err)
	}
	workerH, err := app.NewWorkerLambda(ctx, getenv)
	if err != nil {
		t.Fatal(err)
	}
	return &awsWorld{api: contract.Lambda(t, apiH), worker: workerH, queue: sqsqueue.New(sqsc, url), sqs: sqsc, queueURL: url, dlqURL: dlq, table: table}
}

// The secrets the Lambdas read from SSM at cold start, as infra deploys
// them: the names in their environment, the values in SSM.
const (
	openAIKeyParam     = "/ingren/test/openai-api-key"
	webhookSecretParam = "/ingren/test/webhook-secret"
	ssmOpenAIKey       = "sk-test-from-ssm"
	ssmWebhookSecret   = "whsec-test-from-ssm"
)

// fakeSSM serves params by GetParameter, as SSM's JSON protocol does (no
// emulator that .ci starts serves SSM), and returns its URL.
func fakeSSM(t *testing.T, params map[string]string) string {
	t.Helper()
	fail := func(w http.ResponseWriter, kind, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": kind, "message": msg})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name           string
			WithDecryption bool
		}
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" || json.Unmarshal(body, &in) != nil {
			fail(w, "UnknownOperationException", "the fake serves GetParameter only")
			return
		}
		v, ok := params[in.Name]
		if !ok {
			fail(w, "ParameterNotFound", in.Name)
			return
		}
		if !in.WithDecryption {
			fail(w, "ValidationException", "the fake serves SecureStrings decrypted only")
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
			"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1,
		}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// call sends one API Gateway REST proxy event, built from the recorded one
// in testdata, to the API Lambda's handler.
func (w *awsWorld) call(t *testing.T, method, path, keyID string, body any) (int, string) {
	t.Helper()
	res := w.send(t, method, path, keyID, body)
	return res.StatusCode, res.Body
}

// send is call, returning the whole response.
func (w *awsWorld) send(t *testing.T, method, path, keyID string, body any) events.APIGatewayProxyResponse {
	t.Helper()
	return w.sendHeaders(t, method, path, keyID, body, nil)
}

// sendHeaders is send with more request headers.
func (w *awsWorld) sendHeaders(t *testing.T, method, path, keyID string, body any, hdr map[string]string) events.APIGatewayProxyResponse {
	t.Helper()
	ev := testprog.APIEvent(t, method, path, body)
	ev.RequestContext.Identity.APIKeyID = keyID
	for k, v := range hdr {
		ev.Headers[k] = v
		ev.MultiValueHeaders[k] = []string{v}
	}
	res, err := w.api(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// invocationTimeout is the worker Lambda's timeout in these tests. Lambda
// gives each invocation a context with that deadline; the worker's email
// leases end with it.
const invocationTimeout = 10 * time.Second

// invoke calls the worker handler as Lambda would: with a deadline.
func (w *awsWorld) invoke(ev events.SQSEvent) (events.SQSEventResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), invocationTimeout)
	defer cancel()
	return w.worker(ctx, ev)
}

// poll is the test's stand-in for Lambda's event source mapping: it
// receives messages and hands them to the worker handler as real SQS
// events, deleting all but the reported failures. deliver can alter how a
// batch is delivered (for example twice).
func (w *awsWorld) poll(t *testing.T, ctx context.Context, deliver func(ev events.SQSEvent) []events.SQSEventResponse) {
	t.Helper()
	if deliver == nil {
		deliver = func(ev events.SQSEvent) []events.SQSEventResponse {
			res, err := w.invoke(ev)
			if err != nil {
				t.Error(err)
			}
			return []events.SQSEventResponse{res}
		}
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	for range 2 { // two concurrent invocations, as Lambda would run
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				msgs, err := w.queue.Receive(ctx, 10, time.Second)
				if err != nil || len(msgs) == 0 {
					continue
				}
				failed := map[string]bool{}
				for _, res := range deliver(sqsevent.Event(msgs, "arn:aws:sqs:us-east-1:000000000000:work")) {
					for _, f := range res.BatchItemFailures {
						failed[f.ItemIdentifier] = true
					}
				}
				var del []string
				for _, m := range msgs {
					if !failed[m.ID] {
						del = append(del, m.Handle)
					}
				}
				if err := w.queue.Delete(context.WithoutCancel(ctx), del); err != nil {
					t.Error(err)
				}
			}
		}()
	}
}

func (w *awsWorld) waitDone(t *testing.T, keyID, id string, timeout time.Duration) testprog.Campaign {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var c testprog.Campaign
	for time.Now().Before(deadline) {
		status, body := w.call(t, "GET", "/api/v1/campaigns/"+id, keyID, nil)
		if status != 200 {
			t.Fatalf("GET campaign: %d %s", status, body)
		}
		c = testprog.MustDecode[testprog.Campaign](t, []byte(body))
		if c.Status != "queued" && c.Status != "running" {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("campaign not done after %v: %+v", timeout, c)
	return c
}

func (w *awsWorld) submit(t *testing.T, keyID string, n int) string {
	t.Helper()
	status, body := w.call(t, "POST", "/api/v1/campaigns", keyID, map[string]any{"name": "e2e", "prospects": testprog.Prospects(n)})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	return testprog.MustDecode[testprog.Campaign](t, []byte(body)).CampaignID
}

func TestAWSCampaignEndToEnd(t *testing.T) {
	// The upstream takes only the key the Lambdas read from SSM, and the
	// webhook is signed with the secret read from there too.
	up := openaitest.New(t, openaitest.WithAPIKey(ssmOpenAIKey))
	type delivery struct {
		timestamp, signature string
		body                 []byte
	}
	hooks := make(chan delivery, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- delivery{r.Header.Get(webhook.TimestampHeader), r.Header.Get(webhook.SignatureHeader), b}
	}))
	defer hook.Close()
	w := newAWSWorld(t, up.URL, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.poll(t, ctx, nil)

	status, body := w.call(t, "POST", "/api/v1/campaigns", "key-a",
		map[string]any{"name": "e2e", "prospects": testprog.Prospects(30), "webhook_url": hook.URL})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	id := testprog.MustDecode[testprog.Campaign](t, []byte(body)).CampaignID
	c := w.waitDone(t, "key-a", id, 60*time.Second)
	if c.Status != "completed" || c.Succeeded != 30 || c.Pending != 0 || c.Usage.TotalTokens == 0 {
		t.Fatalf("campaign %+v", c)
	}
	if up.Count() != 30 {
		t.Errorf("model calls %d, want 30", up.Count())
	}
	select {
	case d := <-hooks:
		if !webhook.Verify([]byte(ssmWebhookSecret), d.timestamp, d.body, d.signature) {
			t.Errorf("webhook signature %q does not verify with the secret in SSM", d.signature)
		}
		if !strings.Contains(string(d.body), id) {
			t.Errorf("webhook body %s does not name campaign %s", d.body, id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook 30 s after the campaign completed")
	}
	status, body = w.call(t, "GET", "/api/v1/campaigns/"+id+"/emails?limit=25", "key-a", nil)
	page := testprog.MustDecode[testprog.Emails](t, []byte(body))
	if status != 200 || len(page.Emails) != 25 || page.NextCursor == "" || page.Emails[24].Index != 24 {
		t.Fatalf("emails page: %d %d emails, cursor %q", status, len(page.Emails), page.NextCursor)
	}
	status, body = w.call(t, "GET", "/api/v1/campaigns/"+id+"/emails?format=csv", "key-a", nil)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if status != 200 || err != nil || len(rows) != 31 || rows[30][0] != testprog.Ref(29) {
		t.Fatalf("csv: %d %v %d rows", status, err, len(rows))
	}
	if status, _ := w.call(t, "GET", "/api/v1/campaigns/"+id, "key-b", nil); status != 404 {
		t.Fatalf("another key's GET: %d, want 404", status)
	}
}

// A campaign cancelled before the worker takes it is listed as cancelled.
// Listing reads the table's index, which IAM grants apart from the table.
func TestAWSCancelAndListCampaigns(t *testing.T) {
	up := openaitest.New(t)
	w := newAWSWorld(t, up.URL, nil) // no poller: the campaign stays queued
	id := w.submit(t, "key-a", 3)
	status, body := w.call(t, "DELETE", "/api/v1/campaigns/"+id, "key-a", nil)
	if c := testprog.MustDecode[testprog.Campaign](t, []byte(body)); status != 200 || c.Status != "cancelled" {
		t.Fatalf("cancel: %d %s, want 200 cancelled", status, body)
	}
	status, body = w.call(t, "GET", "/api/v1/campaigns", "key-a", nil)
	list := testprog.MustDecode[struct{ Campaigns []testprog.Campaign }](t, []byte(body))
	if status != 200 || len(list.Campaigns) != 1 || list.Campaigns[0].CampaignID != id || list.Campaigns[0].Status != "cancelled" {
		t.Fatalf("list: %d %s, want campaign %s cancelled", status, body, id)
	}
	if up.Count() != 0 {
		t.Fatalf("model calls %d for a cancelled campaign", up.Count())
	}
}

// A submit that fails midway frees its Idempotency-Key, so that the
// client's retry creates the campaign instead of waiting on a claim that
// nothing will complete.
func TestAWSFailedSubmitReleasesItsIdempotencyKey(t *testing.T) {
	up := openaitest.New(t)
	w := newAWSWorld(t, up.URL, nil)
	failNext(t, "api", "DynamoDB.BatchWriteItem", 1)
	sub := map[string]any{"name": "retried", "prospects": testprog.Prospects(3)}
	hdr := map[string]string{"Idempotency-Key": "submit-that-fails-once"}
	if res := w.sendHeaders(t, "POST", "/api/v1/campaigns", "key-a", sub, hdr); res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("first submit: %d %s, want 500 from the failed write", res.StatusCode, res.Body)
	}
	if res := w.sendHeaders(t, "POST", "/api/v1/campaigns", "key-a", sub, hdr); res.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: %d %s, want 202: the failed submit kept its claim on the key", res.StatusCode, res.Body)
	}
}

// A prospect whose model calls all fail is given back to the queue: its
// lease is released and its message comes back after RETRY_DELAY, not the
// queue's visibility timeout, and the next delivery writes it.
func TestAWSTransientFailureIsRetried(t *testing.T) {
	// One delivery's calls: the first try and the writer's 3 retries.
	fail := openaitest.Reply{Status: http.StatusInternalServerError}
	up := openaitest.New(t, openaitest.WithScript(fail, fail, fail, fail))
	w := newAWSWorld(t, up.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.poll(t, ctx, nil)
	id := w.submit(t, "key-a", 1)
	c := w.waitDone(t, "key-a", id, 60*time.Second)
	if c.Status != "completed" || c.Succeeded != 1 {
		t.Fatalf("campaign %+v, want its one prospect written on the second delivery", c)
	}
	if sc := up.StatusCounts(); sc[500] != 4 || sc[200] != 1 {
		t.Fatalf("model answers %v, want 4 failures then 1 success", sc)
	}
}

// Lambda refuses a response over 6 MB, and a 10,000-prospect campaign's CSV
// is larger. Under a bound (8 KB here, 4 MiB deployed) the CSV export comes
// in chunks, each naming the next one's cursor, and a JSON page that would
// pass it comes back shorter, with a next_cursor.
func TestAWSListsFitLambdaResponses(t *testing.T) {
	const bound = 8 << 10
	w := boundedWorld(t, bound)
	const n = 30
	id := w.submit(t, "key-a", n)
	if c := w.waitDone(t, "key-a", id, 60*time.Second); c.Succeeded != n {
		t.Fatalf("campaign %+v", c)
	}

	var all strings.Builder
	chunks := w.csvChunks(t, "/api/v1/campaigns/"+id+"/emails?format=csv", bound)
	for i, c := range chunks {
		all.WriteString(c.body)
		if link := c.link; i < len(chunks)-1 && (len(link) != 1 || !strings.Contains(link[0], `rel="next"`)) {
			t.Fatalf("chunk %d: Link %q", i+1, link)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(all.String())).ReadAll()
	if err != nil || len(rows) != n+1 || rows[0][0] != "ref" {
		t.Fatalf("the concatenated chunks: %v, %d rows", err, len(rows))
	}
	subject := slices.Index(rows[0], "subject")
	for i, row := range rows[1:] {
		if want := testprog.Ref(i); row[0] != want || row[subject] == "" {
			t.Fatalf("row %d: ref %q subject %q, want %s with an email", i+1, row[0], row[subject], want)
		}
	}
	if len(chunks) < 2 {
		t.Fatalf("%d chunks: the bound did not cut the export", len(chunks))
	}

	seen, pages, cursor := 0, 0, ""
	for {
		path := "/api/v1/campaigns/" + id + "/emails?limit=1000"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		status, body := w.call(t, "GET", path, "key-a", nil)
		page := testprog.MustDecode[testprog.Emails](t, []byte(body))
		if status != 200 || len(body) > bound || len(page.Emails) == 0 {
			t.Fatalf("page %d: status %d, %d bytes, %d emails", pages, status, len(body), len(page.Emails))
		}
		for _, e := range page.Emails {
			if e.Index != seen {
				t.Fatalf("page %d: index %d, want %d", pages, e.Index, seen)
			}
			seen++
		}
		pages++
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if seen != n || pages < 2 {
		t.Fatalf("%d emails in %d pages, want %d in several", seen, pages, n)
	}
	t.Logf("CSV in %d chunks, JSON in %d pages, each under %d bytes", len(chunks), pages, bound)
}

// A CSV campaign's export with columns=input comes in chunks under the
// bound like the standard one: the first chunk alone has the header (the
// file's own, then the email's), each Link keeps columns=input, and the
// chunks together are the file's rows, formulas defused, with their
// emails. A column name with a line break stays whole when a page is cut
// to fit. A JSON campaign asked for its input columns gets a 422.
func TestAWSCSVInputExportInChunks(t *testing.T) {
	const bound = 8 << 10
	w := boundedWorld(t, bound)
	const n = 30
	var file strings.Builder
	file.WriteString("Record ID,First Name,Company,\"=Notes\r\n(free text)\"\r\n")
	for i := range n {
		fmt.Fprintf(&file, "%s,Pat%d,Co%d Inc,=1+%d\r\n", testprog.Ref(i), i, i, i)
	}
	res := w.sendHeaders(t, "POST", "/api/v1/campaigns?ask=a+call", "key-a", file.String(), map[string]string{"Content-Type": "text/csv"})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %s", res.StatusCode, res.Body)
	}
	id := testprog.MustDecode[testprog.Campaign](t, []byte(res.Body)).CampaignID
	if c := w.waitDone(t, "key-a", id, 60*time.Second); c.Succeeded != n {
		t.Fatalf("campaign %+v", c)
	}

	header := "Record ID,First Name,Company,\"'=Notes\n(free text)\",status,subject,body,error,step,send_day,quality_score,findings,review,cost_usd"
	var all strings.Builder
	chunks := w.csvChunks(t, "/api/v1/campaigns/"+id+"/emails?format=csv&columns=input", bound)
	for i, c := range chunks {
		if got := strings.HasPrefix(c.body, header+"\n"); got != (i == 0) {
			t.Fatalf("chunk %d starts %.80q; only the first has the header", i, c.body)
		}
		all.WriteString(c.body)
		if link := c.link; i < len(chunks)-1 && (len(link) != 1 || !strings.Contains(link[0], "columns=input")) {
			t.Fatalf("chunk %d: Link %q, want columns=input kept", i+1, link)
		}
	}
	if len(chunks) < 2 {
		t.Fatalf("%d chunks: the bound did not cut the export", len(chunks))
	}
	rows, err := csv.NewReader(strings.NewReader(all.String())).ReadAll()
	if err != nil || len(rows) != n+1 {
		t.Fatalf("the concatenated chunks: %v, %d rows", err, len(rows))
	}
	var sum int64 // the cost_usd column's, in µ$
	for i, row := range rows[1:] {
		want := []string{testprog.Ref(i), fmt.Sprintf("Pat%d", i), fmt.Sprintf("Co%d Inc", i), fmt.Sprintf("'=1+%d", i), "succeeded"}
		if !slices.Equal(row[:5], want) || row[5] == "" {
			t.Fatalf("row %d: %q, want %q then an email", i+2, row, want)
		}
		usd, err := strconv.ParseFloat(row[len(row)-1], 64)
		if err != nil {
			t.Fatalf("row %d: cost_usd %q: %v", i+2, row[len(row)-1], err)
		}
		sum += micro(usd)
	}
	// The API Lambda prices with the embedded table: the campaign costs
	// what its rows add up to.
	_, body := w.call(t, "GET", "/api/v1/campaigns/"+id, "key-a", nil)
	c := testprog.MustDecode[struct {
		Usage costUsage `json:"usage"`
	}](t, []byte(body))
	if c.Usage.CostUSD == nil || micro(*c.Usage.CostUSD) != sum || sum == 0 {
		t.Fatalf("campaign cost_usd %v, want the CSV column's sum %d µ$", c.Usage.CostUSD, sum)
	}

	jsonID := w.submit(t, "key-a", 1)
	status, body := w.call(t, "GET", "/api/v1/campaigns/"+jsonID+"/emails?format=csv&columns=input", "key-a", nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `"columns"`) || !strings.Contains(body, "only CSV campaigns") {
		t.Fatalf("a JSON campaign's input columns: %d %s, want a 422 naming columns", status, body)
	}
}

func TestAWSDuplicateDelivery(t *testing.T) {
	up := openaitest.New(t)
	w := newAWSWorld(t, up.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Every batch is delivered twice, at the same time.
	w.poll(t, ctx, func(ev events.SQSEvent) []events.SQSEventResponse {
		out := make([]events.SQSEventResponse, 2)
		var wg sync.WaitGroup
		for i := range out {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i], _ = w.invoke(ev)
			}()
		}
		wg.Wait()
		return out
	})
	id := w.submit(t, "key-a", 20)
	c := w.waitDone(t, "key-a", id, 60*time.Second)
	if c.Status != "completed" || c.Succeeded != 20 || c.Failed != 0 {
		t.Fatalf("campaign %+v: counters must not double", c)
	}
	// The expand message is delivered twice too, so every email has four
	// deliveries, two of them at the same instant. The one that claims the
	// email calls the model; the others wait out its lease and find it done.
	if n := up.Count(); n != 20 {
		t.Fatalf("model calls %d, want 20", n)
	}
}

func TestAWSFlakyUpstream(t *testing.T) {
	up := openaitest.New(t, openaitest.WithFailRate(0.2), openaitest.WithRateLimitRate(0.2), openaitest.WithSeed(7))
	w := newAWSWorld(t, up.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.poll(t, ctx, nil)
	id := w.submit(t, "key-a", 30)
	c := w.waitDone(t, "key-a", id, 90*time.Second)
	if c.Succeeded+c.Failed != 30 || c.Pending != 0 {
		t.Fatalf("campaign %+v", c)
	}
	// 40% faults with 3 tries in the writer and 3 receives: an email fails
	// only after 9 faults in a row, (0.4)^9 ≈ 0.03%.
	if c.Status != "completed" {
		t.Fatalf("campaign %+v: want every email written despite faults", c)
	}
	if sc := up.StatusCounts(); sc[500] == 0 || sc[429] == 0 {
		t.Fatalf("status counts %v: the faults did not happen", sc)
	}
}

func TestAWSPoisonMessageGoesToDLQ(t *testing.T) {
	up := openaitest.New(t)
	w := newAWSWorld(t, up.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.queue.Send(ctx, [][]byte{[]byte("this is not json")}); err != nil {
		t.Fatal(err)
	}
	w.poll(t, ctx, nil)
	id := w.submit(t, "key-a", 3)
	if c := w.waitDone(t, "key-a", id, 60*time.Second); c.Status != "completed" {
		t.Fatalf("campaign %+v", c)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.dlqURL), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 1 && aws.ToString(out.Messages[0].Body) == "this is not json" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the poison message never reached the DLQ")
		}
	}
}

// crashOnce is a Store whose first Finish of each listed email fails, as if
// the worker died between the model call and the write.
type crashOnce struct {
	campaign.Store
	mu      sync.Mutex
	crashed map[int]bool
}

func (s *crashOnce) Finish(ctx context.Context, id string, index int, st campaign.EmailStatus, r campaign.Outcome, now time.Time) error {
	s.mu.Lock()
	first := index%3 == 0 && !s.crashed[index]
	if first {
		s.crashed[index] = true
	}
	s.mu.Unlock()
	if first {
		return errors.New("worker died")
	}
	return s.Store.Finish(ctx, id, index, st, r, now)
}

func TestAWSWorkerDiesBetweenModelAndWrite(t *testing.T) {
	up := openaitest.New(t)
	w := newAWSWorld(t, up.URL, nil)
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL})
	if err != nil {
		t.Fatal(err)
	}
	store := &crashOnce{Store: dynamo.New(testenv.DynamoDB(t), w.table, time.Hour), crashed: map[int]bool{}}
	worker := sqsevent.Handler(&campaign.Worker{Store: store, Queue: w.queue, Composer: &email.Composer{Writer: writer, Prompts: set},
		Concurrency: 8, MaxReceive: 3, Log: slog.New(slog.DiscardHandler)}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.poll(t, ctx, func(ev events.SQSEvent) []events.SQSEventResponse {
		res, _ := worker(context.Background(), ev)
		return []events.SQSEventResponse{res}
	})
	id := w.submit(t, "key-a", 12)
	c := w.waitDone(t, "key-a", id, 60*time.Second)
	if c.Status != "completed" || c.Succeeded != 12 {
		t.Fatalf("campaign %+v", c)
	}
	if n := up.Count(); n != 12+4 {
		t.Fatalf("model calls %d, want 16: the 4 crashed emails are redone once each", n)
	}
}

// boundedWorld is an AWS world whose API Lambda bounds email listings at
// bound bytes, with its worker polling until the test ends.
func boundedWorld(t *testing.T, bound int) *awsWorld {
	t.Helper()
	t.Cleanup(app.SetLambdaMaxListBytes(bound))
	up := openaitest.New(t)
	w := newAWSWorld(t, up.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	w.poll(t, ctx, nil)
	t.Cleanup(cancel) // after poll's own cleanup was added, so it runs first
	return w
}

// csvChunk is one answer of a CSV export: its body and its Link header.
type csvChunk struct {
	body string
	link []string
}

// csvChunks fetches path, a ?format=csv export, and each chunk its
// X-Next-Cursor names, checking that every one is a 200 within bound.
func (w *awsWorld) csvChunks(t *testing.T, path string, bound int) []csvChunk {
	t.Helper()
	var out []csvChunk
	cursor := ""
	for {
		p := path
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		res := w.send(t, "GET", p, "key-a", nil)
		if res.StatusCode != 200 || len(res.Body) > bound {
			t.Fatalf("chunk %d: status %d, %d bytes (bound %d)", len(out), res.StatusCode, len(res.Body), bound)
		}
		out = append(out, csvChunk{body: res.Body, link: res.MultiValueHeaders["Link"]})
		next := res.MultiValueHeaders["X-Next-Cursor"]
		if len(next) == 0 {
			return out
		}
		cursor = next[0]
	}
}
