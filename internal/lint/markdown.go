package lint

import "strings"

// markStart marks the bytes that can start inline markdown, so that the
// scan skips the rest quickly.
var markStart = byteSet("*`]")

// checkMarkdown finds formatting that shows as stray symbols in a
// plain-text email: **bold**, *emphasis*, `code`, [text](url), # headings
// and --- rules. A run of three backticks is a fence and reported as
// prompt_echo. Bullet lines are a warning, and only from two on: plain-text
// bullets display fine and a signature may start with "- Alex", but a list
// makes a cold email read as a template.
func (c *checker) checkMarkdown(p *part) {
	s := p.text
	if i := strings.Index(s, "**"); i >= 0 {
		end := lineEnd(s, i)
		if k := strings.Index(s[i+2:end], "**"); k >= 0 {
			end = i + 2 + k + 2
		}
		c.add(CodeMarkdown, SeverityError, "bold markup %s in %s", quote(s[i:end]), p.name)
	}
	for i := 0; i < len(s); i++ {
		for i < len(s) && !markStart[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		switch s[i] {
		case '*':
			if i > 0 && s[i-1] == '*' || i+1 >= len(s) || s[i+1] == '*' || isSpaceByte(s[i+1]) {
				continue
			}
			end := lineEnd(s, i)
			for k := i + 2; k < end; k++ {
				if s[k] == '*' && !isSpaceByte(s[k-1]) && (k+1 == len(s) || s[k+1] != '*') {
					c.add(CodeMarkdown, SeverityError, "emphasis markup %s in %s", quote(s[i:k+1]), p.name)
					i = k
					break
				}
			}
		case '`':
			j := i
			for j < len(s) && s[j] == '`' {
				j++
			}
			if j-i < 3 {
				c.add(CodeMarkdown, SeverityError, "code markup %s in %s", quote(s[i:min(lineEnd(s, i), i+30)]), p.name)
			}
			i = j - 1
		case ']':
			if i+1 < len(s) && s[i+1] == '(' {
				ls := strings.LastIndexByte(s[:i], '\n') + 1
				if lb := strings.LastIndexByte(s[ls:i], '['); lb >= 0 {
					end := lineEnd(s, i)
					if k := strings.IndexByte(s[i:end], ')'); k >= 0 {
						end = i + k + 1
					}
					c.add(CodeMarkdown, SeverityError, "markdown link %s in %s", quote(s[ls+lb:end]), p.name)
				}
			}
		}
	}
	bullets := 0
	for line := range strings.Lines(s) {
		l := strings.TrimSpace(line)
		switch {
		case isHeading(l):
			c.add(CodeMarkdown, SeverityError, "markdown heading %s in %s", quote(l), p.name)
		case isRule(l):
			c.add(CodeMarkdown, SeverityError, "markdown rule %s in %s", quote(l), p.name)
		case isBullet(l):
			bullets++
		}
	}
	if bullets >= 2 {
		c.add(CodeBulletList, SeverityWarning, "%d bullet lines in %s; write sentences", bullets, p.name)
	}
}

func isHeading(l string) bool {
	n := 0
	for n < len(l) && l[n] == '#' {
		n++
	}
	return n >= 1 && n <= 6 && n < len(l) && l[n] == ' '
}

func isRule(l string) bool {
	if len(l) < 3 {
		return false
	}
	m := l[0]
	if m != '-' && m != '*' && m != '_' && m != '=' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if l[i] != m && l[i] != ' ' {
			return false
		}
	}
	return true
}

func isBullet(l string) bool {
	for _, m := range []string{"- ", "* ", "+ ", "• ", "· ", "– "} {
		if strings.HasPrefix(l, m) {
			return true
		}
	}
	n := 0
	for n < len(l) && isDigit(l[n]) {
		n++
	}
	return n > 0 && n <= 2 && n+1 < len(l) && (l[n] == '.' || l[n] == ')') && l[n+1] == ' '
}
