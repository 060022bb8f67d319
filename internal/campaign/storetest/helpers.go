package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// NewID returns a random id.
func NewID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewCampaign returns a queued campaign of total emails with every field that
// Create stores set, and times with sub-millisecond digits.
func NewCampaign(tenant string, total int) *campaign.Campaign {
	return &campaign.Campaign{
		ID:        NewID(),
		Tenant:    tenant,
		Name:      "campaign",
		Status:    campaign.StatusQueued,
		Mode:      campaign.ModeRealtime,
		Total:     total,
		CreatedAt: base,
		UpdatedAt: base,
		ExpiresAt: base.Add(7 * 24 * time.Hour),
	}
}

// NewItems returns c.Total pending emails numbered from 0, with requests that
// use every kind of field, extra fields included.
func NewItems(c *campaign.Campaign) []campaign.Email {
	tenure, employees, temp := 18, 250, 0.7
	items := make([]campaign.Email, c.Total)
	for i := range items {
		items[i] = campaign.Email{
			CampaignID: c.ID,
			Index:      i,
			Ref:        fmt.Sprintf("crm-%d", i),
			Status:     campaign.EmailPending,
			Request: email.Request{
				Prospect: email.Prospect{
					FirstName:    fmt.Sprintf("Ada %d", i),
					LastName:     "Lovelace",
					Email:        fmt.Sprintf("ada%d@example.com", i),
					JobTitle:     "VP Engineering",
					TenureMonths: &tenure,
					Extra: map[string]json.RawMessage{
						"favourite_tool": json.RawMessage(`"Figma"`),
						"score":          json.RawMessage(fmt.Sprint(i)),
					},
				},
				Company: email.Company{
					CompanyName:   "Analytical Engines",
					Industry:      "Computing",
					EmployeeCount: &employees,
					Extra: map[string]json.RawMessage{
						"offices": json.RawMessage(`{"hq":"Lisbon","count":[1,2]}`),
					},
				},
				CTA:     email.CTA{Ask: "15 minutes next week?", CalendarLink: "https://cal.example.com/x"},
				Sender:  email.Sender{Name: "Grace", Title: "AE", Company: "Ingren", ValueProposition: "better emails"},
				Options: email.Options{Tone: "friendly", MaxWords: 120, Language: "English", Temperature: &temp},
			},
		}
	}
	return items
}

// MustCreate creates c and its emails and returns what Create returned.
func MustCreate(tb testing.TB, s campaign.Store, c *campaign.Campaign, items []campaign.Email) *campaign.Campaign {
	tb.Helper()
	got, err := s.Create(context.Background(), c, items)
	if err != nil {
		tb.Fatalf("Create: %v", err)
	}
	if got == nil {
		tb.Fatal("Create returned no campaign")
	}
	return got
}

// mustCreateNew creates a NewCampaign of tenant-a with total pending
// emails (NewItems) and returns it as it was before Create.
func mustCreateNew(tb testing.TB, s campaign.Store, total int) *campaign.Campaign {
	tb.Helper()
	c := NewCampaign("tenant-a", total)
	MustCreate(tb, s, c, NewItems(c))
	return c
}

// AllItems pages through a campaign's emails, limit at a time, and returns
// them with each page's size. It fails the test when the cursor runs on.
func AllItems(tb testing.TB, s campaign.Store, id string, limit int) ([]campaign.Email, []int) {
	tb.Helper()
	var all []campaign.Email
	var sizes []int
	cursor := ""
	for {
		if len(sizes) > 100_000/limit {
			tb.Fatal("Items never ends")
		}
		items, next, err := s.Emails(context.Background(), id, campaign.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			tb.Fatalf("Items after %d: %v", len(all), err)
		}
		sizes = append(sizes, len(items))
		all = append(all, items...)
		if next == "" {
			return all, sizes
		}
		cursor = next
	}
}

// EqualCampaign fails the test unless got is want as a store keeps it:
// times to the millisecond, ExpiresAt to the second.
func EqualCampaign(tb testing.TB, got, want *campaign.Campaign) {
	tb.Helper()
	if g, w := normal(*got), normal(*want); !reflect.DeepEqual(g, w) {
		tb.Errorf("campaign =\n%+v\nwant\n%+v", g, w)
	}
}

