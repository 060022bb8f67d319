package csvin

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// field is a request field a column can fill: text or a whole number.
type field struct {
	name    string
	company bool
	text    func(*campaign.Input) *string
	number  func(*campaign.Input) **int
	// aliases are the column names, normalized, that the common exports
	// give it.
	aliases []string
}

// dropField is the field "-" of a column_map: the column is left out.
var dropField = &field{name: "-"}

func prospectText(name string, f func(*email.Prospect) *string, aliases ...string) *field {
	return &field{name: name, text: func(in *campaign.Input) *string { return f(&in.Prospect) }, aliases: aliases}
}

func companyText(name string, f func(*email.Company) *string, aliases ...string) *field {
	return &field{name: name, company: true, text: func(in *campaign.Input) *string { return f(&in.Company) }, aliases: aliases}
}

// fields are every field a column can fill, with the aliases of Apollo,
// HubSpot, Salesforce, Sales Navigator and Clay exports.
var fields = []*field{
	{name: "ref", text: func(in *campaign.Input) *string { return &in.Ref },
		aliases: []string{"id", "recordid", "contactid", "leadid", "personid", "externalid"}},
	prospectText("first_name", func(p *email.Prospect) *string { return &p.FirstName }, "first", "givenname"),
	prospectText("last_name", func(p *email.Prospect) *string { return &p.LastName }, "last", "surname", "familyname"),
	prospectText("email", func(p *email.Prospect) *string { return &p.Email }, "emailaddress", "workemail", "businessemail"),
	prospectText("job_title", func(p *email.Prospect) *string { return &p.JobTitle }, "title", "position", "role", "currenttitle"),
	prospectText("department", func(p *email.Prospect) *string { return &p.Department }, "departments"),
	prospectText("seniority", func(p *email.Prospect) *string { return &p.Seniority }),
	{name: "tenure_months", number: func(in *campaign.Input) **int { return &in.Prospect.TenureMonths },
		aliases: []string{"monthsinrole", "tenureinmonths"}},
	prospectText("location", func(p *email.Prospect) *string { return &p.Location }, "personlocation", "geography"),
	prospectText("linkedin_url", func(p *email.Prospect) *string { return &p.LinkedInURL },
		"personlinkedinurl", "linkedin", "linkedinprofile", "linkedinprofileurl", "profileurl"),
	prospectText("notable_achievement", func(p *email.Prospect) *string { return &p.NotableAchievement }),
	companyText("company_name", func(c *email.Company) *string { return &c.CompanyName },
		"company", "accountname", "account", "organization", "organizationname"),
	companyText("industry", func(c *email.Company) *string { return &c.Industry }, "companyindustry"),
	{name: "employee_count", company: true, number: func(in *campaign.Input) **int { return &in.Company.EmployeeCount },
		aliases: []string{"employees", "numberofemployees", "companysize", "headcount", "companyheadcount"}},
	companyText("annual_revenue", func(c *email.Company) *string { return &c.AnnualRevenue }, "revenue", "companyrevenue"),
	companyText("funding_stage", func(c *email.Company) *string { return &c.FundingStage }, "latestfunding", "latestfundingstage", "lastfundinground"),
	companyText("growth_signals", func(c *email.Company) *string { return &c.GrowthSignals }),
	companyText("recent_news", func(c *email.Company) *string { return &c.RecentNews }, "news"),
	companyText("technography", func(c *email.Company) *string { return &c.Technography }, "technologies", "techstack"),
	companyText("description", func(c *email.Company) *string { return &c.Description }, "companydescription"),
	companyText("website", func(c *email.Company) *string { return &c.Website }, "companywebsite", "websiteurl", "domain", "companydomain"),
	companyText("company_location", func(c *email.Company) *string { return &c.Location }, "companylocation", "headquarters"),
}

// byName finds a field by a normalized name or alias.
var byName = func() map[string]*field {
	m := map[string]*field{}
	for _, f := range fields {
		m[normalize(f.name)] = f
		for _, a := range f.aliases {
			m[a] = f
		}
	}
	return m
}()

// normalize is a column's name without case, spaces or punctuation:
// "# Employees" and "employees" are one.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// column is one of the file's columns: the field it fills, or nil when it
// is kept as context under its header.
type column struct {
	header  string
	field   *field
	company bool
}

// mapColumns maps the header's columns to fields: columnMap first, then
// the aliases. A second column for one field is kept as context.
func mapColumns(header []string, columnMap map[string]string) ([]column, []string, error) {
	v := &fault.Fields{}
	override := map[string]*field{}
	for _, k := range email.SortedKeys(columnMap) {
		name := fmt.Sprintf("column_map[%q]", k)
		target := strings.TrimSpace(columnMap[k])
		f := byName[normalize(target)]
		switch {
		case target == "-":
			f = dropField
		case f == nil || normalize(target) != normalize(f.name):
			v.Add(name, "%q is not a field; the fields are %s, or - to leave the column out", target, fieldNames())
			continue
		}
		found := false
		for _, h := range header {
			if normalize(h) == normalize(k) {
				found = true
			}
		}
		if !found {
			v.Add(name, "the file has no column %q", k)
			continue
		}
		override[normalize(k)] = f
	}
	var (
		cols     = make([]column, len(header))
		taken    = map[*field]string{}
		warnings []string
	)
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			h = fmt.Sprintf("column %d", i+1)
		}
		cols[i].header = h
		f, ok := override[normalize(h)]
		if !ok {
			f = byName[normalize(h)]
		}
		if f != nil && f != dropField {
			if first, dup := taken[f]; dup {
				warnings = append(warnings, fmt.Sprintf("columns %q and %q both map to %s: %q is kept as context (choose with column_map)", first, h, f.name, h))
				cols[i].header = fmt.Sprintf("%s (column %d)", h, i+1)
				f = nil
			} else {
				taken[f] = h
			}
		}
		cols[i].field = f
		if f == nil {
			n := normalize(h)
			cols[i].company = strings.HasPrefix(n, "company") || strings.HasPrefix(n, "account") || strings.HasPrefix(n, "organization")
			if len(cols[i].header) > email.MaxExtraKey {
				v.Add("columns", "column %d's header is longer than %d characters; shorten it, or leave the column out with column_map (\"…\": \"-\")", i+1, email.MaxExtraKey)
			}
		}
	}
	for _, name := range []string{"first_name", "company_name"} {
		if _, ok := taken[byName[normalize(name)]]; !ok {
			v.Add("columns", "no column holds %s: name one with column_map (the columns are %q)", name, header)
		}
	}
	balanceContext(v, cols)
	return cols, warnings, v.Err()
}

// balanceContext spreads the context columns over the prospect's and the
// company's additional fields, email.MaxExtra each.
func balanceContext(v *fault.Fields, cols []column) {
	var prospect, company []int
	for i, c := range cols {
		switch {
		case c.field != nil:
		case c.company:
			company = append(company, i)
		default:
			prospect = append(prospect, i)
		}
	}
	if len(prospect)+len(company) > 2*email.MaxExtra {
		v.Add("columns", "%d columns map to no field; at most %d are kept as context: leave some out with column_map (\"Column\": \"-\")",
			len(prospect)+len(company), 2*email.MaxExtra)
		return
	}
	for len(prospect) > email.MaxExtra {
		cols[prospect[len(prospect)-1]].company = true
		prospect = prospect[:len(prospect)-1]
	}
	for len(company) > email.MaxExtra {
		cols[company[len(company)-1]].company = false
		company = company[:len(company)-1]
	}
}

// fieldNames lists the fields a column_map may name.
func fieldNames() string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
