package lint

import "strings"

// checkCaps warns about shouting: words of four or more letters, all
// capitals, that are not a known acronym (GDPR, EMEA) or written so in the
// facts (a company called ACME). Shorter words are acronyms far more often
// than shouting (CEO, ROI, B2B).
func (c *checker) checkCaps(p *part) {
	s := p.text
	for _, t := range p.toks {
		w := s[t.start:t.end]
		if p.isMasked(t.start) {
			continue
		}
		upper, lower := 0, false
		for i := 0; i < len(w) && !lower; i++ {
			switch b := w[i]; {
			case 'A' <= b && b <= 'Z':
				upper++
			case 'a' <= b && b <= 'z':
				lower = true
			}
		}
		if lower || upper < 4 || knownTerms[w] || containsPhrase(c.factsRaw, w) {
			continue
		}
		c.add(CodeAllCaps, SeverityWarning, "ALL-CAPS word %s in %s", quote(w), p.name)
		p.mask(t.start, t.end)
	}
}

// checkExclamations allows one "!" in subject and body together.
func (c *checker) checkExclamations() {
	if n := strings.Count(c.subject.text, "!") + strings.Count(c.body, "!"); n > 1 {
		c.add(CodeExclamation, SeverityWarning, "%d exclamation marks; use one at most", n)
	}
}
