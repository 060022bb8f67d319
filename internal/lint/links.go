package lint

import "strings"

// topLevelDomains are the endings that make a bare word.word a link: mail
// clients turn "calendly.com/x" into a link, but not "Node.js" or "e.g".
var topLevelDomains = map[string]bool{
	"com": true, "io": true, "ai": true, "co": true, "net": true, "org": true, "app": true,
	"dev": true, "me": true, "ly": true, "so": true, "us": true, "uk": true, "de": true,
	"fr": true, "ca": true, "au": true, "in": true, "xyz": true, "tech": true, "biz": true,
	"info": true, "gg": true, "to": true, "sh": true, "cc": true, "tv": true, "eu": true,
	"ch": true, "nl": true, "se": true, "es": true, "it": true, "jp": true, "cloud": true,
	"site": true, "page": true, "link": true, "team": true, "work": true, "studio": true,
	"agency": true, "edu": true, "gov": true, "ie": true, "at": true, "be": true, "dk": true,
	"no": true, "fi": true, "pl": true, "br": true, "mx": true, "sg": true, "nz": true,
}

// isLink reports whether s (a field without surrounding punctuation) is a
// URL or a bare domain.
func isLink(s string) bool {
	if len(s) < 4 {
		return false
	}
	if hasPrefixFold(s, "http://") || hasPrefixFold(s, "https://") || hasPrefixFold(s, "www.") {
		return true
	}
	host := s
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	dot := strings.LastIndexByte(host, '.')
	if dot <= 0 || dot == len(host)-1 {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !isASCIILetter(c) && !isDigit(c) && c != '-' && c != '.' {
			return false
		}
		if c == '.' && (i == 0 || host[i-1] == '.') {
			return false
		}
	}
	var tld [8]byte
	t := host[dot+1:]
	if len(t) > len(tld) {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isASCIILetter(c) {
			return false
		}
		tld[i] = c | 0x20
	}
	return topLevelDomains[string(tld[:len(t)])]
}

// checkLinks allows one link in the body: each more is a spam signal and a
// second place to click instead of answering. A bare domain without a path
// that the facts contain ("Outreach.io" as a tool the prospect uses) is a
// name, not a link.
func (c *checker) checkLinks() {
	p := &c.bodyPart
	var links []string
	for _, f := range p.fields {
		if !f.link {
			continue
		}
		core := trimPunct(p.text[f.start:f.end])
		bare := !strings.Contains(core, "://") && !hasPrefixFold(core, "www.") && !strings.ContainsAny(core, "/?#")
		if bare && containsWordFold(c.factsFold, core) {
			continue
		}
		links = append(links, quote(core))
	}
	if len(links) > 1 {
		c.add(CodeTooManyLinks, SeverityWarning, "%d links in body (%s); keep one", len(links), strings.Join(links[:min(len(links), 3)], ", "))
	}
}
