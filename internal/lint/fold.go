package lint

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// fold returns s lower-cased for phrase matching: typographic apostrophes,
// quotes and dashes become ASCII, "…" becomes "...", every run of
// whitespace becomes one space, and symbols outside ASCII (emoji, bullets)
// become spaces. In the result every byte >= 0x80 belongs to a letter or a
// digit, so isWordByte needs no decoding.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	foldInto(&b, s)
	return strings.TrimSuffix(b.String(), " ")
}

// foldInto writes fold(s) to b, and a last space when s ends in
// whitespace: the caller cuts it, as fold does.
func foldInto(b *strings.Builder, s string) {
	space := true // drops leading space
	for i := 0; i < len(s); {
		// A run of bytes that fold to themselves, with the single spaces
		// between its words: most of a text is written in one call.
		j := i
		for j < len(s) {
			if c := s[j]; !foldsToItself[c] && (c != ' ' || (j == i && space) || (j > i && s[j-1] == ' ')) {
				break
			}
			j++
		}
		if j > i {
			b.WriteString(s[i:j])
			space = s[j-1] == ' '
			i = j
			continue
		}
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			switch r = foldRune(r); r {
			case ' ':
				if !space {
					b.WriteByte(' ')
					space = true
				}
				continue
			case '…':
				b.WriteString("...")
			default:
				b.WriteRune(r)
			}
		case isSpaceByte(c):
			i++
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		default: // upper case
			b.WriteByte(c + 'a' - 'A')
			i++
		}
		space = false
	}
}

// foldsToItself marks the ASCII bytes fold copies unchanged: all but upper
// case and whitespace.
var foldsToItself = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		b := byte(c)
		t[c] = !('A' <= b && b <= 'Z') && !isSpaceByte(b)
	}
	return t
}()

// foldRune folds a rune outside ASCII: to its ASCII stand-in, to ' ' if it
// is neither letter nor digit, else to lower case. '…' is returned as is
// for the caller to write as "...".
func foldRune(r rune) rune {
	switch r {
	case '‘', '’', 'ʼ', '′':
		return '\''
	case '“', '”', '„', '″':
		return '"'
	case '–', '—', '‒', '−':
		return '-'
	case '…':
		return r
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return unicode.ToLower(r)
	}
	return ' '
}

// foldOffsets returns, for each byte of fold(s), the offset in s of the
// rune it came from, to find what a phrase matched in the original text.
// It is the slow twin of fold, used only when a phrase has matched.
func foldOffsets(s string) []int32 {
	offs := make([]int32, 0, len(s)+3)
	space := true
	var enc [utf8.UTFMax]byte
	for i := 0; i < len(s); {
		from := int32(i)
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
			r = foldRune(r)
		} else if isSpaceByte(byte(r)) {
			r = ' '
		}
		i += n
		if r == ' ' && space {
			continue
		}
		space = r == ' '
		size := utf8.EncodeRune(enc[:], r)
		if r == '…' {
			size = len("...")
		}
		for range size {
			offs = append(offs, from)
		}
	}
	if space && len(offs) > 0 {
		offs = offs[:len(offs)-1]
	}
	return offs
}

// foldedWordEnd returns the end of the folded word that starts at i: word
// bytes, and apostrophes between them ("here's").
func foldedWordEnd(s string, i int) int {
	for i < len(s) {
		if isWordByte(s[i]) {
			i++
			continue
		}
		if s[i] == '\'' && i+1 < len(s) && isWordByte(s[i+1]) && i > 0 && isWordByte(s[i-1]) {
			i++
			continue
		}
		break
	}
	return i
}

// containsPhrase reports whether s contains p with word boundaries at both
// ends (a boundary is only needed where p starts or ends with a word byte).
// It compares bytes: folded text and phrase match whatever their case, the
// original ones only with it.
func containsPhrase(s, p string) bool {
	if p == "" {
		return false
	}
	for off := 0; off < len(s); {
		j := strings.Index(s[off:], p)
		if j < 0 {
			return false
		}
		j += off
		end := j + len(p)
		before := j == 0 || !isWordByte(s[j-1]) || !isWordByte(p[0])
		after := end == len(s) || !isWordByte(s[end]) || !isWordByte(p[len(p)-1])
		if before && after {
			return true
		}
		off = j + 1
	}
	return false
}

// containsWordFold reports whether folded text s holds the word w from the
// original text, compared case-insensitively. Short words are folded into a
// stack buffer, so the common case does not allocate.
func containsWordFold(s, w string) bool {
	var buf [64]byte
	if len(w) <= len(buf) {
		n, ascii := 0, true
		for i := 0; i < len(w); i++ {
			c := w[i]
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[n] = c
			n++
		}
		if ascii {
			return containsPhrase(s, string(buf[:n]))
		}
	}
	return containsPhrase(s, fold(w))
}
