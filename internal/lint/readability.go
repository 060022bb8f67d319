package lint

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

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
