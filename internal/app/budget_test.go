package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// budgetCampaign is the campaign view with what a budget adds.
type budgetCampaign struct {
	testprog.Campaign
	MaxCostUSD *float64  `json:"max_cost_usd"`
	Usage      costUsage `json:"usage"`
}

// usageReport is GET /api/v1/usage's answer, as far as these tests read it.
type usageReport struct {
	Tenant string `json:"tenant"`
	Total  struct {
		Emails int       `json:"emails"`
		Usage  costUsage `json:"usage"`
	} `json:"total"`
	Days []struct {
		Date   string `json:"date"`
		Emails int    `json:"emails"`
	} `json:"days"`
	Campaigns []struct {
		CampaignID string    `json:"campaign_id"`
		Name       *string   `json:"name"`
		Emails     int       `json:"emails"`
		Usage      costUsage `json:"usage"`
	} `json:"campaigns"`
	SingleEmails struct {
		Emails int `json:"emails"`
	} `json:"single_emails"`
	Budget *struct {
		Month        string  `json:"month"`
		LimitUSD     float64 `json:"limit_usd"`
		SpentUSD     float64 `json:"spent_usd"`
		ReservedUSD  float64 `json:"reserved_usd"`
		RemainingUSD float64 `json:"remaining_usd"`
	} `json:"budget"`
}

// cappedCampaign is the done criterion, through api however the
// program is deployed: a campaign whose max_cost_usd is the price of 20
// emails makes at most 20 + concurrency model calls, however many
// workers race for the budget, and ends completed_with_errors with the
// rest skipped; GET /api/v1/usage books what it spent.
func cappedCampaign(t *testing.T, api testprog.API, wait func(id string) budgetCampaign, up *openaitest.Server, concurrency int) {
	// One email's price, as the program counts it.
	first := api.Submit(t, map[string]any{"name": "one", "prospects": testprog.Prospects(1)})
	one := wait(first)
	if one.Usage.CostUSD == nil || *one.Usage.CostUSD <= 0 {
		t.Fatalf("one email: %+v, want a cost", one)
	}
	price := micro(*one.Usage.CostUSD)
	cap := 20 * price
	callsBefore := up.Count()

	const total = 150
	status, body := api(t, "POST", "/api/v1/campaigns", map[string]any{
		"name": "capped", "prospects": testprog.Prospects(total), "max_cost_usd": float64(cap) / 1e6,
	})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	id := testprog.MustDecode[testprog.Campaign](t, body).CampaignID
	c := wait(id)

	calls := up.Count() - callsBefore
	t.Logf("cap $%s (20 emails at $%s): %d model calls, %d written, %d skipped, spent $%v",
		strconv.FormatFloat(float64(cap)/1e6, 'f', -1, 64), strconv.FormatFloat(float64(price)/1e6, 'f', -1, 64),
		calls, c.Succeeded+c.NeedsReview, c.Skipped, *c.Usage.CostUSD)
	if calls > 20+concurrency {
		t.Errorf("%d model calls, want at most 20 + %d (the workers in flight)", calls, concurrency)
	}
	if c.Status != "completed_with_errors" || c.Skipped == 0 || c.Failed != 0 ||
		c.Succeeded+c.NeedsReview+c.Skipped != total || c.MaxCostUSD == nil || micro(*c.MaxCostUSD) != cap {
		t.Fatalf("capped campaign %+v, want completed_with_errors with the rest skipped", c)
	}
	// The holds are the estimate's count, within a few percent of the
	// real cost: the cap is mostly used, never passed by more than the
	// calls in flight.
	if written := c.Succeeded + c.NeedsReview; written < 15 {
		t.Errorf("only %d emails written under a cap of 20 emails' price", written)
	}
	spent := micro(*c.Usage.CostUSD)
	if spent > cap+int64(concurrency)*price*11/10 {
		t.Errorf("spent %d µ$, over the cap %d by more than %d calls in flight", spent, cap, concurrency)
	}

	status, body = api(t, "GET", "/api/v1/campaigns/"+id+"/emails?status=skipped&limit=100", nil)
	page := testprog.MustDecode[testprog.Emails](t, body)
	if status != http.StatusOK || len(page.Emails) == 0 {
		t.Fatalf("skipped emails: %d %s", status, body)
	}
	for _, e := range page.Emails {
		if e.Status != "skipped" || e.Subject != "" || !strings.Contains(e.Error, "max_cost_usd") {
			t.Fatalf("skipped email %+v, want its reason", e)
		}
	}

	status, body = api(t, "GET", "/api/v1/usage", nil)
	if status != http.StatusOK {
		t.Fatalf("usage: %d %s", status, body)
	}
	rep := testprog.MustDecode[usageReport](t, body)
	byID := map[string]int64{}
	emails := 0
	for _, u := range rep.Campaigns {
		byID[u.CampaignID] = micro(*u.Usage.CostUSD)
		emails += u.Emails
	}
	if byID[id] != spent || byID[first] != price || emails != 1+c.Succeeded+c.NeedsReview ||
		micro(*rep.Total.Usage.CostUSD) != spent+price || len(rep.Days) != 1 || rep.Days[0].Date != time.Now().UTC().Format(time.DateOnly) {
		t.Errorf("usage %s; want the two campaigns' spend (%d and %d µ$) and %d emails on one day", body, price, spent, 1+c.Succeeded+c.NeedsReview)
	}
}

