package email

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// showName is a member's name as a warning shows it: as sent when it is
// short and printable, else quoted and cut.
func showName(k string) string {
	const max = 64
	plain := len(k) <= max && strings.IndexFunc(k, func(r rune) bool {
		return !unicode.IsPrint(r) || r == '"' || r == '.' || r == '[' || r == utf8.RuneError
	}) < 0
	if plain && k != "" {
		return k
	}
	if len(k) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", k[:cut])
	}
	return fmt.Sprintf("%q", k)
}

// suggest returns the field a member name was probably meant to be, or "".
// Names are compared without case, spaces, dashes and underscores
// ("firstName", "First-Name" and "first name" are first_name), then by
// edit distance for typos ("frist_name"): one edit for names of up to five
// letters, two for longer ones. Only a single best match is suggested.
func suggest(k string, fields []field) string {
	nk := normName(k)
	if len(nk) < 3 || len(nk) > 64 {
		return ""
	}
	best, bestDist, ties := "", 3, 0
	for _, f := range fields {
		nf := normName(f.name)
		limit := 2
		if len(nf) <= 5 || len(nk) <= 5 {
			limit = 1
		}
		d := distance(nk, nf, limit)
		switch {
		case d > limit:
		case d < bestDist:
			best, bestDist, ties = f.name, d, 1
		case d == bestDist:
			ties++
		}
	}
	if ties != 1 {
		return ""
	}
	return best
}

// normName lowercases s and drops spaces, dashes and underscores.
func normName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '_':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// distance is the optimal string alignment distance between a and b
// (insertions, deletions, substitutions and swaps of neighbours), or
// limit+1 once it is certain to exceed limit.
func distance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
