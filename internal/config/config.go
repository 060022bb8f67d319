// Package config reads the service's configuration from the environment
// into one typed struct, checked at start-up with every problem listed.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/openai"
)

// Config is every setting of the service. Defaults are noted per field;
// their values live beside what they limit (campaign's and openai's
// Default constants), and FromEnv refers to them.
type Config struct {
	// OpenAIAPIKey is the provider key (OPENAI_API_KEY). Never logged.
	OpenAIAPIKey string
	// OpenAIBaseURL points at any OpenAI-compatible server (OPENAI_BASE_URL;
	// default the OpenAI API).
	OpenAIBaseURL string
	// OpenAIModel is the default model (OPENAI_MODEL; default gpt-4o-mini).
	OpenAIModel string
	// AllowedModels are the models a request may name in options.model
	// besides OpenAIModel, which is always allowed (ALLOWED_MODELS,
	// comma-separated; default none). Any other name is refused, so that a
	// key holder cannot bill the operator for a dearer model. See Models.
	AllowedModels []string
	// ModelPrices is a JSON price table's path (MODEL_PRICES; default
	// none: the table embedded in internal/price). It replaces the
	// embedded table whole; app.Prices reads it at start.
	ModelPrices string
	// OpenAITimeout bounds one model call (OPENAI_TIMEOUT; default 30s).
	OpenAITimeout time.Duration
	// OpenAIRPM and OpenAITPM state the account's rate limits up front
	// (OPENAI_RPM, OPENAI_TPM; default 0 = learn from 429s).
	OpenAIRPM int
	OpenAITPM int

	// Port is the local program's HTTP port (PORT; default 8080).
	Port int
	// APIKeys are the keys the local program accepts (API_KEYS,
	// comma-separated; when empty the local program accepts one it makes on
	// its first start and keeps in DataDir).
	APIKeys []string
	// KeyBudgets are the API keys' monthly budgets (API_KEY_BUDGETS:
	// comma-separated tenant=usd, where tenant is a key's tenant id as
	// GET /api/v1/usage shows it, or * for every key without its own;
	// default none). A month is a UTC calendar month.
	KeyBudgets KeyBudgets
	// DataDir holds local state, made owner-only (0700) at start-up
	// (DATA_DIR; default ./data).
	DataDir string
	// TenantSecret keys the local program's tenant ids (TENANT_SECRET, 32+
	// characters; default a random one kept in DataDir). Never logged.
	TenantSecret string
	// PromptsDir replaces the embedded prompts (PROMPTS_DIR; default none).
	PromptsDir string
	// LogLevel is debug, info, warn or error (LOG_LEVEL; default info).
	LogLevel slog.Level
	// CORSAllowOrigins lists the origins browsers may call from
	// (CORS_ALLOW_ORIGINS, comma-separated, * for any; default none).
	CORSAllowOrigins []string

	// WorkerConcurrency bounds parallel model calls per worker
	// (WORKER_CONCURRENCY; default 16).
	WorkerConcurrency int
	// MaxCampaignProspects bounds one campaign (MAX_CAMPAIGN_PROSPECTS;
	// default 10000).
	MaxCampaignProspects int
	// MaxReceiveCount is the queue's redrive count: on that receive a
	// prospect is failed rather than retried (MAX_RECEIVE_COUNT; default 5).
	MaxReceiveCount int
	// CampaignTTL is how long campaigns are kept (ITEM_TTL_DAYS; default 30).
	CampaignTTL time.Duration
	// RetryDelay is the worker Lambda's first backoff before a failed
	// prospect is tried again, doubled per try up to 5 minutes
	// (RETRY_DELAY; default 10s). The local program retries after 1 s,
	// doubling.
	RetryDelay time.Duration
	// BatchPollInterval is how often a batch campaign's provider batches
	// are checked (BATCH_POLL_INTERVAL; default 60s, at most 15m, SQS's
	// longest delay).
	BatchPollInterval time.Duration
	// WebhookSecret signs webhook calls (WEBHOOK_SECRET). Never logged.
	WebhookSecret string
	// WebhookAllowPrivate lets webhooks go to loopback and private
	// addresses (WEBHOOK_ALLOW_PRIVATE; default false).
	WebhookAllowPrivate bool

	// AWS only.
	// TableName is the DynamoDB table (TABLE_NAME).
	TableName string
	// QueueURL is the SQS work queue (QUEUE_URL).
	QueueURL string
	// DeadLetterQueueARN is the work queue's dead-letter queue
	// (DEAD_LETTER_QUEUE_ARN), also mapped to the worker: its records are
	// dead letters, settled as failed prospects. Default none.
	DeadLetterQueueARN string
	// OpenAIAPIKeyParam names the SSM SecureString holding the OpenAI key
	// (OPENAI_API_KEY_PARAM), read at cold start.
	OpenAIAPIKeyParam string
	// WebhookSecretParam names the SSM SecureString holding the webhook
	// secret (WEBHOOK_SECRET_PARAM).
	WebhookSecretParam string
}

