package lint

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxQuote bounds how much of the email a message quotes, so that a finding
// on a runaway paragraph stays one readable line.
const maxQuote = 60

// quote returns s trimmed, with whitespace runs collapsed, cut to maxQuote
// runes, in double quotes; double quotes inside become single ones.
func quote(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), maxQuote*2) + 8)
	b.WriteByte('"')
	n, space := 0, false
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if n >= maxQuote {
			b.WriteRune('…')
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		switch {
		case r == '"':
			b.WriteByte('\'') // keeps the quote's bounds plain to see
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			b.WriteRune(utf8.RuneError)
		}
		n++
	}
	b.WriteByte('"')
	return b.String()
}
