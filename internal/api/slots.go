package api

import "sync"

// slots bounds the generate-email requests being worked at once and shares
// them between tenants by a dynamic threshold (Choudhury and Hahne's rule
// for switch buffers shared by many queues): a tenant may take a slot only
// while more slots are free than it already holds. So a lone tenant gets
// at most half of them; n tenants that all push hard settle at about
// limit/(n+1) each, and one share stays free for a tenant that arrives.
// Only a tenant that holds nothing can take the last free slot, so it
// takes many busy keys, not one, to fill the server (log2(limit)+1 when
// each in turn takes all it may). Unlike a fixed per-tenant cap, it lends idle
// capacity out; unlike limit/active tenants, it needs no preemption to
// make room for a newcomer. Safe for concurrent use.
type slots struct {
	mu    sync.Mutex
	limit int
	total int
	held  map[string]int // per tenant; no entry means none
}

func newSlots(limit int) *slots {
	return &slots{limit: limit, held: map[string]int{}}
}

// acquire takes a slot for tenant, or reports false when the tenant holds
// as many as are free. Each true must be matched by one release.
func (s *slots) acquire(tenant string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit-s.total <= s.held[tenant] {
		return false
	}
	s.held[tenant]++
	s.total++
	return true
}

// release gives back a slot acquire took for tenant.
func (s *slots) release(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[tenant]--; s.held[tenant] <= 0 {
		delete(s.held, tenant)
	}
	s.total--
}
