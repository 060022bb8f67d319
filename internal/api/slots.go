package api

import "sync"

// slots bounds the generate-email requests being worked at once and shares
// them between tenants by a dynamic threshold (Choudhury and Hahne's rule
// for switch buffers shared by many queues): a tenant may take a slot only
// while it holds fewer than shareFactor times the slots that would still be
// free after it took one, or holds none. So a
// lone tenant gets 7/8 of them (224 of 256: most deployments have one key,
// and it keeps most of the server); n tenants that all push hard settle at
// about 7·limit/(7n+1) each, and what stays free is room for a tenant that
// arrives. Only a tenant that holds nothing can take the last free slot, so
// one busy key cannot fill the server. Unlike a fixed per-tenant cap, it
// lends idle capacity out; unlike limit/active tenants, it needs no
// preemption to make room for a newcomer. Safe for concurrent use.
type slots struct {
	mu    sync.Mutex
	limit int
	total int
	held  map[string]int // per tenant; no entry means none
}

func newSlots(limit int) *slots {
	return &slots{limit: limit, held: map[string]int{}}
}

// shareFactor is the rule's alpha: how many times the free slots a tenant
// may hold before it must wait. 7 keeps an eighth of the server free while
// one key is alone.
const shareFactor = 7

// acquire takes a slot for tenant, or reports false when the server is full
// or the tenant holds some and shareFactor times the slots that would be
// left. Each true must be matched by one release.
func (s *slots) acquire(tenant string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	free, held := s.limit-s.total, s.held[tenant]
	if free <= 0 || held > 0 && held >= shareFactor*(free-1) {
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
