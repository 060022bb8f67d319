package stack

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Namespace is the Pulumi config namespace of every key this program reads:
// `pulumi config set ingren:batchSize 20`, or just `batchSize` in this project.
const Namespace = "ingren"

// Config is everything a stack can tune. Each field names its config key and
// default; Defaults returns them and DEPLOYMENT.md lists them in a table.
//
// A setting that only reaches the functions' environment defaults to unset
// (0 or ""), so that the functions apply their own default, declared once in
// the service module (campaign's and openai's Default constants). Defaults
// states a service setting only where the stack itself needs its value.
type Config struct {
	// OpenAIAPIKey (openaiApiKey, secret, required) is written to an SSM
	// SecureString parameter that the functions read at cold start.
	OpenAIAPIKey Secret
	// WebhookSecret (webhookSecret, secret, optional) signs webhook callbacks;
	// when set it is stored like the OpenAI key.
	WebhookSecret Secret
	// OpenAIModel (openaiModel) is the chat model. Default unset: the
	// functions' own, openai.DefaultModel.
	OpenAIModel string
	// OpenAIBaseURL (openaiBaseUrl) points the functions at an OpenAI-compatible
	// endpoint. Default empty: the OpenAI API.
	OpenAIBaseURL string
	// OpenAIRPM and OpenAITPM (openaiRpm, openaiTpm) state the OpenAI
	// tier's requests and tokens per minute, so the functions pace calls
	// before OpenAI answers 429. Default 0: learn from 429s.
	OpenAIRPM int
	OpenAITPM int
	// OpenAITimeout (openaiTimeout, a Go duration such as 45s) bounds one
	// model call; below workerTimeoutSeconds. Default unset: the
	// functions' own, 30s.
	OpenAITimeout time.Duration
	// AllowedModels (allowedModels, a list or comma-separated) are the
	// models a request's options.model may name besides OpenAIModel; the
	// functions get both as ALLOWED_MODELS. Default none: only OpenAIModel.
	AllowedModels []string
	// RetryDelay (retryDelay, a Go duration from 1s to 5m) is the worker's
	// first wait before a prospect that failed for a passing reason is
	// tried again, doubled per try up to 5 minutes. Default unset: the
	// worker's own, 10s.
	RetryDelay time.Duration
	// BatchPollInterval (batchPollInterval, a Go duration from 1s to 15m,
	// SQS's longest delay) is how often the worker checks a batch
	// campaign's provider batches. Default unset: the worker's own, 1m.
	BatchPollInterval time.Duration
	// APIKeyBudgets (apiKeyBudgets) are the API keys' monthly budgets in
	// US dollars, as the functions read API_KEY_BUDGETS: comma-separated
	// id=usd, where id is an API Gateway key id or * for every key
	// without its own (the stack's own key: "*=100"). Default none.
	APIKeyBudgets string

	// APIZip (apiZip) is the api function's zip, relative to infra/. Default ../dist/api.zip.
	APIZip string
	// WorkerZip (workerZip) is the worker function's zip. Default ../dist/worker.zip.
	WorkerZip string
	// APIMemoryMB (apiMemoryMb) is the api function's memory. Default 512:
	// Lambda gives CPU in proportion to memory, and a 10,000-prospect submit
	// spends about 0.6 s of CPU writing items, which 256 MB would stretch
	// past 3 s.
	APIMemoryMB int
	// APITimeoutSeconds (apiTimeoutSeconds) is the api function's timeout.
	// Default 29, the API Gateway integration limit.
	APITimeoutSeconds int
	// WorkerMemoryMB (workerMemoryMb) is the worker function's memory. Default 512.
	WorkerMemoryMB int
	// WorkerTimeoutSeconds (workerTimeoutSeconds) is the worker function's
	// timeout; the queue's visibility timeout is six times it. Default 120.
	WorkerTimeoutSeconds int

	// MaxReceiveCount (maxReceiveCount) is how often a message is received
	// before SQS moves it to the dead-letter queue. The functions get it as
	// MAX_RECEIVE_COUNT, since they must fail a prospect on that same
	// receive. Default 5, the functions' own (campaign.DefaultMaxReceive):
	// the stack needs the value for the redrive policy, so it states it.
	MaxReceiveCount int
	// BatchSize (batchSize) is the most messages one worker invocation gets. Default 10.
	BatchSize int
	// MaxBatchingWindowSeconds (maxBatchingWindowSeconds) is how long Lambda
	// gathers a batch; AWS requires at least 1 when batchSize > 10. Default 1.
	MaxBatchingWindowSeconds int
	// MaxConcurrency (maxConcurrency) caps concurrent worker invocations
	// (AWS minimum 2). Default 5.
	MaxConcurrency int
	// WorkerConcurrency (workerConcurrency) is how many messages one worker
	// invocation processes at once. Default unset: the functions' own,
	// campaign.DefaultConcurrency.
	WorkerConcurrency int

	// ItemTTLDays (itemTtlDays) is how long campaigns and emails are kept.
	// Default unset: the functions' own, campaign.DefaultTTL.
	ItemTTLDays int
	// LogLevel (logLevel) is debug, info, warn or error. Default info.
	LogLevel string
	// CORSAllowOrigins (corsAllowOrigins) is the comma-separated list of
	// browser origins the api answers preflight for. Default *.
	CORSAllowOrigins string
	// MaxCampaignProspects (maxCampaignProspects) caps one campaign's size.
	// Default unset: the functions' own, campaign.DefaultMaxProspects.
	MaxCampaignProspects int
	// LogRetentionDays (logRetentionDays) is every log group's retention; one
	// of the values CloudWatch accepts. Default 14.
	LogRetentionDays int

	// ThrottleRateLimit (throttleRateLimit) is the usage plan's steady rate,
	// requests per second. Default 50.
	ThrottleRateLimit float64
	// ThrottleBurstLimit (throttleBurstLimit) is the usage plan's burst. Default 100.
	ThrottleBurstLimit int
	// QuotaLimit (quotaLimit) is the requests one API key may make per
	// QuotaPeriod. Default 100000.
	QuotaLimit int
	// QuotaPeriod (quotaPeriod) is DAY, WEEK or MONTH. Default MONTH.
	QuotaPeriod string

	// DeletionProtection (deletionProtection) guards the table against
	// deletion, destroy included. Default false; turn it on for prod.
	DeletionProtection bool
	// AlarmEmail (alarmEmail) subscribes an address to the alarms through an
	// SNS topic. Default empty: alarms without notifications.
	AlarmEmail string
	// ManageAPIGatewayAccount (manageApiGatewayAccount) sets the region's
	// account-wide API Gateway CloudWatch role, which access logs need. Only one
	// stack per account and region should; set false on the others. Default true.
	ManageAPIGatewayAccount bool
}

