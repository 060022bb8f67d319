package lint

import (
	"math"
	"strings"
	"unicode/utf8"
)

// countLimit: a bare integer below it counts things ("2 ideas") rather
// than claiming a fact.
const countLimit = 10

// numberWords scale the number before them; "percent" only makes it a
// percentage.
var numberWords = []struct {
	word  string
	scale float64
}{{"thousand", 1e3}, {"million", 1e6}, {"billion", 1e9}, {"percent", 1}}

// numKind is what a number measures; a percentage never matches money.
type numKind uint8

const (
	numPlain numKind = iota // matches any kind: "45" may be the 45 of "$45M"
	numPercent
	numMoney
	numMultiple // 3x
)

// numMatch is a number in a text.
type numMatch struct {
	start, end int     // what to quote: currency sign, digits, suffix
	value      float64 // as written, without scale: "$45M" is 45
	scale      float64 // from a k/M/B suffix or a following "million"; 1 if none
	kind       numKind
}

// factNum is a number from the facts.
type factNum struct {
	value float64
	kind  numKind
	// partial is the written digits of a scaled number (the 45 of "$45M"),
	// which only a bare number in the email may match.
	partial bool
}

// nextNumber finds the first number in s at or after i and returns it and
// where to look next. strict skips digits glued to a preceding letter
// ("Q1", "B2B", "SOC2"), which in an email are names, not quantities; the
// facts are read leniently so that every number they hold can match.
func nextNumber(s string, i int, strict bool) (numMatch, int, bool) {
	for i < len(s) {
		if !isDigit(s[i]) {
			i++
			continue
		}
		if strict && i > 0 && (isASCIILetter(s[i-1]) || s[i-1] >= utf8.RuneSelf && currencyBefore(s, i) == 0) {
			for i < len(s) && (isWordByte(s[i]) || s[i] == '.' || s[i] == ',') {
				i++
			}
			continue
		}
		if strings.HasPrefix(s[i:], "24/7") {
			i += 4
			continue
		}
		m := numMatch{start: i, scale: 1}
		if n := currencyBefore(s, i); n > 0 {
			m.start, m.kind = i-n, numMoney
		}
		// Digits, with commas and dots between digits: 1,200 and 2.5.
		var whole, frac, div float64 = 0, 0, 1
		inFrac := false
		j := i
		for j < len(s) {
			d := s[j]
			switch {
			case isDigit(d):
				if inFrac {
					frac = frac*10 + float64(d-'0')
					div *= 10
				} else {
					whole = whole*10 + float64(d-'0')
				}
				j++
				continue
			case (d == ',' || d == '.') && j+1 < len(s) && isDigit(s[j+1]) && !inFrac:
				inFrac = d == '.'
				j++
				continue
			}
			break
		}
		m.value = whole + frac/div
		if j < len(s) && s[j] == '%' {
			m.kind = numPercent
			j++
		} else {
			k := j
			for k < len(s) && isASCIILetter(s[k]) {
				k++
			}
			switch suf := s[j:k]; {
			case strings.EqualFold(suf, "k"):
				m.scale = 1e3
			case strings.EqualFold(suf, "m"), strings.EqualFold(suf, "mm"), strings.EqualFold(suf, "mn"):
				m.scale = 1e6
			case strings.EqualFold(suf, "b"), strings.EqualFold(suf, "bn"):
				m.scale = 1e9
			case strings.EqualFold(suf, "x"):
				m.kind = numMultiple
			}
			j = k
			if j < len(s) && s[j] == '+' {
				j++
			}
			if m.scale == 1 && j+1 < len(s) && s[j] == ' ' {
				k := j + 1
				for k < len(s) && isASCIILetter(s[k]) {
					k++
				}
				for _, w := range numberWords {
					if strings.EqualFold(s[j+1:k], w.word) {
						m.scale = w.scale
						if w.scale == 1 {
							m.kind = numPercent
						}
						j = k
						break
					}
				}
			}
		}
		m.end = j
		return m, j, true
	}
	return numMatch{}, len(s), false
}

// currencyBefore returns the length of the currency sign that ends at s[i],
// or 0.
func currencyBefore(s string, i int) int {
	for _, sign := range []string{"$", "€", "£", "¥"} {
		if strings.HasSuffix(s[:i], sign) {
			return len(sign)
		}
	}
	return 0
}

// isFact reports whether a number of the email is one of the facts'. A
// scaled number ("$45M") must match in full, so "$45K" does not pass on the
// strength of "$45M"; a bare one ("45") may match the written digits of a
// scaled fact.
func (c *checker) isFact(m numMatch) bool {
	v := m.value * m.scale
	for _, f := range c.factNums {
		if f.partial && (m.kind != numPlain || m.scale != 1) {
			continue
		}
		if f.kind != m.kind && f.kind != numPlain && m.kind != numPlain {
			continue
		}
		if math.Abs(f.value-v) <= 1e-9*max(1, math.Abs(v)) {
			return true
		}
	}
	return false
}

// checkNumbers reports numbers that appear in none of the facts: an
// invented "27%" or "$45M" is the worst thing an email can say. Numbers are
// compared by value, so "27%" matches "by 27%", "$45,000,000" matches
// "$45M" and "45 million" matches "$45M". Numbers inside links and
// addresses are not claims and pass, as do "24/7" and single digits
// without a unit ("2 ideas", "1:1"), which count things rather than claim
// them.
func (c *checker) checkNumbers(p *part) {
	s := p.text
	fi := 0
	for i := 0; ; {
		m, next, ok := nextNumber(s, i, true)
		if !ok {
			return
		}
		i = next
		for fi < len(p.fields) && p.fields[fi].end <= m.start {
			fi++
		}
		if fi < len(p.fields) && p.fields[fi].start <= m.start && (p.fields[fi].link || p.fields[fi].email) {
			continue
		}
		if within(p.slots, m.start) || m.kind == numPlain && m.scale == 1 && m.value < countLimit && m.value == math.Trunc(m.value) {
			continue
		}
		if c.isFact(m) {
			continue
		}
		c.add(CodeInventedFact, SeverityError, "number %s in %s is in none of the input facts", quote(s[m.start:m.end]), p.name)
	}
}
