package config_test

import (
	"slices"
	"testing"

	"github.com/ingren/ingren/internal/config"
)

func TestModels(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"OKDefaultIsTheConfiguredModelOnly", map[string]string{}, []string{"gpt-4o-mini"}},
		{"OKConfiguredModelFirstAndOnce", map[string]string{"ALLOWED_MODELS": " gpt-4o, o3 ,,gpt-4o-mini"}, []string{"gpt-4o-mini", "gpt-4o", "o3"}},
		{"OKOtherDefault", map[string]string{"OPENAI_MODEL": "llama3.1"}, []string{"llama3.1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.FromEnv(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Models(); !slices.Equal(got, tc.want) {
				t.Fatalf("Models() = %q, want %q", got, tc.want)
			}
		})
	}
}