// Defaults returns the Config used for every key that is not set. A default
// it states for a setting the functions also read must equal theirs:
// TestInfraDefaults in the service module's internal/config checks it.
func Defaults() Config {
	return Config{
		APIZip:                   "../dist/api.zip",
		WorkerZip:                "../dist/worker.zip",
		APIMemoryMB:              512,
		APITimeoutSeconds:        29,
		WorkerMemoryMB:           512,
		WorkerTimeoutSeconds:     120,
		MaxReceiveCount:          5,
		BatchSize:                10,
		MaxBatchingWindowSeconds: 1,
		MaxConcurrency:           5,
		LogLevel:                 "info",
		CORSAllowOrigins:         "*",
		LogRetentionDays:         14,
		ThrottleRateLimit:        50,
		ThrottleBurstLimit:       100,
		QuotaLimit:               100000,
		QuotaPeriod:              "MONTH",
		DeletionProtection:       false,
		ManageAPIGatewayAccount:  true,
	}
}

// Secret is a config value that must not be printed: fmt shows it as [secret].
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[secret]"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return `stack.Secret("` + s.String() + `")` }

// Output returns the value as a Pulumi secret, so it is encrypted in the state.
func (s Secret) Output() pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(string(s))).(pulumi.StringOutput)
}

// ValidationError lists every problem found in a stack's config.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s config (%d problems):\n  - %s",
		Namespace, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// Source is where config values come from: the stack config in a program, a
