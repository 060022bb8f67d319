package campaign

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// MaxUsageDays bounds one usage report: a year, leap day included.
const MaxUsageDays = 366

// UsageLine is what a tenant's model calls used in one part of a usage
// report: a day, a campaign, the generate-email calls, or all of it.
type UsageLine struct {
	// Day is set on a day's line, CampaignID and Name on a campaign's
	// (Name is "" once the campaign expired).
	Day        string
	CampaignID string
	Name       string
	// Emails counts the emails written (see UsageRecord.Emails).
	Emails int
	Usage  email.Usage
}

// UsageReport is a tenant's use of the model over some days.
type UsageReport struct {
	Tenant   string
	From, To string
	Total    UsageLine
	// Days has a line for each day with any use, in order; Campaigns one
	// for each campaign with any use in the days, by id (which sorts by
	// creation time); Single is the generate-email calls'.
	Days      []UsageLine
	Campaigns []UsageLine
	Single    UsageLine
	// Budget is the key's monthly budget for the current month; nil
	// when it has none.
	Budget *BudgetState
}

// BudgetState is an API key's monthly budget and what is gone of it.
type BudgetState struct {
	Month            string
	LimitMicroUSD    int64
	SpentMicroUSD    int64
	ReservedMicroUSD int64
}

// Usage reports what tenant's model calls used from day from through day
// to (YYYY-MM-DD, UTC, inclusive); "" is the first day of the current
// month for from and today for to. Bad days are errors naming from or to.
func (s *Service) Usage(ctx context.Context, tenant, from, to string) (*UsageReport, error) {
	now := s.now()
	if from == "" {
		from = MonthOf(now) + "-01"
	}
	if to == "" {
		to = DayOf(now)
	}
	v := &fault.Fields{}
	f, ferr := time.Parse(time.DateOnly, from)
	if ferr != nil {
		v.Add("from", "must be a day as YYYY-MM-DD")
	}
	t, terr := time.Parse(time.DateOnly, to)
	if terr != nil {
		v.Add("to", "must be a day as YYYY-MM-DD")
	}
	if ferr == nil && terr == nil {
		switch days := int(t.Sub(f).Hours()/24) + 1; {
		case days < 1:
			v.Add("to", "must not be before from")
		case days > MaxUsageDays:
			v.Add("to", "must be at most %d days after from (ask for a year at a time)", MaxUsageDays-1)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	from, to = DayOf(f), DayOf(t) // canonical, should Parse take more
	records, err := s.Store.Usage(ctx, tenant, from, to)
	if err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	rep := &UsageReport{Tenant: tenant, From: from, To: to}
	days := map[string]*UsageLine{}
	campaigns := map[string]*UsageLine{}
	for _, r := range records {
		add(&rep.Total, r)
		d := days[r.Day]
		if d == nil {
			d = &UsageLine{Day: r.Day}
			days[r.Day] = d
		}
		add(d, r)
		if r.CampaignID == "" {
			add(&rep.Single, r)
			continue
		}
		c := campaigns[r.CampaignID]
		if c == nil {
			c = &UsageLine{CampaignID: r.CampaignID}
			campaigns[r.CampaignID] = c
		}
		add(c, r)
	}
	for _, d := range days {
		rep.Days = append(rep.Days, *d)
	}
	sort.Slice(rep.Days, func(i, j int) bool { return rep.Days[i].Day < rep.Days[j].Day })
	for _, c := range campaigns {
		switch got, err := s.Store.Get(ctx, tenant, c.CampaignID); {
		case err == nil:
			c.Name = got.Name
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
		rep.Campaigns = append(rep.Campaigns, *c)
	}
	sort.Slice(rep.Campaigns, func(i, j int) bool { return rep.Campaigns[i].CampaignID < rep.Campaigns[j].CampaignID })
	if limit := keyLimit(s.KeyBudgets, tenant); limit > 0 {
		m, err := s.Store.Month(ctx, tenant, MonthOf(now))
		if err != nil {
			return nil, fmt.Errorf("read the key's spend: %w", err)
		}
		rep.Budget = &BudgetState{Month: m.Month, LimitMicroUSD: limit, SpentMicroUSD: m.SpentMicroUSD, ReservedMicroUSD: m.ReservedMicroUSD}
	}
	return rep, nil
}

// add adds r to line.
func add(line *UsageLine, r UsageRecord) {
	line.Emails += r.Emails
	line.Usage = line.Usage.Add(r.Usage)
}
