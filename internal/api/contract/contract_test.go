package contract

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api"
)

const generated = `{"id": "em_1", "subject": "Idea for TechNova", "body": "Hi Sarah,\n\nBest,", "model": "offline",
	"usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cost_usd": 0},
	"quality": {"score": 100, "findings": []}, "needs_review": false, "warnings": []}`

const campaignJSON = `{"campaign_id": "cmp_1", "name": "", "status": "completed", "total": 1, "succeeded": 1, "failed": 0,
	"needs_review": 0, "skipped": 0, "pending": 0, "max_cost_usd": null, "approved": 0, "rejected": 0, "unreviewed": 1, "retries": 0, "created_at": "2026-12-01T16:43:04.628Z", "updated_at": "2026-12-01T16:43:04.669Z",
	"completed_at": null, "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cost_usd": 0}, "mode": "realtime", "warnings": []}`

// batchCampaignJSON is a batch campaign with one batch the provider has and
// one it does not yet.
var batchCampaignJSON = strings.Replace(strings.Replace(campaignJSON, `"realtime"`, `"batch"`, 1), `"warnings": []`,
	`"warnings": [], "batches": [{"id": "batch_1", "status": "in_progress", "total": 500, "completed": 20, "failed": 1}, {"id": null, "status": "preparing", "total": 3, "completed": 0, "failed": 0}]`, 1)

const emailJSON = `{"index": 0, "ref": "crm-1", "to": {"first_name": "Sarah", "last_name": "", "job_title": "", "company_name": "TechNova"}, "status": "succeeded", "subject": "Hi", "body": "Hi Sarah,", "error": "",
	"version": 2, "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "cost_usd": null}, "quality": {"score": 100, "findings": []},
	"review": "approved", "note": "", "reviewed_at": "2026-12-01T16:43:04.669Z", "edited": false}`

func errorBody(code string, fields ...string) string {
	var fs []string
	for i := 0; i+1 < len(fields); i += 2 {
		fs = append(fs, fmt.Sprintf(`{"field": %q, "message": %q}`, fields[i], fields[i+1]))
	}
	list := ""
	if len(fs) > 0 {
		list = `, "fields": [` + strings.Join(fs, ", ") + `]`
	}
	return `{"error": {"code": "` + code + `", "message": "m"` + list + `, "request_id": "req_1"}}`
}

