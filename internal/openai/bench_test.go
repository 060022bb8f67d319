package openai

import (
	"context"
	"testing"

	"github.com/ingren/ingren/internal/openaitest"
)

// BenchmarkWrite measures one Write against a zero-latency server on
// loopback: the cost of the adapter, go-openai, net/http and the fake
// server together (allocs/op includes the server's).
func BenchmarkWrite(b *testing.B) {
	srv := openaitest.New(b, openaitest.WithConfig(openaitest.Config{DiscardRequests: true}))
	w := mustWriter(b, srv)
	job := newPrompt(b)
	ctx := context.Background()
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := w.Write(ctx, job); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := w.Write(ctx, job); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
