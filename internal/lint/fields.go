package lint

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// field is a whitespace-separated run of the original text.
type field struct {
	start, end int
	word       bool // holds a letter or digit, so Words counts it
	link       bool // a URL or a bare domain such as calendly.com/x
	email      bool // an address such as sarah@technova.com
}

// nextField returns the whitespace-separated field of s that starts at or
// after i, whether it holds a letter or digit, a dot or an "@"; end == -1
// when there is none.
func nextField(s string, i int) (start, end int, word, dot, at bool) {
	for i < len(s) {
		if k := byteClass[s[i]]; k == classSpace {
			i++
			continue
		} else if k != classNonASCII {
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return i, -1, false, false, false
	}
	start = i
	var class uint8
	for i < len(s) {
		k := byteClass[s[i]]
		if k&(classSpace|classNonASCII) == 0 {
			class |= k
			i++
			continue
		}
		if k == classSpace {
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			class |= classWord
		}
		i += n
	}
	return start, i, class&classWord != 0, class&classDot != 0, class&classAt != 0
}

// fields appends the whitespace-separated fields of s to dst, marked as
// Words and the link and address rules need them.
func fields(s string, dst []field) []field {
	for i := 0; ; {
		start, end, word, dot, at := nextField(s, i)
		if end < 0 {
			return dst
		}
		f := field{start: start, end: end, word: word}
		switch {
		case at:
			f.email = true
		case dot: // every link has a dot: "http://x.io", "www.x", "x.io/y"
			f.link = isLink(trimPunct(s[start:end]))
		}
		dst = append(dst, f)
		i = end
	}
}

// trimPunct strips the punctuation that surrounds a word in prose.
func trimPunct(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case '(', ')', '<', '>', '[', ']', '"', '\'', '“', '”', '‘', '’', '.', ',', ';', ':', '!', '?', '*', '_':
			return true
		}
		return false
	})
}

// Words counts the words in s: whitespace-separated runs that hold at least
// one letter or digit, so "15-min" and "calendly.com/x" are one word each
// and a lone "—" is none.
func Words(s string) int {
	n := 0
	for i := 0; ; {
		_, end, word, _, _ := nextField(s, i)
		if end < 0 {
			return n
		}
		if word {
			n++
		}
		i = end
	}
}