// map in tests. Keys are given without the namespace.
type Source interface {
	// Get returns the raw value of key and whether it is set.
	Get(key string) (string, bool)
	// IsSecret reports whether key was set with --secret.
	IsSecret(key string) bool
}

// LoadConfig reads the stack's config in namespace ingren.
func LoadConfig(ctx *pulumi.Context) (Config, error) {
	return Load(pulumiSource{ctx})
}

type pulumiSource struct{ ctx *pulumi.Context }

func (s pulumiSource) Get(key string) (string, bool) {
	return s.ctx.GetConfig(Namespace + ":" + key)
}

func (s pulumiSource) IsSecret(key string) bool {
	return s.ctx.IsConfigSecret(Namespace + ":" + key)
}

// Load reads a Config from src over Defaults and validates it, returning a
// *ValidationError that lists every problem at once.
func Load(src Source) (Config, error) {
	l := loader{src: src}
	c := Defaults()
	c.OpenAIAPIKey = l.secret("openaiApiKey")
	c.WebhookSecret = l.secret("webhookSecret")
	l.str(&c.OpenAIModel, "openaiModel")
	l.str(&c.OpenAIBaseURL, "openaiBaseUrl")
	l.int(&c.OpenAIRPM, "openaiRpm")
	l.int(&c.OpenAITPM, "openaiTpm")
	l.duration(&c.OpenAITimeout, "openaiTimeout")
	l.list(&c.AllowedModels, "allowedModels")
	l.duration(&c.RetryDelay, "retryDelay")
	l.duration(&c.BatchPollInterval, "batchPollInterval")
	l.str(&c.APIKeyBudgets, "apiKeyBudgets")
	l.str(&c.APIZip, "apiZip")
	l.str(&c.WorkerZip, "workerZip")
	l.int(&c.APIMemoryMB, "apiMemoryMb")
	l.int(&c.APITimeoutSeconds, "apiTimeoutSeconds")
	l.int(&c.WorkerMemoryMB, "workerMemoryMb")
	l.int(&c.WorkerTimeoutSeconds, "workerTimeoutSeconds")
	l.int(&c.MaxReceiveCount, "maxReceiveCount")
	l.int(&c.BatchSize, "batchSize")
	l.int(&c.MaxBatchingWindowSeconds, "maxBatchingWindowSeconds")
	l.int(&c.MaxConcurrency, "maxConcurrency")
	l.int(&c.WorkerConcurrency, "workerConcurrency")
	l.int(&c.ItemTTLDays, "itemTtlDays")
	l.str(&c.LogLevel, "logLevel")
	l.str(&c.CORSAllowOrigins, "corsAllowOrigins")
	l.int(&c.MaxCampaignProspects, "maxCampaignProspects")
	l.int(&c.LogRetentionDays, "logRetentionDays")
	l.float(&c.ThrottleRateLimit, "throttleRateLimit")
	l.int(&c.ThrottleBurstLimit, "throttleBurstLimit")
	l.int(&c.QuotaLimit, "quotaLimit")
	l.str(&c.QuotaPeriod, "quotaPeriod")
	l.bool(&c.DeletionProtection, "deletionProtection")
	l.str(&c.AlarmEmail, "alarmEmail")
	l.bool(&c.ManageAPIGatewayAccount, "manageApiGatewayAccount")

	problems := append(l.problems, c.Validate()...)
	if len(problems) > 0 {
		return c, &ValidationError{Problems: problems}
	}
	return c, nil
}

