package config_test

import (
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/config"
)

func TestDeadLetterQueueARN(t *testing.T) {
	for _, tc := range []struct {
		name, value, want, err string
	}{
		{"OKUnset", "", "", ""},
		{"OK", " arn:aws:sqs:eu-west-1:123456789012:ingren-dlq ", "arn:aws:sqs:eu-west-1:123456789012:ingren-dlq", ""},
		{"ErrURLInsteadOfARN", "https://sqs.eu-west-1.amazonaws.com/123456789012/ingren-dlq", "", "DEAD_LETTER_QUEUE_ARN"},
		{"ErrNotSQS", "arn:aws:sns:eu-west-1:123456789012:ingren-dlq", "", "not an SQS queue ARN"},
		{"ErrNoName", "arn:aws:sqs:eu-west-1:123456789012:", "", "not an SQS queue ARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.FromEnv(func(k string) string {
				if k == "DEAD_LETTER_QUEUE_ARN" {
					return tc.value
				}
				return ""
			})
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if cfg.DeadLetterQueueARN != tc.want {
				t.Fatalf("DeadLetterQueueARN %q, want %q", cfg.DeadLetterQueueARN, tc.want)
			}
		})
	}
}
