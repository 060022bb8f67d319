package lint

import (
	"strings"
	"unicode/utf8"
)

// Length limits.
const (
	minBodyWords    = 25 // Lavender: replies rise from 25 words
	maxSubjectRunes = 40
	maxSubjectWords = 8 // Boomerang: 3–4 words do best; past 8 is a sentence
)

// checkEmpty reports an empty subject or body, and a subject with a line
// break in it.
func (c *checker) checkEmpty() {
	if c.subject.text == "" {
		c.add(CodeEmptySubject, SeverityError, "subject is empty")
	}
	if c.body == "" {
		c.add(CodeEmptyBody, SeverityError, "body is empty")
	}
	if strings.ContainsAny(c.subject.text, "\r\n") {
		c.add(CodeSubjectMultiline, SeverityError, "subject has a line break: %s", quote(c.subject.text))
	}
}

// checkLength holds the body to the research: most replies go to emails of
// 50–125 words, and under 25 reads as careless. A limit under 50 asks for
// a very short email, so then only under half the limit is too short.
func (c *checker) checkLength() {
	limit := c.in.MaxWords
	if limit <= 0 {
		limit = DefaultMaxWords
	}
	words := 0 // Words(c.body), from the fields already split
	for _, f := range c.bodyPart.fields {
		if f.word {
			words++
		}
	}
	switch {
	case 2*words > 3*limit:
		c.add(CodeTooLong, SeverityError, "body has %d words, over 1.5 × the limit of %d", words, limit)
	case words > limit:
		c.add(CodeTooLong, SeverityWarning, "body has %d words; the limit is %d", words, limit)
	case words > 0 && words < min(minBodyWords, limit/2):
		noun := "words"
		if words == 1 {
			noun = "word" // the lint endpoint takes a one-word body
		}
		c.add(CodeTooShort, SeverityWarning, "body has %d %s; aim for at least %d", words, noun, min(minBodyWords, limit/2))
	}
	if n := utf8.RuneCountInString(c.subject.text); n > maxSubjectRunes {
		c.add(CodeSubjectTooLong, SeverityWarning, "subject has %d characters; keep it under %d", n, maxSubjectRunes)
	}
	if n := Words(c.subject.text); n > maxSubjectWords {
		c.add(CodeSubjectManyWords, SeverityInfo, "subject has %d words; 3–4 do best", n)
	}
}
