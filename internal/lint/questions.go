package lint

import "strings"

// checkQuestions allows one question in the body: a cold email should ask
// for one thing. Question marks in quotes, in lines quoted with ">", and in
// links do not count, and "??" is one question.
func (c *checker) checkQuestions() {
	p := &c.bodyPart
	s := p.text
	if strings.Count(s, "?") < 2 {
		return
	}
	n, fi := 0, 0
	inQuote, lineStart, quoted := false, true, false
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b == '\n' {
			inQuote, lineStart, quoted = false, true, false
			continue
		}
		if lineStart {
			if b == ' ' || b == '\t' {
				continue
			}
			lineStart, quoted = false, b == '>'
		}
		if quoted {
			continue
		}
		for fi < len(p.fields) && p.fields[fi].end <= i {
			fi++
		}
		if fi < len(p.fields) && p.fields[fi].link && p.fields[fi].start <= i {
			i = p.fields[fi].end - 1
			continue
		}
		switch {
		case b == '"':
			inQuote = !inQuote
		case b == 0xe2 && strings.HasPrefix(s[i:], "“"):
			inQuote = true
		case b == 0xe2 && strings.HasPrefix(s[i:], "”"):
			inQuote = false
		case b == '?' && !inQuote && (i == 0 || s[i-1] != '?'):
			n++
		}
	}
	if n > 1 {
		c.add(CodeTooManyQuestions, SeverityWarning, "%d questions in body; ask for one thing", n)
	}
}
