package stack

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const (
	typeTable        = "aws:dynamodb/table:Table"
	typeQueue        = "aws:sqs/queue:Queue"
	typeRedriveAllow = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
	typeParameter    = "aws:ssm/parameter:Parameter"
	typeFunction     = "aws:lambda/function:Function"
	typeMapping      = "aws:lambda/eventSourceMapping:EventSourceMapping"
	typePermission   = "aws:lambda/permission:Permission"
	typeRolePolicy   = "aws:iam/rolePolicy:RolePolicy"
	typeAttachment   = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	typeLogGroup     = "aws:cloudwatch/logGroup:LogGroup"
	typeAlarm        = "aws:cloudwatch/metricAlarm:MetricAlarm"
	typeRestAPI      = "aws:apigateway/restApi:RestApi"
	typeAPIResource  = "aws:apigateway/resource:Resource"
	typeMethod       = "aws:apigateway/method:Method"
	typeIntegration  = "aws:apigateway/integration:Integration"
	typeDeployment   = "aws:apigateway/deployment:Deployment"
	typeStage        = "aws:apigateway/stage:Stage"
	typeAccount      = "aws:apigateway/account:Account"
	typeUsagePlan    = "aws:apigateway/usagePlan:UsagePlan"
	typeUsagePlanKey = "aws:apigateway/usagePlanKey:UsagePlanKey"
	typeAPIKey       = "aws:apigateway/apiKey:ApiKey"
	typeResponse     = "aws:apigateway/response:Response"
	typeTopic        = "aws:sns/topic:Topic"
	typeSubscription = "aws:sns/topicSubscription:TopicSubscription"
)

// fullPaths maps each API Gateway resource id to its path, e.g. /api/v1/campaigns.
func fullPaths(tb testing.TB, d *deployment) map[string]string {
	tb.Helper()
	paths := map[string]string{d.mustGet(tb, typeRestAPI, "ingren-api").out("rootResourceId"): ""}
	resources := d.ofType(typeAPIResource)
	for range resources { // parents may come in any order; one pass per level settles them
		for _, r := range resources {
			if parent, ok := paths[r.str("parentId")]; ok {
				paths[r.ID] = parent + "/" + r.str("pathPart")
			}
		}
	}
	return paths
}

// TestAPIKeyRequired: every method needs an API key but the preflights
// (browsers send them without one) and the contract at /openapi.json.
func TestAPIKeyRequired(t *testing.T) {
	d := mustDeploy(t, "dev", nil)
	paths := fullPaths(t, d)
	invokeARN := d.mustGet(t, typeFunction, "ingren-api").out("invokeArn")

	integrations := map[string]recorded{}
	for _, in := range d.ofType(typeIntegration) {
		integrations[in.str("resourceId")+" "+in.str("httpMethod")] = in
	}

	var got []string
	for _, m := range d.ofType(typeMethod) {
		path := cmp.Or(paths[m.str("resourceId")], "/") // the root resource is ""
		verb, route := m.str("httpMethod"), verbPath(m.str("httpMethod"), path)
		got = append(got, route)
		// The contract, the docs page, the console and their files are
		// public: a browser loads them before the person types a key
		// into the page.
		wantKey := verb != "OPTIONS" && path != "/openapi.json" && !strings.HasPrefix(path, "/docs") &&
			path != "/" && !strings.HasPrefix(path, "/console/")
		if m.in("apiKeyRequired") != wantKey {
			t.Errorf("%s: apiKeyRequired = %v, want %v", route, m.in("apiKeyRequired"), wantKey)
		}
		if m.str("authorization") != "NONE" {
			t.Errorf("%s: authorization = %q, want NONE", route, m.str("authorization"))
		}
		in, ok := integrations[m.str("resourceId")+" "+verb]
		if !ok {
			t.Errorf("%s: no integration", route)
			continue
		}
		if in.str("type") != "AWS_PROXY" || in.str("integrationHttpMethod") != "POST" || in.str("uri") != invokeARN {
			t.Errorf("%s: integration %s %s %s, want AWS_PROXY POST to the api function",
				route, in.str("type"), in.str("integrationHttpMethod"), in.str("uri"))
		}
	}

	// ANY sends the other methods to the api function, which answers 405
	// with Allow; API Gateway alone would answer 403 Missing Authentication
	// Token, as for a path that does not exist.
	want := []string{
		"GET /docs", "OPTIONS /docs", "ANY /docs", "GET /docs/{file}", "OPTIONS /docs/{file}", "ANY /docs/{file}",
		"POST /api/v1/generate-email", "OPTIONS /api/v1/generate-email", "ANY /api/v1/generate-email",
		"POST /api/v1/lint", "OPTIONS /api/v1/lint", "ANY /api/v1/lint",
		"GET /api/v1/usage", "OPTIONS /api/v1/usage", "ANY /api/v1/usage",
		"POST /api/v1/campaigns", "GET /api/v1/campaigns", "OPTIONS /api/v1/campaigns", "ANY /api/v1/campaigns",
		"GET /api/v1/campaigns/{id}", "DELETE /api/v1/campaigns/{id}", "OPTIONS /api/v1/campaigns/{id}",
		"ANY /api/v1/campaigns/{id}",
		"GET /api/v1/campaigns/{id}/emails", "OPTIONS /api/v1/campaigns/{id}/emails", "ANY /api/v1/campaigns/{id}/emails",
		"GET /api/v1/campaigns/{id}/emails/{index}", "PATCH /api/v1/campaigns/{id}/emails/{index}",
		"OPTIONS /api/v1/campaigns/{id}/emails/{index}", "ANY /api/v1/campaigns/{id}/emails/{index}",
		"POST /api/v1/campaigns/{id}/emails/{index}/regenerate", "OPTIONS /api/v1/campaigns/{id}/emails/{index}/regenerate",
		"ANY /api/v1/campaigns/{id}/emails/{index}/regenerate",
		"POST /api/v1/campaigns/{id}/retry", "OPTIONS /api/v1/campaigns/{id}/retry", "ANY /api/v1/campaigns/{id}/retry",
		"GET /openapi.json", "OPTIONS /openapi.json", "ANY /openapi.json",
		"GET /", "OPTIONS /", "ANY /", "GET /console/{file}", "OPTIONS /console/{file}", "ANY /console/{file}",
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("routes = %q\nwant %q", got, want)
	}
}