// retentionDays are the values CloudWatch Logs accepts for a log group.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Validate returns every problem with c, each naming its config key; none
// means c is good to deploy.
func (c Config) Validate() []string {
	var p []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			p = append(p, fmt.Sprintf(format, args...))
		}
	}
	between := func(key string, v, lo, hi int, why string) {
		check(v >= lo && v <= hi, "%s must be between %d and %d%s, got %d", key, lo, hi, why, v)
	}
	// optional is between for a setting whose 0 leaves the functions' own
	// default.
	optional := func(key string, v, lo, hi int) {
		if v != 0 {
			between(key, v, lo, hi, "")
		}
	}

	check(c.OpenAIAPIKey != "", "openaiApiKey is required: pulumi config set --secret openaiApiKey sk-...")
	if c.OpenAIBaseURL != "" {
		u, err := url.Parse(c.OpenAIBaseURL)
		check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "",
			"openaiBaseUrl must be an http(s) URL, got %q", c.OpenAIBaseURL)
	}
	between("openaiRpm", c.OpenAIRPM, 0, 1_000_000, "")
	between("openaiTpm", c.OpenAITPM, 0, 1_000_000_000, "")
	if c.OpenAITimeout != 0 {
		check(c.OpenAITimeout >= time.Second && c.OpenAITimeout < time.Duration(c.WorkerTimeoutSeconds)*time.Second,
			"openaiTimeout must be at least 1s and below workerTimeoutSeconds (%ds), got %v", c.WorkerTimeoutSeconds, c.OpenAITimeout)
	}
	for _, m := range c.AllowedModels {
		check(m != "" && !strings.ContainsAny(m, ", \t\n"), "allowedModels: %q is not a model name (no spaces or commas)", m)
	}
	if c.BatchPollInterval != 0 {
		check(c.BatchPollInterval >= time.Second && c.BatchPollInterval <= 15*time.Minute,
			"batchPollInterval must be between 1s and 15m (SQS delays a message at most 15 minutes), got %v", c.BatchPollInterval)
	}
	for _, pair := range strings.Split(c.APIKeyBudgets, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		id, amount, ok := strings.Cut(pair, "=")
		usd, err := strconv.ParseFloat(strings.TrimSpace(amount), 64)
		check(ok && strings.TrimSpace(id) != "" && err == nil && usd > 0 && usd <= 1_000_000,
			"apiKeyBudgets: %q is not id=usd (an API key id, or * for every key, and US dollars above 0 and at most 1000000)", pair)
	}
	if c.RetryDelay != 0 {
		check(c.RetryDelay >= time.Second && c.RetryDelay <= 5*time.Minute,
			"retryDelay must be between 1s and 5m (the worker's backoff stops at 5 minutes), got %v", c.RetryDelay)
	}
	check(c.APIZip != "", "apiZip must not be empty")
	check(c.WorkerZip != "", "workerZip must not be empty")
	between("apiMemoryMb", c.APIMemoryMB, 128, 10240, "")
	between("apiTimeoutSeconds", c.APITimeoutSeconds, 1, 29, " (API Gateway ends the request at 29 s)")
	between("workerMemoryMb", c.WorkerMemoryMB, 128, 10240, "")
	between("workerTimeoutSeconds", c.WorkerTimeoutSeconds, 1, 900, "")
	between("maxReceiveCount", c.MaxReceiveCount, 1, 1000, "")
	between("batchSize", c.BatchSize, 1, 10000, "")
	between("maxBatchingWindowSeconds", c.MaxBatchingWindowSeconds, 0, 300, "")
	check(c.BatchSize <= 10 || c.MaxBatchingWindowSeconds >= 1,
		"maxBatchingWindowSeconds must be at least 1 when batchSize is over 10 (AWS rule), got %d", c.MaxBatchingWindowSeconds)
	between("maxConcurrency", c.MaxConcurrency, 2, 1000, " (AWS limits)")
	optional("workerConcurrency", c.WorkerConcurrency, 1, 1024)
	optional("itemTtlDays", c.ItemTTLDays, 1, 3650)
	check(slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel),
		"logLevel must be debug, info, warn or error, got %q", c.LogLevel)
	check(c.CORSAllowOrigins != "", "corsAllowOrigins must not be empty (use * to allow any origin)")
	optional("maxCampaignProspects", c.MaxCampaignProspects, 1, 100000)
	check(slices.Contains(retentionDays, c.LogRetentionDays),
		"logRetentionDays must be one of %v, got %d", retentionDays, c.LogRetentionDays)
	check(c.ThrottleRateLimit > 0, "throttleRateLimit must be above 0, got %g", c.ThrottleRateLimit)
	check(c.ThrottleBurstLimit >= 1, "throttleBurstLimit must be at least 1, got %d", c.ThrottleBurstLimit)
	check(c.QuotaLimit >= 1, "quotaLimit must be at least 1, got %d", c.QuotaLimit)
	check(slices.Contains([]string{"DAY", "WEEK", "MONTH"}, c.QuotaPeriod),
		"quotaPeriod must be DAY, WEEK or MONTH, got %q", c.QuotaPeriod)
	if c.AlarmEmail != "" {
		_, err := mail.ParseAddress(c.AlarmEmail)
		check(err == nil, "alarmEmail must be an email address, got %q", c.AlarmEmail)
	}
	return p
}

