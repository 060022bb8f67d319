package lint

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// knownTerms are capitalized words that are never an invented name:
// pronouns, titles, business acronyms, time words, sign-offs and tools
// every email may name. An ALL-CAPS word in this list is not shouting.
var knownTerms = toSet(
	"I", "I'm", "I've", "I'd", "I'll", "I’m", "I’ve", "I’d", "I’ll", "OK", "Okay",
	"AI", "ML", "LLM", "CRM", "ERP", "SaaS", "B2B", "B2C", "D2C", "API", "APIs", "SDK", "SQL",
	"AWS", "GCP", "IT", "HR", "PR", "QA", "UX", "UI", "SEO", "SMB", "SMBs", "SME",
	"CEO", "CTO", "CFO", "COO", "CMO", "CRO", "CIO", "CISO", "CPO", "CSO",
	"VP", "SVP", "EVP", "AVP", "GM", "SDR", "BDR", "AE", "AM", "CSM", "RevOps", "SalesOps",
	"GTM", "ROI", "KPI", "OKR", "ARR", "MRR", "ACV", "CAC", "LTV", "NRR", "NPS", "ICP", "MQL", "PLG",
	"ABM", "CX", "CS", "CSAT", "SLA", "MVP", "POC", "PoC", "RFP", "SOW", "PPC", "CPC", "CPA", "CPL", "ROAS",
	"TAM", "VC", "PE", "PaaS", "IaaS", "CPG", "DTC", "FMCG", "IoT", "EV", "HVAC", "HRIS", "ATS", "CDP",
	"CMS", "SSO", "MFA", "DevOps", "SecOps", "MarTech", "Martech", "FinTech", "Fintech", "EdTech",
	"HealthTech", "InsurTech", "PropTech",
	"USA", "US", "UK", "EU", "NA", "EMEA", "APAC", "LATAM", "DACH", "ANZ",
	"GDPR", "HIPAA", "CCPA", "SOC", "ISO", "PCI", "NASDAQ", "NYSE", "IPO",
	"HTTP", "HTTPS", "JSON", "HTML", "SMTP", "CSV", "PDF", "FAQ", "FYI", "PS", "P.S", "PPS",
	"Q1", "Q2", "Q3", "Q4", "H1", "H2", "FY", "YoY", "QoQ", "MoM", "EOD", "EOW",
	"ET", "PT", "CT", "MT", "EST", "PST", "CST", "MST", "EDT", "PDT", "CDT", "GMT", "UTC", "CET", "CEST", "BST",
	"Mr", "Mrs", "Ms", "Dr", "Mx", "Prof", "Inc", "LLC", "Ltd", "Co", "Corp", "GmbH",
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
	"Mon", "Tue", "Tues", "Wed", "Thu", "Thur", "Thurs", "Fri", "Sat", "Sun",
	"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December",
	"Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
	"Hi", "Hello", "Hey", "Dear", "Thanks", "Thank", "Best", "Cheers", "Regards", "Sincerely", "Warmly",
	"LinkedIn", "Zoom", "Google", "Gmail", "Outlook", "Slack", "Excel", "Calendly",
	"English", "Internet",
)

func isCapitalized(w string) bool {
	if w == "" {
		return false
	}
	if c := w[0]; c < utf8.RuneSelf {
		return 'A' <= c && c <= 'Z'
	}
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r)
}

// stripPossessive turns "TechNova's" into "TechNova".
func stripPossessive(w string) string {
	for _, s := range []string{"'s", "’s", "'", "’"} {
		if len(w) > len(s) && strings.HasSuffix(w, s) {
			return w[:len(w)-len(s)]
		}
	}
	return w
}

// knownName reports whether a capitalized word is accounted for: a known
// term, the prospect's name, a word of the facts, or a compound
// ("Salesforce-native", "Outreach.io") whose capitalized parts all are.
func (c *checker) knownName(w string) bool {
	w = stripPossessive(w)
	if c.knownWord(w) {
		return true
	}
	if !strings.ContainsAny(w, "-.&'’") {
		return false
	}
	known := true
	for part := range strings.FieldsFuncSeq(w, func(r rune) bool { return isJoiner(r) }) {
		if isCapitalized(part) && !c.knownWord(part) {
			known = false
		}
	}
	return known
}

func (c *checker) knownWord(w string) bool {
	if utf8.RuneCountInString(w) == 1 || knownTerms[w] {
		return true
	}
	if len(w) > 2 && w[len(w)-1] == 's' && knownTerms[w[:len(w)-1]] {
		return true // SDRs, AEs
	}
	return strings.EqualFold(w, c.in.FirstName) || containsWordFold(c.factsFold, w)
}

// checkNames warns about capitalized words mid-sentence that the facts do
// not account for: a customer, investor or award the model made up. The
// first word of a sentence or line says nothing and is skipped, but it is
// quoted with the words that follow it ("Gartner Magic Quadrant"). A text
// that capitalizes more than a quarter of its mid-sentence words is not
// English prose (German capitalizes every noun) and is skipped whole.
func (c *checker) checkNames(p *part) {
	s, toks := p.text, p.toks
	mid, capsMid := 0, 0
	for _, t := range toks {
		if !t.initial {
			mid++
			if isCapitalized(s[t.start:t.end]) {
				capsMid++
			}
		}
	}
	if mid >= 20 && capsMid*4 > mid {
		return
	}
	for i := 0; i < len(toks); i++ {
		if !isCapitalized(s[toks[i].start:toks[i].end]) || p.isMasked(toks[i].start) {
			continue
		}
		j := i
		for j+1 < len(toks) && s[toks[j].end:toks[j+1].start] == " " && isCapitalized(s[toks[j+1].start:toks[j+1].end]) &&
			!toks[j+1].initial && !p.isMasked(toks[j+1].start) {
			j++
		}
		invented := false
		for k := i; k <= j && !invented; k++ {
			if k == i && toks[k].initial {
				continue
			}
			invented = !c.knownName(s[toks[k].start:toks[k].end])
		}
		if invented {
			c.add(CodeInventedName, SeverityWarning, "possible invented name %s in %s: it is in none of the input facts", quote(s[toks[i].start:toks[j].end]), p.name)
		}
		i = j
	}
}