func verbPath(verb, path string) string { return verb + " " + path }

func TestDeploymentFollowsRoutesResponsesAndFunction(t *testing.T) {
	d := mustDeploy(t, "dev", nil)
	dep := d.mustGet(t, typeDeployment, "ingren-deployment")

	responses, err := gatewayResponses(Defaults().CORSAllowOrigins)
	if err != nil {
		t.Fatal(err)
	}
	want, err := redeploymentHash(routes, responses, d.mustGet(t, typeFunction, "ingren-api").out("invokeArn"))
	if err != nil {
		t.Fatal(err)
	}
	if got := path(dep.in("triggers"), "redeployment"); got != want {
		t.Errorf("triggers.redeployment = %v, want %s", got, want)
	}
	waits := slices.Concat(d.ofType(typeMethod), d.ofType(typeIntegration), d.ofType(typeResponse))
	for _, r := range waits {
		if !dep.dependsOn(r.Name) {
			t.Errorf("deployment does not wait for %s %s", r.Type, r.Name)
		}
	}

	// Gateway responses, like routes, take effect with the next deployment.
	other := mustDeploy(t, "dev", map[string]string{"corsAllowOrigins": "https://app.example.com"})
	if path(other.mustGet(t, typeDeployment, "ingren-deployment").in("triggers"), "redeployment") == want {
		t.Error("changing corsAllowOrigins, and so the gateway responses, does not redeploy")
	}
	more := append(slices.Clone(routes), route{Path: "/api/v1/health", Methods: []string{"GET"}})
	changed := slices.Clone(responses)
	changed[0].Template += " "
	for name, h := range map[string]func() (string, error){
		"RouteAdded":       func() (string, error) { return redeploymentHash(more, responses, "arn:fn") },
		"ResponseChanged":  func() (string, error) { return redeploymentHash(routes, changed, "arn:fn") },
		"FunctionReplaced": func() (string, error) { return redeploymentHash(routes, responses, "arn:other-fn") },
	} {
		other, err := h()
		if err != nil {
			t.Fatal(err)
		}
		if base, _ := redeploymentHash(routes, responses, "arn:fn"); other == base {
			t.Errorf("%s: redeployment hash unchanged", name)
		}
	}
}

