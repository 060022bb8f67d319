package campaign_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkEstimate is a dry run of 1,000 distinct prospects: what the
// API spends on ?dry_run=true, most of it in the tokenizer (about 0.13 s
// on a 2-core machine: 10,000 prospects fit an API Lambda's 29 s).
func BenchmarkEstimate(b *testing.B) {
	svc, _ := estimateService(b)
	var prospects []map[string]any
	for i := range 1000 {
		prospects = append(prospects, map[string]any{
			"prospect": map[string]any{"first_name": fmt.Sprintf("Pat%d", i), "job_title": "VP of Sales"},
			"company":  map[string]any{"company_name": fmt.Sprintf("Company %d", i), "recent_news": "Opened an office in Lyon and hired 12 account executives"},
		})
	}
	body, _ := json.Marshal(map[string]any{"defaults": map[string]any{"sender": map[string]any{"name": "Alex"}}, "prospects": prospects})
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Estimate(context.Background(), "t", body); err != nil {
			b.Fatal(err)
		}
	}
}
