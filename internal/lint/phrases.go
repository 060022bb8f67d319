package lint

// The phrase lists are lower case, with straight apostrophes and single
// spaces, as fold makes the text they are matched against. A phrase matches
// at word boundaries only, so "leverage" does not fire on "leverages"; list
// each form. Phrases must not overlap one another, or one slip would be
// reported twice.

// metaPhrases are the model talking about the email instead of writing it.
var metaPhrases = []string{
	"here's an email", "here is an email", "here's a draft", "here is a draft",
	"here's your email", "here is your email", "here's the email", "here is the email",
	"here's a cold email", "here is a cold email", "here's a personalized", "here is a personalized",
	"here's a revised", "here is a revised", "here's the revised", "here is the revised",
	"as an ai", "as a language model",
	"i apologize", "i'm sorry, but", "i am sorry, but",
	"feel free to customize", "feel free to adjust", "feel free to modify",
	"feel free to tweak", "feel free to edit", "feel free to personalize",
	"subject:", "subject line:", "email template", "this template",
}

// metaOpeners are meta text only at the very start of the body: "Sure!"
// opens a chat answer, while "sure" later in an email is just a word.
var metaOpeners = []string{
	"certainly!", "certainly,", "certainly.", "sure!", "sure,", "sure thing",
	"absolutely!", "of course!", "of course,", "great question",
}

// clichePhrases make an email read as mass-produced or machine-written.
var clichePhrases = []string{
	// Openers and follow-ups everyone skips.
	"hope this email finds you", "hope this message finds you", "hope this finds you",
	"hope you're doing well", "hope you are doing well", "hope all is well",
	"came across your profile", "i wanted to reach out", "i'm reaching out", "i am reaching out",
	"just checking in", "just following up", "just wanted to follow up",
	"touch base", "circle back", "pick your brain",
	// Buzzwords of model prose.
	"delve", "delves", "delving",
	"leverage", "leverages", "leveraging", "leveraged",
	"synergy", "synergies", "synergistic",
	"game-changer", "game changer", "game-changing", "game changing",
	"revolutionize", "revolutionizes", "revolutionizing", "revolutionise", "revolutionary",
	"cutting-edge", "cutting edge", "state-of-the-art", "best-in-class", "world-class",
	"unlock", "unlocks", "unlocking", "elevate", "elevates", "elevating",
	"supercharge", "supercharging", "unleash", "unleashing", "empower", "empowers", "empowering",
	"harness", "harnessing", "seamless", "seamlessly", "robust", "holistic", "transformative",
	"paradigm shift", "move the needle", "low-hanging fruit", "win-win", "no-brainer",
	"thought leader", "next level", "next-level", "tailored solution", "tailored solutions",
	"innovative solution", "innovative solutions", "look no further", "tapestry", "testament to",
	"navigate the complexities", "in the realm of", "embark", "at the end of the day",
	"fast-paced world", "in today's world", "ever-evolving", "ever-changing landscape",
}

// spamPhrases are what spam filters and wary readers key on. "Free" alone
// is not here: "feel free" and "are you free Tuesday?" are how people
// write; the offers are.
var spamPhrases = []string{
	"act now", "for free", "free trial", "free demo", "free consultation", "free gift",
	"free offer", "free access", "free of charge", "totally free", "completely free",
	"absolutely free", "guaranteed", "guarantee", "guarantees", "risk-free", "risk free",
	"100%", "click here", "click below", "limited time", "limited-time", "buy now",
	"order now", "call now", "don't miss out", "once in a lifetime", "no obligation",
	"no strings attached", "special promotion", "exclusive deal", "urgent", "winner",
	"you've been selected", "double your", "earn money", "make money", "lowest price",
}

// echoPhrases are the prompt or its plumbing showing through.
var echoPhrases = []string{
	"system prompt", "my instructions", "these instructions", "my guidelines",
	"ignore previous instructions", "ignore all previous instructions", "ignore the above",
	"begin prospect data", "end prospect data", "prospect_data",
}

// echoMarkers are fences and chat-template tokens, matched as is.
var echoMarkers = []string{"<<<", ">>>", "```", "<|"}

// phraseKind says which rule a phrase belongs to.
type phraseKind uint8

const (
	kindMeta phraseKind = iota
	kindCliche
	kindSpam
	kindEcho
)

type phraseEntry struct {
	text string
	kind phraseKind
}

// phraseIndex maps the first word of every phrase to its entries, so a
// text is matched with one map look-up per word however long the lists
// grow. Built once at start-up and only read after.
var phraseIndex = buildPhraseIndex()

// phraseFirst has bit n of entry b set when a phrase's first word starts
// with byte b and is n bytes long (n capped at 63), so that most words of a
// text are passed over without a map look-up.
var phraseFirst = func() (t [256]uint64) {
	for key := range phraseIndex {
		t[key[0]] |= 1 << min(len(key), 63)
	}
	return t
}()

func buildPhraseIndex() map[string][]phraseEntry {
	idx := make(map[string][]phraseEntry)
	for _, l := range []struct {
		kind    phraseKind
		phrases []string
	}{
		{kindMeta, metaPhrases},
		{kindCliche, clichePhrases},
		{kindSpam, spamPhrases},
		{kindEcho, echoPhrases},
	} {
		for _, p := range l.phrases {
			key := p[:foldedWordEnd(p, 0)]
			idx[key] = append(idx[key], phraseEntry{text: p, kind: l.kind})
		}
	}
	return idx
}

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

// greetings open a first line that names the reader.
var greetings = []string{"hi", "hello", "hey", "dear", "hiya", "greetings", "good morning", "good afternoon", "good evening"}

// greetingOthers are words after a greeting that name no one.
var greetingOthers = toSet("there", "team", "all", "everyone", "folks", "friend", "again", "both", "you", "y'all", "guys")

// honorifics come before a last name: "Dear Ms. Johnson".
var honorifics = toSet("mr", "mrs", "ms", "dr", "mx", "prof", "miss")

// htmlTags are tags a model sometimes leaves in a plain-text body.
var htmlTags = toSet("a", "b", "i", "u", "p", "br", "hr", "em", "strong", "div", "span", "ul", "ol", "li", "h1", "h2", "h3", "table", "tr", "td", "html", "body", "head", "small")

// numberWords scale the number before them; "percent" only makes it a
// percentage.
var numberWords = []struct {
	word  string
	scale float64
}{{"thousand", 1e3}, {"million", 1e6}, {"billion", 1e9}, {"percent", 1}}

func toSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