// EqualEmail fails the test unless got is want.
func EqualEmail(tb testing.TB, got, want *campaign.Email) {
	tb.Helper()
	if !reflect.DeepEqual(*got, *want) {
		tb.Errorf("item %d =\n%+v\nwant\n%+v", want.Index, *got, *want)
	}
}

func normal(c campaign.Campaign) campaign.Campaign {
	ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }
	c.CreatedAt, c.UpdatedAt, c.CompletedAt = ms(c.CreatedAt), ms(c.UpdatedAt), ms(c.CompletedAt)
	c.ExpiresAt = c.ExpiresAt.Truncate(time.Second).UTC()
	return c
}

func ids(list []campaign.Campaign) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}

// mustBeClaimed checks that err is a *campaign.ClaimedError until until (to
// the millisecond).
func mustBeClaimed(t *testing.T, err error, until time.Time) {
	t.Helper()
	var held *campaign.ClaimedError
	if !errors.As(err, &held) || !errors.Is(err, campaign.ErrClaimed) {
		t.Fatalf("err = %v, want a *ClaimedError", err)
	}
	if want := until.Truncate(time.Millisecond); !held.Until.Equal(want) {
		t.Errorf("ClaimedError.Until = %v, want %v", held.Until, want)
	}
}

// mustBeDone checks that err, a Claim's of a finished email (when says
// which), is ErrAlreadyDone.
func mustBeDone(t *testing.T, err error, when string) {
	t.Helper()
	if !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Errorf("Claim of a finished item %s: %v, want ErrAlreadyDone", when, err)
	}
}

// checkLease checks the lease that claim takes for owner at now, until
// until (name is Claim of one email, or ClaimTask of one task): it holds
// other owners off until it ends, its holder may move it, and once it has
// ended anyone may take it.
func checkLease(t *testing.T, name string, claim func(owner string, now, until time.Time) error) {
	t.Helper()
	until := base.Add(time.Minute)
	if err := claim("a", base, until); err != nil {
		t.Fatalf("first %s: %v", name, err)
	}
	// Another owner, before the lease ends (and at the last moment).
	for _, now := range []time.Time{base, until.Add(-time.Millisecond)} {
		mustBeClaimed(t, claim("b", now, now.Add(time.Minute)), until)
	}
	// The holder moves its own lease.
	later := base.Add(2 * time.Minute)
	if err := claim("a", base.Add(time.Second), later); err != nil {
		t.Fatalf("holder's %s again: %v", name, err)
	}
	mustBeClaimed(t, claim("b", until, until.Add(time.Minute)), later)
	// Once it has ended, anyone may take it.
	if err := claim("b", later, later.Add(time.Minute)); err != nil {
		t.Fatalf("%s of an expired lease: %v", name, err)
	}
	mustBeClaimed(t, claim("a", later, later.Add(time.Hour)), later.Add(time.Minute))
}

// mustHaveOneWinner calls op (called name) from n goroutines at once, g
// from 0 to n-1, and checks that one call succeeds and every other fails
// with lose.
func mustHaveOneWinner(t *testing.T, name string, n int, lose error, op func(g int) error) {
	t.Helper()
	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			switch err := op(g); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, lose):
				losses.Add(1)
			default:
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != int32(n-1) {
		t.Errorf("%d of %d racing %s calls won and %d lost (%v), want 1 and %d", wins.Load(), n, name, losses.Load(), lose, n-1)
	}
}

// mustBeNotFound checks that op, called with an index past the end of c and
// with an unknown campaign, returns ErrNotFound.
func mustBeNotFound(t *testing.T, c *campaign.Campaign, op func(id string, index int) error) {
	t.Helper()
	for _, tc := range []struct {
		name  string
		id    string
		index int
	}{
		{"IndexPastEnd", c.ID, c.Total},
		{"UnknownCampaign", NewID(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := op(tc.id, tc.index); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

// Clock is a store's clock that a test sets. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to now.
func (c *Clock) Set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}
