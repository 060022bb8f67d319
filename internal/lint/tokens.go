package lint

import (
	"unicode"
	"unicode/utf8"
)

// token is a word in the original text: letters and digits, joined by an
// apostrophe, hyphen, dot or ampersand between two of them ("TechNova's",
// "15-min", "Outreach.io", "P&G").
type token struct {
	start, end int
	// initial is true for the first word of a sentence or line, where a
	// capital letter says nothing about a name.
	initial bool
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiWord[r] != 0
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isJoiner(r rune) bool {
	return r == '\'' || r == '’' || r == '-' || r == '.' || r == '&'
}

// tokens appends the words of s to dst.
func tokens(s string, dst []token) []token {
	initial := true
	start := -1
	prevWord := false
	for i := 0; i < len(s); {
		if byteClass[s[i]] == classWord { // the common case, in bulk
			if start < 0 {
				start = i
			}
			for i++; i < len(s) && byteClass[s[i]] == classWord; i++ {
			}
			prevWord = true
			continue
		}
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			prevWord = true
			i += n
			continue
		}
		if start >= 0 && prevWord && isJoiner(r) && i+n < len(s) {
			r2, _ := utf8.DecodeRuneInString(s[i+n:])
			if isWordRune(r2) {
				prevWord = false
				i += n
				continue
			}
		}
		if start >= 0 {
			dst = append(dst, token{start: start, end: i, initial: initial})
			initial = false
			start = -1
		}
		prevWord = false
		switch r {
		case '.', '!', '?', ':', '\n':
			initial = true
		}
		i += n
	}
	if start >= 0 {
		dst = append(dst, token{start: start, end: len(s), initial: initial})
	}
	return dst
}
