package api

import (
	"fmt"
	"testing"
)

// TestSlotsShare pins the sharing rule: a tenant takes a slot only while it
// holds none, or fewer than shareFactor (7) times the slots that would be
// left free.
func TestSlotsShare(t *testing.T) {
	fill := func(s *slots, tenant string) int {
		n := 0
		for s.acquire(tenant) {
			n++
		}
		return n
	}
	t.Run("LoneTenantGetsSevenEighths", func(t *testing.T) {
		if got := fill(newSlots(256), "a"); got != 224 {
			t.Fatalf("%d slots, want 224", got)
		}
	})
	t.Run("EachNewcomerFindsRoom", func(t *testing.T) {
		// Tenants that each take all they may, one after another: each
		// leaves an eighth of what was free. It takes 4 of them to fill
		// 256 slots, and only the last free slot goes to a tenant that
		// held none.
		s := newSlots(256)
		want := []int{224, 28, 3, 1, 0}
		for i, w := range want {
			if got := fill(s, fmt.Sprint("t", i)); got != w {
				t.Fatalf("tenant %d got %d slots, want %d", i, got, w)
			}
		}
	})
	t.Run("SharesEvenOutAsSlotsFree", func(t *testing.T) {
		// a holds 14 of 16; b arrives and takes one of the 2 left. As
		// a's requests end and both keep asking, they settle at about
		// half of the slots each.
		s := newSlots(16)
		if a, b := fill(s, "a"), fill(s, "b"); a != 14 || b != 1 {
			t.Fatalf("a took %d, b %d; want 14 and 1", a, b)
		}
		for range 6 {
			s.release("a")
			fill(s, "b")
			fill(s, "a")
		}
		if a, b := s.held["a"], s.held["b"]; a < 7 || a > 9 || b < 7 || b > 9 {
			t.Fatalf("held %v, total %d of 16; want 7 to 9 each", s.held, s.total)
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