// Offline reports whether no model is configured: no key and no base URL.
func (c Config) Offline() bool { return c.OpenAIAPIKey == "" && c.OpenAIBaseURL == "" }

// DataDir is the local program's state directory (DATA_DIR; default
// ./data). Clients of a local program, such as the CLI looking for its key,
// read it alone with this, without the rest of the configuration.
func DataDir(getenv func(string) string) string {
	if v := strings.TrimSpace(getenv("DATA_DIR")); v != "" {
		return v
	}
	return "./data"
}

// FromEnv reads the configuration with getenv (os.Getenv in a main).
func FromEnv(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		OpenAIAPIKey:         strings.TrimSpace(getenv("OPENAI_API_KEY")),
		OpenAIBaseURL:        strings.TrimSpace(getenv("OPENAI_BASE_URL")),
		OpenAIModel:          p.str("OPENAI_MODEL", openai.DefaultModel),
		AllowedModels:        list(getenv("ALLOWED_MODELS")),
		ModelPrices:          strings.TrimSpace(getenv("MODEL_PRICES")),
		OpenAITimeout:        p.duration("OPENAI_TIMEOUT", openai.DefaultTimeout),
		OpenAIRPM:            p.int("OPENAI_RPM", 0, 0, 1_000_000),
		OpenAITPM:            p.int("OPENAI_TPM", 0, 0, 1_000_000_000),
		Port:                 p.int("PORT", 8080, 0, 65535),
		APIKeys:              list(getenv("API_KEYS")),
		KeyBudgets:           p.keyBudgets("API_KEY_BUDGETS"),
		DataDir:              DataDir(getenv),
		TenantSecret:         strings.TrimSpace(getenv("TENANT_SECRET")),
		PromptsDir:           getenv("PROMPTS_DIR"),
		LogLevel:             p.level("LOG_LEVEL"),
		CORSAllowOrigins:     list(getenv("CORS_ALLOW_ORIGINS")),
		WorkerConcurrency:    p.int("WORKER_CONCURRENCY", campaign.DefaultConcurrency, 1, 1024),
		MaxCampaignProspects: p.int("MAX_CAMPAIGN_PROSPECTS", campaign.DefaultMaxProspects, 1, 100000),
		MaxReceiveCount:      p.int("MAX_RECEIVE_COUNT", campaign.DefaultMaxReceive, 1, 1000),
		CampaignTTL:          time.Duration(p.int("ITEM_TTL_DAYS", int(campaign.DefaultTTL/(24*time.Hour)), 1, 3650)) * 24 * time.Hour,
		RetryDelay:           p.duration("RETRY_DELAY", campaign.DefaultRetryDelay),
		BatchPollInterval:    p.duration("BATCH_POLL_INTERVAL", campaign.DefaultBatchPollInterval),
		WebhookSecret:        getenv("WEBHOOK_SECRET"),
		WebhookAllowPrivate:  p.bool("WEBHOOK_ALLOW_PRIVATE"),
		TableName:            getenv("TABLE_NAME"),
		QueueURL:             getenv("QUEUE_URL"),
		DeadLetterQueueARN:   p.sqsARN("DEAD_LETTER_QUEUE_ARN"),
		OpenAIAPIKeyParam:    getenv("OPENAI_API_KEY_PARAM"),
		WebhookSecretParam:   getenv("WEBHOOK_SECRET_PARAM"),
	}
	for _, k := range c.APIKeys {
		if len(k) < 16 {
			p.errs = append(p.errs, fmt.Errorf("API_KEYS: every key must be at least 16 characters"))
			break
		}
	}
	if c.BatchPollInterval > campaign.MaxSendDelay {
		p.errs = append(p.errs, fmt.Errorf("BATCH_POLL_INTERVAL: %s is longer than %s, the longest delay SQS takes", c.BatchPollInterval, campaign.MaxSendDelay))
	}
	if c.TenantSecret != "" && len(c.TenantSecret) < 32 {
		p.errs = append(p.errs, fmt.Errorf("TENANT_SECRET: must be at least 32 characters (openssl rand -hex 32 makes one)"))
	}
	return c, errors.Join(p.errs...)
}

