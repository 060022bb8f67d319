package lint

import "strings"

// maxSlot bounds how far a bracket may be from its closing one to be
// read as a placeholder.
const maxSlot = 80

// slotStart marks the bytes that can start a placeholder, so that the
// scan skips the rest quickly.
var slotStart = byteSet("[{<%Xx")

// closeOn returns the index of the first c in s[from:], on the same line and
// within limit bytes, or -1.
func closeOn(s string, from int, c byte, limit int) int {
	end := min(lineEnd(s, from), from+limit)
	if j := strings.IndexByte(s[from:end], c); j >= 0 {
		return from + j
	}
	return -1
}

// isSlotName reports whether s can name a template slot: ASCII letters,
// digits, underscores, hyphens and spaces.
func isSlotName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isASCIILetter(c) && !isDigit(c) && c != '_' && c != '-' && c != ' ' {
			return false
		}
	}
	return s != ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// htmlTags are tags a model sometimes leaves in a plain-text body.
var htmlTags = toSet("a", "b", "i", "u", "p", "br", "hr", "em", "strong", "div", "span", "ul", "ol", "li", "h1", "h2", "h3", "table", "tr", "td", "html", "body", "head", "small")

// checkPlaceholders finds template slots the model left unfilled. Square
// brackets always count: a plain-text cold email has no use for them, a
// real "[sic]" is rarer than a leaked "[Company]", and a false alarm costs
// one repair round. "[1]" is a citation marker and reported as markdown;
// "[text](url)" is left to the markdown rule. Curly braces with anything
// between them count ("{first_name}", "{{company}}", "${x}"). Angle
// brackets count when they hold a word ("<FIRST_NAME>", "<Company Name>")
// but not a URL or address ("<https://x.io>", "<a@b.co>") and not "<3";
// HTML tags are reported as markdown. "%s"-style verbs count unless they
// follow a digit ("30%s" is not a verb). "X%" and "$X" are numbers left
// for the user. The words null and undefined, and NaN with its case, count
// standing alone, not inside "nullify" or "NaNa".
func (c *checker) checkPlaceholders(p *part) {
	s := p.text
	for i := 0; i < len(s); i++ {
		for i < len(s) && !slotStart[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		switch s[i] {
		case '[':
			j := closeOn(s, i+1, ']', maxSlot)
			if j < 0 {
				continue
			}
			switch inner := s[i+1 : j]; {
			case j+1 < len(s) && s[j+1] == '(':
				// A markdown link.
			case allDigits(inner):
				c.add(CodeMarkdown, SeverityError, "citation marker %s in %s", quote(s[i:j+1]), p.name)
				p.slot(i, j+1)
			default:
				c.add(CodePlaceholder, SeverityError, "placeholder %s in %s", quote(s[i:j+1]), p.name)
				p.slot(i, j+1)
			}
			i = j
		case '{':
			j := closeOn(s, i+1, '}', maxSlot)
			if j < 0 {
				continue
			}
			for j+1 < len(s) && s[j+1] == '}' {
				j++
			}
			start := i
			if i > 0 && s[i-1] == '$' {
				start--
			}
			c.add(CodePlaceholder, SeverityError, "placeholder %s in %s", quote(s[start:j+1]), p.name)
			p.slot(start, j+1)
			i = j
		case '<':
			if i+1 >= len(s) || !(isASCIILetter(s[i+1]) || s[i+1] == '/' && i+2 < len(s) && isASCIILetter(s[i+2])) {
				continue
			}
			j := closeOn(s, i+1, '>', 60)
			if j < 0 {
				continue
			}
			name := strings.TrimSuffix(strings.TrimPrefix(s[i+1:j], "/"), "/")
			tag := name
			if k := strings.IndexByte(tag, ' '); k >= 0 {
				tag = tag[:k]
			}
			switch {
			case htmlTags[strings.ToLower(tag)]:
				c.add(CodeMarkdown, SeverityError, "HTML tag %s in %s", quote(s[i:j+1]), p.name)
			case isSlotName(name) && !strings.EqualFold(name, "prospect_data"):
				c.add(CodePlaceholder, SeverityError, "placeholder %s in %s", quote(s[i:j+1]), p.name)
			default:
				continue // a URL, an address, "x < y, z > w", or the prompt's fence (prompt_echo)
			}
			p.slot(i, j+1)
			i = j
		case '%':
			switch {
			case i+1 < len(s) && strings.IndexByte("sdvif", s[i+1]) >= 0 &&
				(i+2 == len(s) || !isWordByte(s[i+2])) && (i == 0 || !isDigit(s[i-1])):
				c.add(CodePlaceholder, SeverityError, "format verb %s in %s", quote(s[i:i+2]), p.name)
				i++
			case i+1 < len(s) && s[i+1] == '(':
				if j := closeOn(s, i+2, ')', 40); j >= 0 && j+1 < len(s) && s[j+1] == 's' {
					c.add(CodePlaceholder, SeverityError, "format verb %s in %s", quote(s[i:j+2]), p.name)
					i = j + 1
				}
			}
		case 'X', 'x':
			if i > 0 && isWordByte(s[i-1]) {
				continue
			}
			j := i
			for j < len(s) && (s[j] == 'X' || s[j] == 'x') {
				j++
			}
			dollar := i > 0 && s[i-1] == '$'
			percent := j < len(s) && s[j] == '%'
			if j-i <= 3 && (j == len(s) || !isWordByte(s[j])) && (dollar || percent) {
				start, end := i, j
				if dollar {
					start--
				}
				if percent {
					end++
				}
				c.add(CodePlaceholder, SeverityError, "unfilled number %s in %s", quote(s[start:end]), p.name)
				p.slot(start, end)
			}
			i = j - 1
		}
	}
	for _, t := range p.toks {
		w := s[t.start:t.end]
		if len(w) == 3 && w == "NaN" || len(w) == 4 && strings.EqualFold(w, "null") || len(w) == 9 && strings.EqualFold(w, "undefined") {
			c.add(CodePlaceholder, SeverityError, "template value %s in %s", quote(w), p.name)
			p.slot(t.start, t.end)
		}
	}
}
