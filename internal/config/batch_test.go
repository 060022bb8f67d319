package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/config"
)

func TestBatchPollInterval(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        time.Duration
		ok          bool
	}{
		{"OKDefault", "", time.Minute, true},
		{"OKSecond", "1s", time.Second, true},
		{"OKLongest", "15m", 15 * time.Minute, true},
		{"ErrLongerThanSQSTakes", "16m", 0, false},
		{"ErrNotADuration", "often", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.FromEnv(func(k string) string {
				return map[string]string{"BATCH_POLL_INTERVAL": tc.value}[k]
			})
			if tc.ok && (err != nil || c.BatchPollInterval != tc.want) {
				t.Fatalf("BatchPollInterval %s, %v; want %s", c.BatchPollInterval, err, tc.want)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "BATCH_POLL_INTERVAL")) {
				t.Fatalf("err = %v; want BATCH_POLL_INTERVAL refused", err)
			}
		})
	}
}