// loader reads typed values from a Source, recording each unreadable one.
type loader struct {
	src      Source
	problems []string
}

func (l *loader) str(dst *string, key string) {
	if v, ok := l.src.Get(key); ok {
		*dst = v
	}
}

// secret reads a value that must have been set with --secret: a plaintext
// secret would sit unencrypted in Pulumi.<stack>.yaml and in the state.
func (l *loader) secret(key string) Secret {
	v, ok := l.src.Get(key)
	if ok && v != "" && !l.src.IsSecret(key) {
		l.problems = append(l.problems, fmt.Sprintf(
			"%s is stored in plaintext: pulumi config rm %s && pulumi config set --secret %s ...", key, key, key))
	}
	return Secret(v)
}

func (l *loader) int(dst *int, key string) { parse(l, dst, key, "a whole number", strconv.Atoi) }

// duration reads a Go duration such as 45s or 1m30s.
func (l *loader) duration(dst *time.Duration, key string) {
	parse(l, dst, key, "a duration such as 10s or 1m30s", time.ParseDuration)
}

func (l *loader) float(dst *float64, key string) {
	parse(l, dst, key, "a number", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

func (l *loader) bool(dst *bool, key string) { parse(l, dst, key, "true or false", strconv.ParseBool) }

// parse reads key with read, after trimming its spaces. A value read cannot
// take is a problem that says it must be want.
func parse[T any](l *loader, dst *T, key, want string, read func(string) (T, error)) {
	v, ok := l.src.Get(key)
	if !ok {
		return
	}
	x, err := read(strings.TrimSpace(v))
	if err != nil {
		l.problems = append(l.problems, fmt.Sprintf("%s must be %s, got %q", key, want, v))
		return
	}
	*dst = x
}

// list reads a list: pulumi config set --path 'key[0]' a stores it as
// JSON; pulumi config set key a,b as a comma-separated string.
func (l *loader) list(dst *[]string, key string) {
	v, ok := l.src.Get(key)
	if !ok {
		return
	}
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "[") {
		var items []string
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			l.problems = append(l.problems, fmt.Sprintf(`%s must be a list such as ["a", "b"], or a,b; got %q`, key, v))
			return
		}
		*dst = items
		return
	}
	var items []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	*dst = items
}
