package lint

import (
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzFold checks the invariants the phrase rules rely on: foldOffsets
// describes fold's output byte for byte, and every byte of it from 0x80 up
// belongs to a letter or a digit.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"", " Hi  Sarah,\n", "I’m “sure” — 10x… ✅", "\xff\xfeA", "ÄÖÜ ß İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := fold(s)
		offs := foldOffsets(s)
		if len(offs) != len(out) {
			t.Fatalf("fold(%q) = %q has %d bytes, foldOffsets gives %d", s, out, len(out), len(offs))
		}
		for i, o := range offs {
			if o < 0 || int(o) >= len(s) || i > 0 && o < offs[i-1] {
				t.Fatalf("offset %d = %d out of order or range for %q", i, o, s)
			}
		}
		for i := 0; i < len(out); {
			r, n := utf8.DecodeRuneInString(out[i:])
			if r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				t.Fatalf("fold(%q) keeps %q", s, r)
			}
			i += n
		}
	})
}

// FuzzFoldOffsetsAgree holds fold to foldOffsets' reading of the text,
// rune by rune: fold copies runs of plain text (spaces included) at once,
// foldOffsets goes rune by rune.
func FuzzFoldOffsetsAgree(f *testing.F) {
	for _, s := range []string{"", " Hi  Sarah,\n", "a b  c\t d \n\ne ", "I’m “sure” — 10x… ✅ ", "x \u00a0 y", "  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []byte
		space := true
		for _, r := range s {
			if r < utf8.RuneSelf && isSpaceByte(byte(r)) {
				r = ' '
			} else if r >= utf8.RuneSelf {
				r = foldRune(r)
			} else {
				r = unicode.ToLower(r)
			}
			if r == ' ' && space {
				continue
			}
			space = r == ' '
			if r == '…' {
				want = append(want, "..."...)
			} else {
				want = utf8.AppendRune(want, r)
			}
		}
		if len(want) > 0 && want[len(want)-1] == ' ' {
			want = want[:len(want)-1]
		}
		if got := fold(s); got != string(want) {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
	})
}
