package sqlite_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/sqlite"
)

// BenchmarkSpend is what booking one generate-email call costs the local
// program: one transaction of the month's and the day's records.
func BenchmarkSpend(b *testing.B) {
	s := benchStore(b)
	ctx, now, u := context.Background(), time.Now(), benchUsage
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := s.Spend(ctx, "key_bench", campaign.Reservation{}, 1, u, strconv.Itoa(i), now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpendParallel is BenchmarkSpend from 32 goroutines at once, as
// generate-email calls under load book their cost.
func BenchmarkSpendParallel(b *testing.B) {
	s := benchStore(b)
	ctx, now, u := context.Background(), time.Now(), benchUsage
	b.ReportAllocs()
	b.SetParallelism(16) // × GOMAXPROCS 2: 32 goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Spend(ctx, "key_bench", campaign.Reservation{}, 1, u, "", now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchUsage is one generate-email call's usage, about gpt-4o-mini's.
var benchUsage = email.Usage{PromptTokens: 700, CompletionTokens: 100, TotalTokens: 800, CostMicroUSD: 165}

// benchStore is a store on a database of its own.
func benchStore(b *testing.B) *sqlite.Store {
	db, err := sqlite.Open(b.TempDir() + "/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s, err := sqlite.NewStore(db)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