func sarah(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "testdata", "requests", "sarah.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exchange is a request and its answer, as Check takes them.
type exchange struct {
	method, target, body string
	header               []string // name, value pairs
	status               int
	resHeader            []string
	resBody              string
}

func (e exchange) check(t *testing.T) []string {
	t.Helper()
	req := httptest.NewRequest(e.method, e.target, strings.NewReader(e.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", "k")
	for i := 0; i+1 < len(e.header); i += 2 {
		req.Header.Set(e.header[i], e.header[i+1])
	}
	res := &http.Response{StatusCode: e.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(e.resBody))}
	if e.resBody != "" {
		res.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	for i := 0; i+1 < len(e.resHeader); i += 2 {
		res.Header.Set(e.resHeader[i], e.resHeader[i+1])
	}
	return mustSpec(t).Check(req, []byte(e.body), res)
}

func multipartBody(t *testing.T, campaign string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	f, _ := mw.CreateFormFile("file", "p.csv")
	_, _ = f.Write([]byte("First Name,Company\nSam,Cobalt\n"))
	if campaign != "" {
		_ = mw.WriteField("campaign", campaign)
	}
	_ = mw.Close()
	return b.String(), mw.FormDataContentType()
}

// TestCheck runs the package's rules on requests and answers made up to
// keep or break them.
func TestCheck(t *testing.T) {
	gen, emails := "/api/v1/generate-email", "/api/v1/campaigns/cmp_1/emails"
	noProspect := `{"company": {"company_name": "TechNova"}}`
	okForm, okType := multipartBody(t, `{"name": "Q4", "column_map": {"Company": "company_name"}}`)
	bulkForm, bulkType := multipartBody(t, `{"mode": "bulk"}`)
	csvType := []string{"Content-Type", "text/csv; charset=utf-8"}
	for name, tc := range map[string]struct {
		exchange
		want string // a problem's text; "" for none
	}{
		"OK":                          {exchange{method: "POST", target: gen, body: sarah(t), status: 200, resBody: generated}, ""},
		"ErrUndeclaredMember":         {exchange{method: "POST", target: gen, body: sarah(t), status: 200, resBody: strings.Replace(generated, `"id"`, `"tone": "x", "id"`, 1)}, "not declared"},
		"ErrMissingMember":            {exchange{method: "POST", target: gen, body: sarah(t), status: 200, resBody: strings.Replace(generated, `"model": "offline",`, ``, 1)}, "model"},
		"ErrStatusNotListed":          {exchange{method: "POST", target: gen, body: sarah(t), status: 418, resBody: errorBody("internal_error")}, "418"},
		"ErrCodeOfAnotherStatus":      {exchange{method: "POST", target: gen, body: sarah(t), status: 401, resBody: errorBody("not_found")}, "unauthorized"},
		"ErrRefusedRequestTaken":      {exchange{method: "POST", target: gen, body: noProspect, status: 200, resBody: generated}, "the spec refuses this request"},
		"RefusedRequestRefused":       {exchange{method: "POST", target: gen, body: noProspect, status: 422, resBody: errorBody("validation_failed", "prospect.first_name", "is required")}, ""},
		"ErrRefusedRequestFailed":     {exchange{method: "POST", target: gen, body: noProspect, status: 500, resBody: errorBody("internal_error")}, "answered 500"},
		"ErrStatableLengthRefused":    {exchange{method: "POST", target: gen, body: sarah(t), status: 422, resBody: errorBody("validation_failed", "prospect.first_name", "must be at most 3 characters (got 5)")}, "maxLength"},
		"ErrStatableInCampaign":       {exchange{method: "POST", target: "/api/v1/campaigns", body: `{"prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}}]}`, status: 422, resBody: errorBody("validation_failed", "prospects[0].company.company_name", "is required")}, "required"},
		"ExtraFieldRefused":           {exchange{method: "POST", target: gen, body: sarah(t), status: 422, resBody: errorBody("validation_failed", "prospect.favourite_team", "must be at most 2000 characters (got 2001)")}, ""},
		"UnstatableRefused":           {exchange{method: "POST", target: gen, body: sarah(t), status: 422, resBody: errorBody("validation_failed", "options.sequence.days[0]", "must be after the previous send day and at most 90")}, ""},
		"ErrMalformedJSONTaken":       {exchange{method: "POST", target: gen, body: sarah(t), status: 400, resBody: errorBody("malformed_json")}, "malformed_json"},
		"NamesFoldedAsTheServer":      {exchange{method: "POST", target: gen, body: `{"PROSPECT": {"first_name": "Sarah"}, "company": {"Company_Name": "TechNova"}}`, status: 200, resBody: generated}, ""},
		"ErrQueryRefusedTaken":        {exchange{method: "GET", target: "/api/v1/campaigns?limit=1000", status: 200, resBody: `{"campaigns": [], "next_cursor": ""}`}, "the spec refuses this request"},
		"ErrStatableQueryRefused":     {exchange{method: "GET", target: "/api/v1/campaigns?limit=50", status: 422, resBody: errorBody("validation_failed", "limit", "must be a whole number from 1 to 20")}, "limit"},
		"NullCompletedAt":             {exchange{method: "GET", target: "/api/v1/campaigns/cmp_1", status: 200, resBody: campaignJSON}, ""},
		"BatchCampaign":               {exchange{method: "GET", target: "/api/v1/campaigns/cmp_1", status: 200, resBody: batchCampaignJSON}, ""},
		"ErrBatchWithoutTotal":        {exchange{method: "GET", target: "/api/v1/campaigns/cmp_1", status: 200, resBody: strings.Replace(batchCampaignJSON, `"total": 500, `, ``, 1)}, "total"},
		"ErrBadDateTime":              {exchange{method: "GET", target: "/api/v1/campaigns/cmp_1", status: 200, resBody: strings.Replace(campaignJSON, `"2026-12-01T16:43:04.628Z"`, `"yesterday"`, 1)}, "date-time"},
		"ErrRetryAfterMissing":        {exchange{method: "POST", target: gen, body: sarah(t), status: 503, resBody: errorBody("overloaded")}, "Retry-After"},
		"RetryAfter":                  {exchange{method: "POST", target: gen, body: sarah(t), status: 503, resHeader: []string{"Retry-After", "1"}, resBody: errorBody("overloaded")}, ""},
		"ErrUndeclaredHeader":         {exchange{method: "GET", target: "/api/v1/campaigns/cmp_1", status: 200, resHeader: []string{"X-Cursor", "1"}, resBody: campaignJSON}, "X-Cursor"},
		"CSV":                         {exchange{method: "GET", target: emails + "?format=csv", status: 200, resHeader: csvType, resBody: "ref,subject\ncrm-1,\"Hi,\nthere\"\n"}, ""},
		"ErrCSVBroken":                {exchange{method: "GET", target: emails + "?format=csv", status: 200, resHeader: csvType, resBody: "ref,subject\ncrm-1,\"Hi\n"}, "decode"},
		"MultipartForm":               {exchange{method: "POST", target: "/api/v1/campaigns", body: okForm, header: []string{"Content-Type", okType}, status: 202, resHeader: []string{"Location", "/api/v1/campaigns/cmp_1"}, resBody: `{"campaign_id": "cmp_1", "status": "queued", "total": 1, "mode": "realtime", "warnings": []}`}, ""},
		"ErrMultipartRefusedTaken":    {exchange{method: "POST", target: "/api/v1/campaigns", body: bulkForm, header: []string{"Content-Type", bulkType}, status: 202, resHeader: []string{"Location", "/api/v1/campaigns/cmp_1"}, resBody: `{"campaign_id": "cmp_1", "status": "queued", "total": 1, "mode": "realtime", "warnings": []}`}, "the spec refuses this request"},
		"ErrLocationMissing":          {exchange{method: "POST", target: "/api/v1/campaigns", body: okForm, header: []string{"Content-Type", okType}, status: 202, resBody: `{"campaign_id": "cmp_1", "status": "queued", "total": 1, "mode": "realtime", "warnings": []}`}, "Location"},
		"TheSpecItself":               {exchange{method: "GET", target: "/openapi.json", status: 200, resHeader: []string{"Content-Type", "application/json"}, resBody: string(api.Spec())}, ""},
		"ErrNotTheSpec":               {exchange{method: "GET", target: "/openapi.json", status: 200, resHeader: []string{"Content-Type", "application/json"}, resBody: `{"openapi": "3.1.0", "info": {}, "paths": {}}`}, "other than the spec"},
		"UnknownPath":                 {exchange{method: "GET", target: "/api/v2/nothing", status: 404, resBody: errorBody("not_found")}, ""},
		"ErrUnknownPathServed":        {exchange{method: "GET", target: "/api/v2/nothing", status: 200, resBody: `{}`}, "no operation of the spec"},
		"WrongMethod":                 {exchange{method: "PUT", target: "/api/v1/campaigns", status: 405, resHeader: []string{"Allow", "GET, POST"}, resBody: errorBody("method_not_allowed")}, ""},
		"ErrWrongMethodCode":          {exchange{method: "PUT", target: "/api/v1/campaigns", status: 405, resBody: errorBody("not_found")}, "method_not_allowed"},
		"ErrNoEnvelope":               {exchange{method: "GET", target: "/nothing", status: 404, resBody: "404 page not found\n"}, "envelope"},
		"Preflight":                   {exchange{method: "OPTIONS", target: gen, header: []string{"Access-Control-Request-Method", "POST"}, status: 204}, ""},
		"ErrPreflightNot204":          {exchange{method: "OPTIONS", target: gen, header: []string{"Access-Control-Request-Method", "POST"}, status: 200}, "204"},
		"ClientLeftUnread":            {exchange{method: "POST", target: gen, body: sarah(t), status: 499, resBody: errorBody("client_closed_request")}, ""},
		"ErrNoKeyAnswered":            {exchange{method: "GET", target: "/api/v1/campaigns", header: []string{"x-api-key", ""}, status: 200, resBody: `{"campaigns": [], "next_cursor": ""}`}, "the spec refuses this request"},
		"PublicWithoutKey":            {exchange{method: "GET", target: "/healthz", header: []string{"x-api-key", ""}, status: 200, resBody: `{"status": "ok"}`}, ""},
		"Email":                       {exchange{method: "GET", target: emails + "/0", status: 200, resHeader: []string{"ETag", `"2"`}, resBody: emailJSON}, ""},
		"ErrEmailWithoutETag":         {exchange{method: "GET", target: emails + "/0", status: 200, resBody: emailJSON}, "ETag"},
		"ErrEmailReviewOfNoDraft":     {exchange{method: "GET", target: emails + "/0", status: 200, resHeader: []string{"ETag", `"2"`}, resBody: strings.Replace(emailJSON, `"approved"`, `"maybe"`, 1)}, "review"},
		"ErrBadIndexTaken":            {exchange{method: "GET", target: emails + "/-1", status: 200, resHeader: []string{"ETag", `"2"`}, resBody: emailJSON}, "the spec refuses this request"},
		"ChangeStale":                 {exchange{method: "PATCH", target: emails + "/0", body: `{"review": "approved"}`, header: []string{"If-Match", `"1"`}, status: 412, resBody: errorBody("precondition_failed")}, ""},
		"ErrChangeUnknownMemberTaken": {exchange{method: "PATCH", target: emails + "/0", body: `{"reveiw": "approved"}`, status: 200, resHeader: []string{"ETag", `"3"`}, resBody: emailJSON}, "the spec refuses this request"},
		"ErrMalformedIfMatchTaken":    {exchange{method: "PATCH", target: emails + "/0", body: `{"review": "approved"}`, header: []string{"If-Match", `W/"1"`}, status: 200, resHeader: []string{"ETag", `"3"`}, resBody: emailJSON}, "the spec refuses this request"},
		"ChangeNoDraft":               {exchange{method: "PATCH", target: emails + "/0", body: `{"review": "approved"}`, status: 409, resBody: errorBody("wrong_state")}, ""},
		"ErrWrongStateAsConflict":     {exchange{method: "PATCH", target: emails + "/0", body: `{"review": "approved"}`, status: 409, resBody: errorBody("idempotency_conflict")}, "wrong_state"},
		"RegenerateWithoutBody":       {exchange{method: "POST", target: emails + "/0/regenerate", status: 200, resHeader: []string{"ETag", `"3"`}, resBody: emailJSON}, ""},
		"Retry":                       {exchange{method: "POST", target: "/api/v1/campaigns/cmp_1/retry?include=needs_review", status: 202, resHeader: []string{"Location", "/api/v1/campaigns/cmp_1"}, resBody: `{"campaign_id": "cmp_1", "status": "running", "retried": 2}`}, ""},
		"Filter":                      {exchange{method: "GET", target: emails + "?status=needs_review,unreviewed", status: 200, resBody: `{"emails": [], "next_cursor": ""}`}, ""},
		"ErrUnknownFilterTaken":       {exchange{method: "GET", target: emails + "?status=approved,sent", status: 200, resBody: `{"emails": [], "next_cursor": ""}`}, "the spec refuses this request"},
		"ErrCutShortBodyAnswered2xx":  {exchange{method: "POST", target: gen, body: sarah(t)[:40], status: 200, resBody: generated}, "the spec refuses this request"},
	} {
		t.Run(name, func(t *testing.T) {
			problems := tc.check(t)
			switch {
			case tc.want == "" && len(problems) > 0:
				t.Errorf("want no problem, got %q", problems)
			case tc.want != "" && !strings.Contains(strings.Join(problems, "\n"), tc.want):
				t.Errorf("want a problem naming %q, got %q", tc.want, problems)
			}
		})
	}
}

// reporter records what a Handler reports.
type reporter struct {
	mu     sync.Mutex
	errors []string
}

func (r *reporter) Helper() {}
func (r *reporter) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestHandlerStreamsAndReports: an answer reaches the client as the
// handler writes it, before the handler ends, and a mismatch is reported
// with the method, path, status and what is wrong.
func TestHandlerStreamsAndReports(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ref,subject\n")
		http.NewResponseController(w).Flush()
		<-release
		_, _ = io.WriteString(w, `crm-1,"never closed`+"\n")
	})
	rep := &reporter{}
	srv := httptest.NewServer(mustSpec(t).Handler(rep, h))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/campaigns/cmp_1/emails?format=csv", nil)
	req.Header.Set("x-api-key", "k")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(res.Body).ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if line != "ref,subject\n" {
			t.Errorf("first line %q", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the first chunk did not arrive while the handler ran: the check holds the answer back")
	}
	close(release)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	srv.Close() // waits for the handler, and so for its check
	rep.mu.Lock()
	defer rep.mu.Unlock()
	if len(rep.errors) != 1 || !strings.Contains(rep.errors[0], "GET /api/v1/campaigns/cmp_1/emails?format=csv answered 200") {
		t.Fatalf("reported %q; want the broken CSV, with method, path and status", rep.errors)
	}
}
