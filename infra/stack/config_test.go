package stack

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// mapSource is a Source over a map; keys in secrets count as set with --secret.
type mapSource struct {
	values  map[string]string
	secrets []string
}

func (s mapSource) Get(key string) (string, bool) { v, ok := s.values[key]; return v, ok }
func (s mapSource) IsSecret(key string) bool      { return slices.Contains(s.secrets, key) }

func withKey(values map[string]string) mapSource {
	v := map[string]string{"openaiApiKey": testOpenAIKey}
	for k, val := range values {
		v[k] = val
	}
	return mapSource{values: v, secrets: []string{"openaiApiKey", "webhookSecret"}}
}

func TestLoad(t *testing.T) {
	t.Run("OKDefaultsWhenOnlyTheKeyIsSet", func(t *testing.T) {
		got, err := Load(withKey(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := Defaults()
		want.OpenAIAPIKey = testOpenAIKey
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Load = %+v\nwant %+v", got, want)
		}
	})

	t.Run("OKEveryKeyOverridesItsField", func(t *testing.T) {
		got, err := Load(withKey(map[string]string{
			"webhookSecret":            "whsec",
			"openaiModel":              "gpt-4o",
			"openaiBaseUrl":            "https://llm.example.com/v1",
			"apiZip":                   "a.zip",
			"workerZip":                "w.zip",
			"apiMemoryMb":              "512",
			"apiTimeoutSeconds":        "20",
			"workerMemoryMb":           "1024",
			"workerTimeoutSeconds":     "300",
			"maxReceiveCount":          "3",
			"batchSize":                "50",
			"maxBatchingWindowSeconds": "5",
			"maxConcurrency":           "20",
			"workerConcurrency":        "8",
			"itemTtlDays":              "7",
			"logLevel":                 "debug",
			"corsAllowOrigins":         "https://app.example.com",
			"maxCampaignProspects":     "500",
			"logRetentionDays":         "30",
			"throttleRateLimit":        "12.5",
			"throttleBurstLimit":       "25",
			"quotaLimit":               "1000",
			"quotaPeriod":              "DAY",
			"deletionProtection":       "true",
			"alarmEmail":               "ops@example.com",
			"manageApiGatewayAccount":  "false",
			"retryDelay":               "30s",
			"openaiTimeout":            "1m30s",
			"allowedModels":            `["gpt-4o", "gpt-4.1-mini"]`,
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			OpenAIAPIKey: testOpenAIKey, WebhookSecret: "whsec",
			OpenAIModel: "gpt-4o", OpenAIBaseURL: "https://llm.example.com/v1",
			APIZip: "a.zip", WorkerZip: "w.zip",
			APIMemoryMB: 512, APITimeoutSeconds: 20, WorkerMemoryMB: 1024, WorkerTimeoutSeconds: 300,
			MaxReceiveCount: 3, BatchSize: 50, MaxBatchingWindowSeconds: 5, MaxConcurrency: 20,
			WorkerConcurrency: 8, ItemTTLDays: 7, LogLevel: "debug",
			CORSAllowOrigins: "https://app.example.com", MaxCampaignProspects: 500, LogRetentionDays: 30,
			ThrottleRateLimit: 12.5, ThrottleBurstLimit: 25, QuotaLimit: 1000, QuotaPeriod: "DAY",
			DeletionProtection: true, AlarmEmail: "ops@example.com", ManageAPIGatewayAccount: false,
			RetryDelay: 30 * time.Second, OpenAITimeout: 90 * time.Second, AllowedModels: []string{"gpt-4o", "gpt-4.1-mini"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Load = %+v\nwant %+v", got, want)
		}
	})

	// pulumi config set allowedModels a,b stores a string, and
	// pulumi config set --path 'allowedModels[0]' a stores a list.
	t.Run("OKAllowedModelsCommaSeparated", func(t *testing.T) {
		got, err := Load(withKey(map[string]string{"allowedModels": " gpt-4o, gpt-4.1-mini ,"}))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"gpt-4o", "gpt-4.1-mini"}; !slices.Equal(got.AllowedModels, want) {
			t.Errorf("AllowedModels = %q, want %q", got.AllowedModels, want)
		}
	})

	// Each case lists the start of every problem Load must report, no more.
	tests := []struct {
		name string
		src  mapSource
		want []string
	}{
		{
			name: "ErrOpenAIKeyRequired",
			src:  mapSource{values: map[string]string{}},
			want: []string{"openaiApiKey is required"},
		},
		{
			name: "ErrOpenAIKeyInPlaintext",
			src:  mapSource{values: map[string]string{"openaiApiKey": testOpenAIKey}},
			want: []string{"openaiApiKey is stored in plaintext"},
		},
		{
			name: "ErrBatchingWindowZeroWithBatchOverTen",
			src:  withKey(map[string]string{"batchSize": "11", "maxBatchingWindowSeconds": "0"}),
			want: []string{"maxBatchingWindowSeconds must be at least 1 when batchSize is over 10"},
		},
		{
			name: "ErrMaxConcurrencyBelowAWSMinimum",
			src:  withKey(map[string]string{"maxConcurrency": "1"}),
			want: []string{"maxConcurrency must be between 2 and 1000"},
		},
		{
			name: "ErrDurationsOutOfRange",
			src:  withKey(map[string]string{"retryDelay": "10m", "openaiTimeout": "120s", "workerTimeoutSeconds": "120", "batchPollInterval": "16m", "apiKeyBudgets": "*=100,abc"}),
			want: []string{"retryDelay must be between 1s and 5m", "openaiTimeout must be at least 1s and below workerTimeoutSeconds",
				"batchPollInterval must be between 1s and 15m", `apiKeyBudgets: "abc" is not id=usd`},
		},
		{
			name: "ErrAllowedModelNotAName",
			src:  withKey(map[string]string{"allowedModels": `["gpt-4o", "gpt 4", ""]`}),
			want: []string{`allowedModels: "gpt 4" is not a model name`, `allowedModels: "" is not a model name`},
		},
		{
			name: "ErrAllowedModelsNotAList",
			src:  withKey(map[string]string{"allowedModels": `["gpt-4o"`}),
			want: []string{"allowedModels must be a list"},
		},
		{
			name: "ErrEveryProblemListedAtOnce",
			src: mapSource{values: map[string]string{
				"webhookSecret":        "plain",
				"openaiBaseUrl":        "not a url",
				"apiZip":               "",
				"apiMemoryMb":          "64",
				"apiTimeoutSeconds":    "60",
				"workerMemoryMb":       "lots",
				"workerTimeoutSeconds": "901",
				"maxReceiveCount":      "0",
				"batchSize":            "20000",
				"workerConcurrency":    "-1",
				"itemTtlDays":          "-1",
				"logLevel":             "verbose",
				"corsAllowOrigins":     "",
				"maxCampaignProspects": "100001",
				"logRetentionDays":     "10",
				"throttleRateLimit":    "fast",
				"throttleBurstLimit":   "0",
				"quotaLimit":           "0",
				"quotaPeriod":          "YEAR",
				"deletionProtection":   "maybe",
				"alarmEmail":           "ops",
				"retryDelay":           "soon",
				"openaiTimeout":        "-5s",
			}},
			want: []string{
				"webhookSecret is stored in plaintext",
				"workerMemoryMb must be a whole number",
				"throttleRateLimit must be a number",
				"deletionProtection must be true or false",
				"openaiApiKey is required",
				"openaiBaseUrl must be an http(s) URL",
				"apiZip must not be empty",
				"apiMemoryMb must be between 128 and 10240",
				"apiTimeoutSeconds must be between 1 and 29",
				"workerTimeoutSeconds must be between 1 and 900",
				"maxReceiveCount must be between 1 and 1000",
				"batchSize must be between 1 and 10000",
				"workerConcurrency must be between 1 and 1024",
				"itemTtlDays must be between 1 and 3650",
				"logLevel must be debug, info, warn or error",
				"corsAllowOrigins must not be empty",
				"maxCampaignProspects must be between 1 and 100000",
				"logRetentionDays must be one of",
				"throttleBurstLimit must be at least 1",
				"quotaLimit must be at least 1",
				"quotaPeriod must be DAY, WEEK or MONTH",
				"alarmEmail must be an email address",
				"retryDelay must be a duration such as 10s",
				"openaiTimeout must be at least 1s and below workerTimeoutSeconds",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.src)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Load error = %v, want a *ValidationError", err)
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(verr.Problems, func(p string) bool { return strings.HasPrefix(p, w) }) {
					t.Errorf("no problem starts with %q", w)
				}
			}
			if len(verr.Problems) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(verr.Problems), len(tt.want), strings.Join(verr.Problems, "\n"))
			}
			for _, p := range verr.Problems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("Error() leaves out %q", p)
				}
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg := Defaults()
	cfg.OpenAIAPIKey = testOpenAIKey
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, cfg); strings.Contains(s, testOpenAIKey) {
			t.Errorf("Sprintf(%q, cfg) shows the key: %s", format, s)
		}
	}
}
