package lint

import (
	"strings"
	"unicode/utf8"
)

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

// isSpaceByte reports ASCII whitespace.
func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

func byteSet(chars string) (t [256]bool) {
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return t
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