// TestLocalCappedCampaign: the done criterion on the local program
// (SQLite, goqite), with 32 workers racing for the budget.
func TestLocalCappedCampaign(t *testing.T) {
	up := openaitest.New(t, openaitest.WithCountTokens(), openaitest.WithLatency(20*time.Millisecond, 20*time.Millisecond))
	const workers = 32
	base := startLocal(t, up.URL, func(c *config.Config) { c.WorkerConcurrency = workers })
	api := testprog.HTTP(base, testKey)
	wait := func(id string) budgetCampaign {
		c := api.WaitFor(t, id, 60*time.Second, testprog.Campaign.Final)
		status, body := api(t, "GET", "/api/v1/campaigns/"+c.CampaignID, nil)
		if status != http.StatusOK {
			t.Fatalf("GET campaign: %d %s", status, body)
		}
		return testprog.MustDecode[budgetCampaign](t, body)
	}
	cappedCampaign(t, api, wait, up, workers)
}

// TestAWSCappedCampaign: the done criterion on the Lambdas (DynamoDB,
// SQS), two invocations of 16 workers each.
func TestAWSCappedCampaign(t *testing.T) {
	up := openaitest.New(t, openaitest.WithAPIKey(ssmOpenAIKey), openaitest.WithCountTokens(),
		openaitest.WithLatency(20*time.Millisecond, 20*time.Millisecond))
	w := newAWSWorld(t, up.URL, map[string]string{"WORKER_CONCURRENCY": "16"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // before poll's cleanup waits for its goroutines
	w.poll(t, ctx, nil)
	api := func(tb testing.TB, method, path string, body any) (int, []byte) {
		tb.Helper()
		status, b := w.call(t, method, path, "key-capped", body)
		return status, []byte(b)
	}
	wait := func(id string) budgetCampaign {
		w.waitDone(t, "key-capped", id, 90*time.Second)
		status, body := w.call(t, "GET", "/api/v1/campaigns/"+id, "key-capped", nil)
		if status != http.StatusOK {
			t.Fatalf("GET campaign: %d %s", status, body)
		}
		return testprog.MustDecode[budgetCampaign](t, []byte(body))
	}
	cappedCampaign(t, api, wait, up, 2*16)
}

// TestLocalKeyBudget: an API key's monthly budget (API_KEY_BUDGETS)
// holds across generate-email, campaigns and regenerates: calls past it
// get 402 budget_exceeded, a campaign it runs out in ends with the rest
// skipped, and GET /api/v1/usage shows what is gone.
func TestLocalKeyBudget(t *testing.T) {
	up := openaitest.New(t, openaitest.WithCountTokens())
	// The price of one email first, on a program without a budget.
	free := startFromEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL})
	_, _, body := testprog.Do(t, "POST", free+emailURL, testKey, `{`+goodProspect+`}`)
	price := micro(*testprog.MustDecode[struct {
		Usage costUsage `json:"usage"`
	}](t, body).Usage.CostUSD)

	// A budget of about five emails, for every key.
	limit := 5*price + price/2
	base := startFromEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL,
		"API_KEY_BUDGETS": fmt.Sprintf("*=%s", strconv.FormatFloat(float64(limit)/1e6, 'f', -1, 64))})
	ok := 0
	for range 3 {
		status, _, body := testprog.Do(t, "POST", base+emailURL, testKey, `{`+goodProspect+`}`)
		if status != http.StatusOK {
			t.Fatalf("generate-email within the budget: %d %s", status, body)
		}
		ok++
	}
	api := testprog.HTTP(base, testKey)
	id := api.Submit(t, map[string]any{"name": "runs out", "prospects": testprog.Prospects(10)})
	c := api.WaitFor(t, id, 60*time.Second, testprog.Campaign.Final)
	if c.Status != "completed_with_errors" || c.Skipped == 0 || c.Succeeded+c.NeedsReview > 3 || c.Succeeded+c.NeedsReview+c.Skipped != 10 {
		t.Fatalf("campaign that runs out of the key's budget: %+v", c)
	}
	status, body := api(t, "GET", "/api/v1/campaigns/"+id+"/emails?status=skipped&limit=1", nil)
	if page := testprog.MustDecode[testprog.Emails](t, body); status != http.StatusOK || len(page.Emails) != 1 ||
		!strings.Contains(page.Emails[0].Error, "monthly budget") {
		t.Fatalf("skipped email: %d %s", status, body)
	}

	// The month is spent: each kind of call is refused before the model.
	calls := up.Count()
	for name, try := range map[string]func() (int, []byte){
		"GenerateEmail": func() (int, []byte) { return api(t, "POST", emailURL, `{`+goodProspect+`}`) },
		"Campaign": func() (int, []byte) {
			return api(t, "POST", campaignsURL, map[string]any{"prospects": testprog.Prospects(2)})
		},
		"Regenerate": func() (int, []byte) {
			return api(t, "POST", "/api/v1/campaigns/"+id+"/emails/0/regenerate", map[string]any{})
		},
	} {
		status, body := try()
		if status != http.StatusPaymentRequired || !strings.Contains(string(body), `"code":"budget_exceeded"`) ||
			!strings.Contains(string(body), time.Now().UTC().Format("2006-01")) {
			t.Errorf("%s over the budget: %d %s, want 402 budget_exceeded naming the month", name, status, body)
		}
	}
	if up.Count() != calls {
		t.Errorf("%d model calls made past the budget", up.Count()-calls)
	}

	status, body = api(t, "GET", "/api/v1/usage", nil)
	rep := testprog.MustDecode[usageReport](t, body)
	if status != http.StatusOK || rep.Budget == nil || micro(rep.Budget.LimitUSD) != limit || rep.Budget.ReservedUSD != 0 ||
		micro(rep.Budget.SpentUSD) != micro(*rep.Total.Usage.CostUSD) || micro(rep.Budget.SpentUSD)+price < limit ||
		rep.SingleEmails.Emails != ok || !strings.HasPrefix(rep.Tenant, "key_") {
		t.Errorf("usage %d %s; want the budget spent, nothing held, %d single emails", status, body, ok)
	}
	if rep.Budget != nil && rep.Budget.SpentUSD > float64(limit+price)/1e6 {
		t.Errorf("spent $%v of a $%v budget: over by more than the one call in flight", rep.Budget.SpentUSD, float64(limit)/1e6)
	}
}

