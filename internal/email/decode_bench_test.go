package email_test

import (
	"os"
	"testing"

	"github.com/ingren/ingren/internal/email"
)

// BenchmarkDecode measures Decode of testdata/requests/sarah.json and of a
// body with extra context and near misses.
func BenchmarkDecode(b *testing.B) {
	sarah, err := os.ReadFile("../../testdata/requests/sarah.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"Sarah", sarah},
		{"NearMisses", []byte(`{"prospect": {"first_name": "A", "jobTitle": "VP", "hobby": "sailing"}, "company": {"company_name": "B", "industy": "SaaS"}, "optoins": {}}`)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := email.Decode(tc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeAllocations keeps the common body on the one-pass reader: the
// general path makes over a hundred allocations for it.
func TestDecodeAllocations(t *testing.T) {
	sarah, err := os.ReadFile("../../testdata/requests/sarah.json")
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { _, _, _ = email.Decode(sarah) }); n > 12 {
		t.Fatalf("Decode(sarah.json) makes %v allocations, want at most 12", n)
	}
}
