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

// fold returns s lower-cased for phrase matching: typographic apostrophes,
// quotes and dashes become ASCII, "…" becomes "...", every run of
// whitespace becomes one space, and symbols outside ASCII (emoji, bullets)
// become spaces. In the result every byte >= 0x80 belongs to a letter or a
// digit, so isWordByte needs no decoding.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // drops leading space
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && foldsToItself[s[j]] {
			j++
		}
		if j > i {
			b.WriteString(s[i:j])
			space = false
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
	return strings.TrimSuffix(b.String(), " ")
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

// asciiWord maps an ASCII letter or digit to its lower-case form and every
// other ASCII byte to 0; bytes from 0x80 map to 0xff, "decode me".
var asciiWord = func() (t [256]byte) {
	for c := range 256 {
		switch b := byte(c); {
		case b >= utf8.RuneSelf:
			t[c] = 0xff
		case isASCIILetter(b):
			t[c] = b | 0x20
		case isDigit(b):
			t[c] = b
		}
	}
	return t
}()

// isWordByte reports whether b is part of a word in folded text.
func isWordByte(b byte) bool { return wordByte[b] }

// wordByte is isWordByte as a table: ASCII letters and digits, and every
// byte from 0x80.
var wordByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= utf8.RuneSelf || asciiWord[c] != 0
	}
	return t
}()

// byteClass sorts bytes for the field scan.
const (
	classSpace    = 1 << iota // ASCII white space
	classWord                 // ASCII letter or digit
	classDot                  // '.'
	classAt                   // '@'
	classNonASCII             // from 0x80: decode
)

var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		switch {
		case b >= utf8.RuneSelf:
			t[c] = classNonASCII
		case isSpaceByte(b):
			t[c] = classSpace
		case asciiWord[c] != 0:
			t[c] = classWord
		case b == '.':
			t[c] = classDot
		case b == '@':
			t[c] = classAt
		}
	}
	return t
}()

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func isASCIILetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

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

// containsPhrase reports whether folded text s contains folded phrase p
// with word boundaries at both ends (a boundary is only needed where p
// starts or ends with a word byte).
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

// field is a whitespace-separated run of the original text.
type field struct {
	start, end int
	word       bool // holds a letter or digit, so Words counts it
	link       bool // a URL or a bare domain such as calendly.com/x
	email      bool // an address such as sarah@technova.com
}

// isSpaceByte reports ASCII whitespace.
func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
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

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
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

// ReadingGrade returns the Flesch–Kincaid grade level of s:
//
//	0.39 × words/sentences + 11.8 × syllables/words − 15.59
//
// Words are counted as in Words. A sentence ends at a word ending in ".",
// "!" or "?" (before any closing quote or bracket) and at the end of a line
// that has words, because an email's greeting and sign-off lines are
// sentences of their own. Abbreviations such as "Mr." end a sentence too.
//
// Syllables come from a heuristic, exact for most short English words: in
// each part of a word between hyphens, slashes and dots, count groups of
// consecutive vowels (a e i o u y); drop a silent final "e" ("make") but not
// a consonant + "le" ("table"); drop the "e" of a final "ed" unless it
// follows t or d ("jumped" 1, "wanted" 2); drop the "e" of a final "es"
// unless it follows s, x, z, c, g, h or consonant + "l" ("makes" 1, "boxes"
// 2); every part has at least one. A word with no letters (a number) counts
// as one syllable. An empty text has grade 0.
func ReadingGrade(s string) float64 {
	words, sentences, syllables := 0, 0, 0
	pending := false // the current sentence has words
	prev := 0        // end of the previous field
	for i := 0; ; {
		start, end, word, _, _ := nextField(s, i)
		if end < 0 {
			break
		}
		if pending && strings.IndexByte(s[prev:start], '\n') >= 0 {
			sentences++
			pending = false
		}
		prev, i = end, end
		if !word {
			continue
		}
		w := s[start:end]
		words++
		syllables += wordSyllables(w)
		pending = true
		if e := strings.TrimRight(w, `"')]”’»`); e != "" && strings.IndexByte(".!?", e[len(e)-1]) >= 0 {
			sentences++
			pending = false
		}
	}
	if pending {
		sentences++
	}
	if words == 0 {
		return 0
	}
	return 0.39*float64(words)/float64(sentences) + 11.8*float64(syllables)/float64(words) - 15.59
}

// wordSyllables counts the syllables of one whitespace-separated word; see
// ReadingGrade.
func wordSyllables(w string) int {
	var buf [64]byte
	total, n, letters := 0, 0, false
	flush := func() {
		if n > 0 {
			total += partSyllables(buf[:n])
			letters = true
		}
		n = 0
	}
	for _, r := range w {
		switch {
		case r == '-' || r == '/' || r == '.' || r == '–' || r == '—':
			flush()
		case r < utf8.RuneSelf && isASCIILetter(byte(r)):
			if n < len(buf) {
				buf[n] = byte(r) | 0x20
				n++
			}
		case r >= utf8.RuneSelf && unicode.IsLetter(r):
			// A letter outside ASCII counts as a consonant; good enough
			// for the names and loanwords an English email carries.
			if n < len(buf) {
				buf[n] = 'x'
				n++
			}
		}
	}
	flush()
	if !letters {
		return 1
	}
	return total
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

// partSyllables counts the syllables of a lower-case ASCII word part.
func partSyllables(p []byte) int {
	count, prevVowel := 0, false
	for _, c := range p {
		v := isVowel(c)
		if v && !prevVowel {
			count++
		}
		prevVowel = v
	}
	n := len(p)
	if count > 1 && n > 2 {
		last, prev, before := p[n-1], p[n-2], p[n-3]
		switch {
		case last == 'e' && !isVowel(prev) && !(prev == 'l' && !isVowel(before)):
			count-- // silent e: make, but not table
		case last == 'd' && prev == 'e' && !isVowel(before) && before != 't' && before != 'd':
			count-- // jumped, but not wanted
		case last == 's' && prev == 'e' && !isVowel(before) && !strings.ContainsRune("sxzcgh", rune(before)) &&
			!(before == 'l' && n > 3 && !isVowel(p[n-4])):
			count-- // makes, but not boxes or tables
		}
	}
	return max(count, 1)
}