// TestLocalUsageRefusesBadDays: from and to are days, in order, at most a
// year apart; each mistake names its parameter.
func TestLocalUsageRefusesBadDays(t *testing.T) {
	base := startLocal(t, openaitest.New(t).URL, nil)
	for query, want := range map[string]string{
		"from=2026-13-01":               "from",
		"to=yesterday":                  "to",
		"from=":                         "from",
		"from=2026-12-02&to=2026-12-01": "to",
		"from=2025-01-01&to=2026-12-01": "to",
	} {
		status, _, body := testprog.Do(t, "GET", base+"/api/v1/usage?"+query, testKey, nil)
		if fields, _ := MustFields(t, status, body); len(fields) != 1 || fields[0] != want {
			t.Errorf("?%s: fields %q, want %q", query, fields, want)
		}
	}
	status, _, body := testprog.Do(t, "GET", base+"/api/v1/usage?from=2026-01-01&to=2026-12-31", testKey, nil)
	if rep := testprog.MustDecode[usageReport](t, body); status != http.StatusOK || rep.Total.Emails != 0 || rep.Budget != nil {
		t.Errorf("an empty year: %d %s", status, body)
	}
}

// TestLocalCappedBatchCampaign: a batch campaign holds each email's
// expected cost at the batch price before its batch is sent, so the
// batch carries only the lines the cap has room for; the rest end
// skipped without a line, and nothing goes realtime.
func TestLocalCappedBatchCampaign(t *testing.T) {
	up := openaitest.New(t, openaitest.WithCountTokens(), openaitest.WithBatch(openaitest.BatchConfig{StageTime: 100 * time.Millisecond}))
	base := startLocal(t, up.URL, func(c *config.Config) { c.BatchPollInterval = time.Second })
	api := testprog.HTTP(base, testKey)
	prospects := testprog.Prospects(8)
	// What one email is expected to cost in batch mode, as each holds it.
	status, body := api(t, "POST", campaignsURL+"?dry_run=true", map[string]any{"mode": "batch", "prospects": prospects[:1]})
	est := testprog.MustDecode[struct {
		Estimate struct {
			CostUSD struct {
				Batch float64 `json:"batch"`
			} `json:"cost_usd"`
		} `json:"estimate"`
	}](t, body)
	one := micro(est.Estimate.CostUSD.Batch)
	if status != http.StatusOK || one == 0 {
		t.Fatalf("dry run: %d %s", status, body)
	}
	// Room for three such holds (the others' prompts differ by a token or
	// two), not four.
	capped := 3*one + one/2
	id := api.Submit(t, map[string]any{"mode": "batch", "prospects": prospects, "max_cost_usd": float64(capped) / 1e6})
	c := api.WaitFor(t, id, 60*time.Second, testprog.Campaign.Final)
	if c.Status != "completed_with_errors" || c.Succeeded+c.NeedsReview != 3 || c.Skipped != 5 {
		t.Fatalf("capped batch campaign %+v, want 3 written and 5 skipped", c)
	}
	if st := up.BatchStats(); st.BatchesCreated != 1 || st.LinesAnswered != 3 || up.Count() != 0 {
		t.Errorf("upstream: %+v and %d realtime calls; want one batch of the 3 lines the cap holds, none realtime", st, up.Count())
	}
}