func TestDeadLetterQueueGetsMessagesAfterMaxReceiveCount(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]string
		want   int
	}{
		{name: "OKDefault", want: 5},
		{name: "OKConfigured", config: map[string]string{"maxReceiveCount": "3"}, want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDeploy(t, "dev", tt.config)
			work := d.mustGet(t, typeQueue, "ingren-work-queue")
			dead := d.mustGet(t, typeQueue, "ingren-dlq")

			var redrive struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
				MaxReceiveCount     int    `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(work.str("redrivePolicy")), &redrive); err != nil {
				t.Fatalf("redrivePolicy %q: %v", work.str("redrivePolicy"), err)
			}
			if redrive.DeadLetterTargetArn != dead.out("arn") {
				t.Errorf("deadLetterTargetArn = %q, want the DLQ %q", redrive.DeadLetterTargetArn, dead.out("arn"))
			}
			if redrive.MaxReceiveCount != tt.want {
				t.Errorf("maxReceiveCount = %d, want %d", redrive.MaxReceiveCount, tt.want)
			}
			worker := d.mustGet(t, typeFunction, "ingren-worker")
			if got := path(worker.in("environment"), "variables", "MAX_RECEIVE_COUNT"); got != strconv.Itoa(tt.want) {
				t.Errorf("worker MAX_RECEIVE_COUNT = %v, want %d", got, tt.want)
			}

			allow := d.ofType(typeRedriveAllow)
			if len(allow) != 1 || allow[0].str("queueUrl") != dead.out("url") {
				t.Fatalf("want one redrive allow policy on the DLQ, got %d", len(allow))
			}
			wantAllow := fmt.Sprintf(`{"redrivePermission":"byQueue","sourceQueueArns":[%q]}`, work.out("arn"))
			if got := allow[0].str("redriveAllowPolicy"); got != wantAllow {
				t.Errorf("redriveAllowPolicy = %s, want %s", got, wantAllow)
			}
			if got := dead.in("messageRetentionSeconds"); got != float64(14*24*3600) {
				t.Errorf("DLQ retention = %v s, want 14 days", got)
			}
			for _, q := range []recorded{work, dead} {
				if q.in("sqsManagedSseEnabled") != true {
					t.Errorf("%s: sqsManagedSseEnabled = %v, want true", q.Name, q.in("sqsManagedSseEnabled"))
				}
			}
		})
	}
}

func TestVisibilityTimeoutIsAtLeastSixWorkerTimeouts(t *testing.T) {
	for _, timeout := range []int{30, 120, 900} {
		t.Run(fmt.Sprintf("OKWorkerTimeout%d", timeout), func(t *testing.T) {
			d := mustDeploy(t, "dev", map[string]string{"workerTimeoutSeconds": strconv.Itoa(timeout)})
			got := d.mustGet(t, typeQueue, "ingren-work-queue").in("visibilityTimeoutSeconds")
			if v, ok := got.(float64); !ok || v < float64(6*timeout) {
				t.Errorf("visibilityTimeoutSeconds = %v, want at least %d", got, 6*timeout)
			}
			if got := d.mustGet(t, typeFunction, "ingren-worker").in("timeout"); got != float64(timeout) {
				t.Errorf("worker timeout = %v, want %d", got, timeout)
			}
		})
	}
}

func TestWorkerMappingReportsBatchItemFailuresWithBoundedConcurrency(t *testing.T) {
	tests := []struct {
		name                          string
		config                        map[string]string
		batch, window, maxConcurrency float64
	}{
		{name: "OKDefaults", batch: 10, window: 1, maxConcurrency: 5},
		{
			name:   "OKConfigured",
			config: map[string]string{"batchSize": "50", "maxBatchingWindowSeconds": "5", "maxConcurrency": "20"},
			batch:  50, window: 5, maxConcurrency: 20,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDeploy(t, "dev", tt.config)
			m := d.mustGet(t, typeMapping, "ingren-worker-queue")
			if got := m.in("functionResponseTypes"); !slices.Equal(toStrings(got), []string{"ReportBatchItemFailures"}) {
				t.Errorf("functionResponseTypes = %v, want [ReportBatchItemFailures]", got)
			}
			if got := path(m.in("scalingConfig"), "maximumConcurrency"); got != tt.maxConcurrency {
				t.Errorf("scalingConfig.maximumConcurrency = %v, want %v", got, tt.maxConcurrency)
			}
			if m.in("batchSize") != tt.batch || m.in("maximumBatchingWindowInSeconds") != tt.window {
				t.Errorf("batch %v window %v, want %v and %v",
					m.in("batchSize"), m.in("maximumBatchingWindowInSeconds"), tt.batch, tt.window)
			}
			if m.str("eventSourceArn") != d.mustGet(t, typeQueue, "ingren-work-queue").out("arn") {
				t.Errorf("eventSourceArn = %s, want the work queue", m.str("eventSourceArn"))
			}
			if m.str("functionName") != d.mustGet(t, typeFunction, "ingren-worker").out("arn") {
				t.Errorf("functionName = %s, want the worker", m.str("functionName"))
			}
			if !m.dependsOn("ingren-worker-policy") {
				t.Error("mapping does not wait for the worker's policy; AWS rejects it without sqs permissions")
			}
		})
	}
}

// Whatever reaches the dead-letter queue goes back to the worker, which
// tells dead letters by their queue's ARN and ends their prospects as
// failed, so that every campaign reaches a final status.
func TestDeadLettersAreDrainedByTheWorker(t *testing.T) {
	for _, timeout := range []int{120, 900} {
		t.Run(fmt.Sprintf("OKWorkerTimeout%d", timeout), func(t *testing.T) {
			d := mustDeploy(t, "dev", map[string]string{"workerTimeoutSeconds": strconv.Itoa(timeout)})
			dead := d.mustGet(t, typeQueue, "ingren-dlq")
			worker := d.mustGet(t, typeFunction, "ingren-worker")
			if n := len(d.ofType(typeMapping)); n != 2 {
				t.Fatalf("got %d event source mappings, want the work queue's and the DLQ's", n)
			}
			m := d.mustGet(t, typeMapping, "ingren-worker-dlq")
			if m.str("eventSourceArn") != dead.out("arn") || m.str("functionName") != worker.out("arn") {
				t.Errorf("mapping from %s to %s, want the DLQ to the worker", m.str("eventSourceArn"), m.str("functionName"))
			}
			if got := m.in("functionResponseTypes"); !slices.Equal(toStrings(got), []string{"ReportBatchItemFailures"}) {
				t.Errorf("functionResponseTypes = %v, want [ReportBatchItemFailures]", got)
			}
			if b, ok := m.in("batchSize").(float64); !ok || b < 1 || b > 10 {
				t.Errorf("batchSize = %v, want a small batch", m.in("batchSize"))
			}
			if got := path(m.in("scalingConfig"), "maximumConcurrency"); got != float64(2) {
				t.Errorf("scalingConfig.maximumConcurrency = %v, want 2, AWS's least", got)
			}
			if !m.dependsOn("ingren-worker-policy") {
				t.Error("mapping does not wait for the worker's policy; AWS rejects it without sqs permissions")
			}
			// AWS refuses a mapping from a queue whose visibility timeout is
			// below the function's timeout.
			if v, ok := dead.in("visibilityTimeoutSeconds").(float64); !ok || v < float64(timeout) {
				t.Errorf("DLQ visibilityTimeoutSeconds = %v, want at least the worker's %d", dead.in("visibilityTimeoutSeconds"), timeout)
			}
			env := path(worker.in("environment"), "variables")
			if got := path(env, "DEAD_LETTER_QUEUE_ARN"); got != dead.out("arn") {
				t.Errorf("worker DEAD_LETTER_QUEUE_ARN = %v, want the DLQ's ARN %s", got, dead.out("arn"))
			}
			api := d.mustGet(t, typeFunction, "ingren-api")
			if got := path(api.in("environment"), "variables", "DEAD_LETTER_QUEUE_ARN"); got != nil {
				t.Errorf("api DEAD_LETTER_QUEUE_ARN = %v, want it unset", got)
			}
		})
	}
}

func TestEveryLogGroupHasRetention(t *testing.T) {
	for _, days := range []int{14, 90} {
		t.Run(fmt.Sprintf("OK%dDays", days), func(t *testing.T) {
			d := mustDeploy(t, "dev", map[string]string{"logRetentionDays": strconv.Itoa(days)})
			groups := d.ofType(typeLogGroup)
			if len(groups) != 3 {
				t.Fatalf("got %d log groups, want api, worker and access logs", len(groups))
			}
			names, arns := map[string]bool{}, map[string]bool{}
			for _, g := range groups {
				if got := g.in("retentionInDays"); got != float64(days) {
					t.Errorf("%s: retentionInDays = %v, want %d", g.Name, got, days)
				}
				names[g.out("name")], arns[g.out("arn")] = true, true
			}
			for _, f := range d.ofType(typeFunction) {
				if lg := path(f.in("loggingConfig"), "logGroup"); !names[fmt.Sprint(lg)] {
					t.Errorf("%s logs to %v, not one of the stack's log groups", f.Name, lg)
				}
				if lf := path(f.in("loggingConfig"), "logFormat"); lf != "JSON" {
					t.Errorf("%s: logFormat = %v, want JSON", f.Name, lf)
				}
			}
			stage := d.mustGet(t, typeStage, "ingren-stage")
			if dest := path(stage.in("accessLogSettings"), "destinationArn"); !arns[fmt.Sprint(dest)] {
				t.Errorf("access logs go to %v, not one of the stack's log groups", dest)
			}
		})
	}
}

func TestOpenAIKeyIsNeverInPlaintext(t *testing.T) {
	const webhookSecret = "whsec-RECOGNISABLE-7d3e"
	d := mustDeploy(t, "dev", map[string]string{"webhookSecret": webhookSecret})

	for _, secret := range []string{testOpenAIKey, webhookSecret} {
		var inSecrets []string
		for _, r := range d.resources {
			walk(resource.NewObjectProperty(r.Inputs), false, r.Type+" "+r.Name, func(at string, isSecret bool) {
				if isSecret {
					inSecrets = append(inSecrets, r.Type)
				} else {
					t.Errorf("%s in plaintext at %s", secret[:10], at)
				}
			}, secret)
		}
		// The search must find the value where it belongs, or it proves nothing.
		if !slices.Equal(inSecrets, []string{typeParameter}) {
			t.Errorf("%s found as a secret in %v, want only in its SSM parameter", secret[:10], inSecrets)
		}
	}

	params := map[string]recorded{}
	for _, p := range d.ofType(typeParameter) {
		if p.str("type") != "SecureString" {
			t.Errorf("%s: type %s, want SecureString", p.Name, p.str("type"))
		}
		params[p.Name] = p
	}
	for _, f := range d.ofType(typeFunction) {
		env := path(f.in("environment"), "variables")
		if got := path(env, "OPENAI_API_KEY_PARAM"); got != params["ingren-openai-api-key"].out("name") {
			t.Errorf("%s: OPENAI_API_KEY_PARAM = %v", f.Name, got)
		}
		if got := path(env, "WEBHOOK_SECRET_PARAM"); got != params["ingren-webhook-secret"].out("name") {
			t.Errorf("%s: WEBHOOK_SECRET_PARAM = %v", f.Name, got)
		}
	}
}

// walk calls found for every string under v that contains needle, saying
// where and whether it sits inside a secret.
func walk(v resource.PropertyValue, secret bool, at string, found func(at string, secret bool), needle string) {
	switch {
	case v.IsSecret():
		walk(v.SecretValue().Element, true, at, found, needle)
	case v.IsOutput():
		walk(v.OutputValue().Element, secret || v.OutputValue().Secret, at, found, needle)
	case v.IsString():
		if strings.Contains(v.StringValue(), needle) {
			found(at, secret)
		}
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			walk(e, secret, fmt.Sprintf("%s[%d]", at, i), found, needle)
		}
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			walk(e, secret, at+"."+string(k), found, needle)
		}
	}
}

func TestFunctionsRunGoOnArmWithConfiguredEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		config  map[string]string
		wantEnv map[string]string // besides those every stack has
		absent  []string
	}{
		{
			name: "OKDefaults",
			absent: []string{"OPENAI_BASE_URL", "WEBHOOK_SECRET_PARAM", "OPENAI_RPM", "OPENAI_TPM",
				"RETRY_DELAY", "OPENAI_TIMEOUT", "ALLOWED_MODELS", "BATCH_POLL_INTERVAL", "API_KEY_BUDGETS",
				// The functions' own defaults apply.
				"OPENAI_MODEL", "WORKER_CONCURRENCY", "ITEM_TTL_DAYS", "MAX_CAMPAIGN_PROSPECTS"},
		},
		{
			name: "OKOptionalsSet",
			config: map[string]string{
				"openaiBaseUrl": "https://llm.example.com/v1", "webhookSecret": "whsec",
				"openaiModel": "gpt-4o", "workerConcurrency": "4", "corsAllowOrigins": "https://app.example.com",
				"itemTtlDays": "7", "maxCampaignProspects": "500", "openaiRpm": "500", "openaiTpm": "200000",
				"retryDelay": "90s", "openaiTimeout": "45s", "allowedModels": `["gpt-4.1", "gpt-4o"]`,
				"batchPollInterval": "5m", "apiKeyBudgets": "*=100,a1b2c3d4e5=25.50",
			},
			wantEnv: map[string]string{
				"OPENAI_RPM": "500", "OPENAI_TPM": "200000",
				// Durations as Go prints them; the configured model first,
				// so it stays allowed.
				"RETRY_DELAY": "1m30s", "OPENAI_TIMEOUT": "45s", "ALLOWED_MODELS": "gpt-4o,gpt-4.1", "BATCH_POLL_INTERVAL": "5m0s",
				"API_KEY_BUDGETS": "*=100,a1b2c3d4e5=25.50",
				"OPENAI_BASE_URL": "https://llm.example.com/v1", "WEBHOOK_SECRET_PARAM": "/ingren/dev/webhook-secret",
				"OPENAI_MODEL": "gpt-4o", "WORKER_CONCURRENCY": "4", "CORS_ALLOW_ORIGINS": "https://app.example.com",
				"ITEM_TTL_DAYS": "7", "MAX_CAMPAIGN_PROSPECTS": "500",
			},
		},
		{
			// Without openaiModel the functions put their own default
			// first.
			name:    "OKAllowedModelsWithoutModel",
			config:  map[string]string{"allowedModels": "gpt-4.1,gpt-4o"},
			wantEnv: map[string]string{"ALLOWED_MODELS": "gpt-4.1,gpt-4o"},
			absent:  []string{"OPENAI_MODEL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDeploy(t, "dev", tt.config)
			want := map[string]string{
				"TABLE_NAME":           d.mustGet(t, typeTable, "ingren-table").out("name"),
				"QUEUE_URL":            d.mustGet(t, typeQueue, "ingren-work-queue").out("url"),
				"OPENAI_API_KEY_PARAM": "/ingren/dev/openai-api-key",
				"MAX_RECEIVE_COUNT":    "5",
				"LOG_LEVEL":            "info",
				"CORS_ALLOW_ORIGINS":   "*",
			}
			for k, v := range tt.wantEnv {
				want[k] = v
			}
			sizes := map[string][3]any{
				"ingren-api":    {float64(512), float64(29), "../dist/api.zip"},
				"ingren-worker": {float64(512), float64(120), "../dist/worker.zip"},
			}
			fns := d.ofType(typeFunction)
			if len(fns) != 2 {
				t.Fatalf("got %d functions, want api and worker", len(fns))
			}
			for _, f := range fns {
				if f.str("runtime") != "provided.al2023" || f.str("handler") != "bootstrap" ||
					!slices.Equal(toStrings(f.in("architectures")), []string{"arm64"}) {
					t.Errorf("%s: %s %s %v, want provided.al2023 bootstrap [arm64]",
						f.Name, f.str("runtime"), f.str("handler"), f.in("architectures"))
				}
				s := sizes[f.Name]
				if f.in("memorySize") != s[0] || f.in("timeout") != s[1] || f.in("code") != s[2] {
					t.Errorf("%s: memory %v timeout %v code %v, want %v", f.Name,
						f.in("memorySize"), f.in("timeout"), f.in("code"), s)
				}
				env, _ := path(f.in("environment"), "variables").(map[string]any)
				for k, v := range want {
					if env[k] != v {
						t.Errorf("%s: %s = %v, want %q", f.Name, k, env[k], v)
					}
				}
				for _, k := range tt.absent {
					if _, ok := env[k]; ok {
						t.Errorf("%s: %s set, want it left out", f.Name, k)
					}
				}
			}
		})
	}
}

func TestTableKeysIndexAndProtection(t *testing.T) {
	for _, protect := range []bool{false, true} {
		t.Run(fmt.Sprintf("OKDeletionProtection%v", protect), func(t *testing.T) {
			var config map[string]string
			if protect {
				config = map[string]string{"deletionProtection": "true"}
			}
			tbl := mustDeploy(t, "dev", config).mustGet(t, typeTable, "ingren-table")
			checks := []struct {
				what string
				got  any
				want any
			}{
				{"billingMode", tbl.in("billingMode"), "PAY_PER_REQUEST"},
				{"hashKey", tbl.in("hashKey"), "pk"},
				{"rangeKey", tbl.in("rangeKey"), "sk"},
				{"ttl", fmt.Sprint(tbl.in("ttl")), "map[attributeName:expires_at enabled:true]"},
				{"pointInTimeRecovery", path(tbl.in("pointInTimeRecovery"), "enabled"), true},
				{"serverSideEncryption", path(tbl.in("serverSideEncryption"), "enabled"), true},
				{"deletionProtectionEnabled", tbl.in("deletionProtectionEnabled"), protect},
				{"globalSecondaryIndexes", fmt.Sprint(tbl.in("globalSecondaryIndexes")),
					"[map[hashKey:gsi1pk name:gsi1 projectionType:ALL rangeKey:gsi1sk]]"},
				{"attributes", fmt.Sprint(tbl.in("attributes")),
					"[map[name:pk type:S] map[name:sk type:S] map[name:gsi1pk type:S] map[name:gsi1sk type:S]]"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestStageIsNamedAfterTheStackWithJSONAccessLogs(t *testing.T) {
	for _, stackName := range []string{"dev", "prod"} {
		t.Run("OK"+stackName, func(t *testing.T) {
			d := mustDeploy(t, stackName, nil)
			stage := d.mustGet(t, typeStage, "ingren-stage")
			if stage.str("stageName") != stackName {
				t.Errorf("stageName = %s, want %s", stage.str("stageName"), stackName)
			}
			if stage.str("deployment") != d.mustGet(t, typeDeployment, "ingren-deployment").ID {
				t.Errorf("stage serves deployment %s", stage.str("deployment"))
			}
			var format map[string]string
			raw := fmt.Sprint(path(stage.in("accessLogSettings"), "format"))
			if err := json.Unmarshal([]byte(raw), &format); err != nil {
				t.Fatalf("access log format is not JSON: %v\n%s", err, raw)
			}
			for _, k := range []string{"requestId", "apiKeyId", "status", "latency"} {
				if !strings.HasPrefix(format[k], "$context.") {
					t.Errorf("access log %s = %q", k, format[k])
				}
			}
			if !stage.dependsOn("ingren-apigateway-account") {
				t.Error("stage does not wait for the account's CloudWatch role")
			}

			perm := d.mustGet(t, typePermission, "ingren-api-invoke")
			wantSource := d.mustGet(t, typeRestAPI, "ingren-api").out("executionArn") + "/" + stackName + "/*/*"
			if perm.str("principal") != "apigateway.amazonaws.com" || perm.str("sourceArn") != wantSource {
				t.Errorf("permission %s from %s, want apigateway from %s",
					perm.str("principal"), perm.str("sourceArn"), wantSource)
			}

			wantURL := "https://ingren-api-id.execute-api.us-east-1.amazonaws.com/" + stackName
			for name, want := range map[string]string{
				"api_url":                 wantURL,
				"generate_email_endpoint": wantURL + "/api/v1/generate-email",
				"campaigns_endpoint":      wantURL + "/api/v1/campaigns",
			} {
				if got := d.outputs[name].Value; got != want {
					t.Errorf("%s = %v, want %s", name, got, want)
				}
			}
		})
	}
}

// CSV uploads reach the api function as base64 bytes, so that a
// Windows-1252 or UTF-16 file is not read as UTF-8 text on the way; JSON
// stays text.
func TestCSVUploadsAreBinaryMediaTypes(t *testing.T) {
	d := mustDeploy(t, "dev", nil)
	got := fmt.Sprint(d.mustGet(t, typeRestAPI, "ingren-api").in("binaryMediaTypes"))
	if want := "[text/csv application/csv multipart/form-data]"; got != want {
		t.Fatalf("binaryMediaTypes = %s, want %s", got, want)
	}
}

func TestAPIGatewayAccountRoleCanBeLeftToAnotherStack(t *testing.T) {
	d := mustDeploy(t, "prod", map[string]string{"manageApiGatewayAccount": "false"})
	if n := len(d.ofType(typeAccount)) + len(d.ofType(typeAttachment)); n != 0 {
		t.Errorf("got %d account resources, want none", n)
	}
	if n := len(d.ofType(typeStage)); n != 1 {
		t.Errorf("got %d stages, want 1", n)
	}
}

func TestUsagePlanThrottlesAndMetersTheStage(t *testing.T) {
	tests := []struct {
		name               string
		config             map[string]string
		rate, burst, quota float64
		period             string
	}{
		{name: "OKDefaults", rate: 50, burst: 100, quota: 100000, period: "MONTH"},
		{
			name:   "OKConfigured",
			config: map[string]string{"throttleRateLimit": "5", "throttleBurstLimit": "10", "quotaLimit": "500", "quotaPeriod": "DAY"},
			rate:   5, burst: 10, quota: 500, period: "DAY",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDeploy(t, "dev", tt.config)
			plan := d.mustGet(t, typeUsagePlan, "ingren-usage-plan")
			if got := path(plan.in("throttleSettings"), "rateLimit"); got != tt.rate {
				t.Errorf("rateLimit = %v, want %v", got, tt.rate)
			}
			if got := path(plan.in("throttleSettings"), "burstLimit"); got != tt.burst {
				t.Errorf("burstLimit = %v, want %v", got, tt.burst)
			}
			if got := path(plan.in("quotaSettings"), "limit"); got != tt.quota {
				t.Errorf("quota limit = %v, want %v", got, tt.quota)
			}
			if got := path(plan.in("quotaSettings"), "period"); got != tt.period {
				t.Errorf("quota period = %v, want %v", got, tt.period)
			}
			wantStages := fmt.Sprintf("[map[apiId:%s stage:dev]]", d.mustGet(t, typeRestAPI, "ingren-api").ID)
			if got := fmt.Sprint(plan.in("apiStages")); got != wantStages {
				t.Errorf("apiStages = %s, want %s", got, wantStages)
			}
			keys := d.ofType(typeUsagePlanKey)
			key := d.mustGet(t, typeAPIKey, "ingren-api-key")
			if len(keys) != 1 || keys[0].str("keyId") != key.ID || keys[0].str("usagePlanId") != plan.ID ||
				keys[0].str("keyType") != "API_KEY" {
				t.Errorf("usage plan keys = %v, want the API key on the plan", keys)
			}
		})
	}
}

func TestAPIKeyValueIsASecretOutput(t *testing.T) {
	d := mustDeploy(t, "dev", nil)
	want := []string{"api_url", "generate_email_endpoint", "campaigns_endpoint", "api_key_id",
		"api_key_value", "table_name", "queue_url", "dlq_url"}
	for _, name := range want {
		o, ok := d.outputs[name]
		if !ok {
			t.Errorf("no output %s", name)
			continue
		}
		if wantSecret := name == "api_key_value"; o.Secret != wantSecret {
			t.Errorf("%s: secret = %v, want %v", name, o.Secret, wantSecret)
		}
	}
	if got := d.outputs["api_key_value"].Value; got != "mock-api-key-value" {
		t.Errorf("api_key_value = %v, want the API key's value", got)
	}
	if len(d.outputs) != len(want) {
		t.Errorf("got %d outputs, want %d", len(d.outputs), len(want))
	}
}

func TestAlarmsFireOnFirstFailureAndMailWhenAsked(t *testing.T) {
	tests := []struct {
		name  string
		email string
	}{
		{name: "OKWithoutEmail"},
		{name: "OKWithEmail", email: "ops@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var config map[string]string
			if tt.email != "" {
				config = map[string]string{"alarmEmail": tt.email}
			}
			d := mustDeploy(t, "dev", config)

			var wantActions []string
			topics := d.ofType(typeTopic)
			subs := d.ofType(typeSubscription)
			if tt.email == "" {
				if len(topics)+len(subs) != 0 {
					t.Errorf("got %d topics and %d subscriptions, want none", len(topics), len(subs))
				}
			} else {
				if len(topics) != 1 || len(subs) != 1 {
					t.Fatalf("got %d topics and %d subscriptions, want 1 each", len(topics), len(subs))
				}
				wantActions = []string{topics[0].out("arn")}
				if subs[0].str("protocol") != "email" || subs[0].str("endpoint") != tt.email ||
					subs[0].str("topic") != topics[0].out("arn") {
					t.Errorf("subscription %v, want %s by email", subs[0].Inputs, tt.email)
				}
			}

			dlq := d.mustGet(t, typeQueue, "ingren-dlq").out("name")
			want := map[string]string{
				"AWS/SQS NumberOfMessagesReceived QueueName=" + dlq:                                         "",
				"AWS/SQS ApproximateNumberOfMessagesVisible QueueName=" + dlq:                               "",
				"AWS/Lambda Errors FunctionName=" + d.mustGet(t, typeFunction, "ingren-worker").out("name"): "",
				"AWS/ApiGateway 5XXError ApiName=ingren-dev Stage=dev":                                      "",
			}
			var got, names []string
			for _, a := range d.ofType(typeAlarm) {
				dims := []string{}
				for k, v := range a.in("dimensions").(map[string]any) {
					dims = append(dims, k+"="+fmt.Sprint(v))
				}
				sort.Strings(dims)
				got = append(got, a.str("namespace")+" "+a.str("metricName")+" "+strings.Join(dims, " "))
				names = append(names, a.str("name"))
				if a.in("threshold") != float64(0) || a.str("comparisonOperator") != "GreaterThanThreshold" {
					t.Errorf("%s fires on %s %v, want > 0", a.Name, a.str("comparisonOperator"), a.in("threshold"))
				}
				if actions := toStrings(a.in("alarmActions")); !slices.Equal(actions, wantActions) {
					t.Errorf("%s: alarmActions = %v, want %v", a.Name, actions, wantActions)
				}
			}
			for _, g := range got {
				if _, ok := want[g]; !ok {
					t.Errorf("unexpected alarm %s", g)
				}
				delete(want, g)
			}
			for w := range want {
				t.Errorf("no alarm on %s", w)
			}
			// The names DEPLOYMENT.md lists.
			sort.Strings(names)
			if wantNames := []string{"ingren-dev-api-5xx", "ingren-dev-dlq-backlog", "ingren-dev-dlq-messages",
				"ingren-dev-worker-errors"}; !slices.Equal(names, wantNames) {
				t.Errorf("alarm names %q, want %q", names, wantNames)
			}
		})
	}
}

func toStrings(v any) []string {
	a, _ := v.([]any)
	var s []string
	for _, e := range a {
		s = append(s, fmt.Sprint(e))
	}
	return s
}

func TestInvalidConfigStopsBeforeAnyResource(t *testing.T) {
	d, err := deploy("dev", map[string]string{"maxConcurrency": "1", "logLevel": "loud"})
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("deploy error = %v, want a *ValidationError", err)
	}
	if len(verr.Problems) != 2 {
		t.Errorf("got problems %q, want maxConcurrency and logLevel", verr.Problems)
	}
	if len(d.resources) != 0 {
		t.Errorf("declared %d resources before failing", len(d.resources))
	}
}
