package api

import (
	"fmt"
	"testing"
)

// TestSlotsShare pins the sharing rule: a tenant takes a slot only while
// more are free than it holds.
func TestSlotsShare(t *testing.T) {
	fill := func(s *slots, tenant string) int {
		n := 0
		for s.acquire(tenant) {
			n++
		}
		return n
	}
	t.Run("LoneTenantGetsHalf", func(t *testing.T) {
		if got := fill(newSlots(256), "a"); got != 128 {
			t.Fatalf("%d slots, want 128", got)
		}
	})
	t.Run("EachNewcomerFindsRoom", func(t *testing.T) {
		// Tenants that each take all they may, one after another: 128, 64,
		// ..., 1, 1. It takes 9 of them to fill 256 slots.
		s := newSlots(256)
		want := []int{128, 64, 32, 16, 8, 4, 2, 1, 1, 0}
		for i, w := range want {
			if got := fill(s, fmt.Sprint("t", i)); got != w {
				t.Fatalf("tenant %d got %d slots, want %d", i, got, w)
			}
		}
	})
	t.Run("SharesEvenOutAsSlotsFree", func(t *testing.T) {
		// a holds 6 of 12; b arrives and takes 3. As a's requests end and
		// both keep asking, they settle at about a third of the slots
		// each, and about a third stays free.
		s := newSlots(12)
		fill(s, "a")
		fill(s, "b")
		for range 6 {
			s.release("a")
			fill(s, "b")
			fill(s, "a")
		}
		if a, b := s.held["a"], s.held["b"]; a < 4 || a > 5 || b < 4 || b > 5 || s.total > 9 {
			t.Fatalf("held %v, total %d of 12; want 4 or 5 each, 3 or more free", s.held, s.total)
		}
	})
	t.Run("ReleaseForgetsIdleTenants", func(t *testing.T) {
		s := newSlots(4)
		s.acquire("a")
		s.release("a")
		if len(s.held) != 0 || s.total != 0 {
			t.Fatalf("held %v, total %d after every release", s.held, s.total)
		}
	})
}