// KeyBudgets maps a tenant id, or "*" for every other tenant, to its
// monthly budget in micro-dollars. It is a campaign.KeyBudgets.
type KeyBudgets map[string]int64

// Limit is tenant's monthly budget in micro-dollars, 0 for none.
func (b KeyBudgets) Limit(tenant string) int64 {
	if n, ok := b[tenant]; ok {
		return n
	}
	return b["*"]
}

// maxKeyBudgetUSD bounds one key's monthly budget: a typo of a few more
// digits should fail at start, not disable the cap.
const maxKeyBudgetUSD = 1_000_000

// keyBudgets reads tenant=usd pairs.
func (p *parser) keyBudgets(name string) KeyBudgets {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return nil
	}
	out := KeyBudgets{}
	for _, pair := range strings.Split(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		tenant, amount, ok := strings.Cut(pair, "=")
		tenant, amount = strings.TrimSpace(tenant), strings.TrimSpace(amount)
		usd, err := strconv.ParseFloat(amount, 64)
		switch {
		case !ok || tenant == "":
			p.errs = append(p.errs, fmt.Errorf("%s: %q is not tenant=usd (a key's tenant id, or * for every key)", name, pair))
			continue
		case err != nil || usd <= 0 || usd > maxKeyBudgetUSD || usd != usd:
			p.errs = append(p.errs, fmt.Errorf("%s: the budget of %s, %q, is not a number of US dollars above 0 and at most %d", name, tenant, amount, maxKeyBudgetUSD))
			continue
		}
		if _, dup := out[tenant]; dup {
			p.errs = append(p.errs, fmt.Errorf("%s: %s has two budgets", name, tenant))
			continue
		}
		out[tenant] = campaign.MicroUSD(usd)
	}
	return out
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) int(name string, def, min, max int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not a whole number from %d to %d", name, v, min, max))
		return def
	}
	return n
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not a positive duration such as 30s", name, v))
		return def
	}
	return d
}

// sqsARN reads an SQS queue's ARN: arn:<partition>:sqs:<region>:<account>:<name>.
func (p *parser) sqsARN(name string) string {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return ""
	}
	parts := strings.Split(v, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || slices.Contains(parts[1:], "") {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not an SQS queue ARN such as arn:aws:sqs:us-east-1:123456789012:ingren-dlq", name, v))
		return ""
	}
	return v
}

func (p *parser) bool(name string) bool {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not true or false", name, v))
	}
	return b
}

func (p *parser) level(name string) slog.Level {
	var l slog.Level
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return slog.LevelInfo
	}
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not debug, info, warn or error", name, v))
		return slog.LevelInfo
	}
	return l
}

// Models returns every model a request may name in options.model:
// OpenAIModel first, then the other AllowedModels, each once.
func (c Config) Models() []string {
	var out []string
	for _, m := range append([]string{c.OpenAIModel}, c.AllowedModels...) {
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func list(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
