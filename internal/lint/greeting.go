package lint

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// greetings open a first line that names the reader.
var greetings = []string{"hi", "hello", "hey", "dear", "hiya", "greetings", "good morning", "good afternoon", "good evening"}

// greetingOthers are words after a greeting that name no one.
var greetingOthers = toSet("there", "team", "all", "everyone", "folks", "friend", "again", "both", "you", "y'all", "guys")

// honorifics come before a last name: "Dear Ms. Johnson".
var honorifics = toSet("mr", "mrs", "ms", "dr", "mx", "prof", "miss")

// checkGreeting compares a greeting's name ("Hi Mark,", "Dear Ms. Lee") with
// the prospect's. "Hi there," and no greeting at all pass; so does any name
// when FirstName is empty, since nothing says who the reader is.
func (c *checker) checkGreeting() {
	line := c.body[:lineEnd(c.body, 0)]
	var rest string
	for _, g := range greetings {
		if hasPrefixFold(line, g) && (len(line) == len(g) || line[len(g)] == ' ' || line[len(g)] == ',') {
			rest = line[len(g):]
			break
		}
	}
	if rest == "" {
		return
	}
	afterComma := false
	if rest[0] == ',' {
		rest = rest[1:]
		afterComma = true
	}
	rest = strings.TrimLeft(rest, " \t")
	name, rest := leadingName(rest)
	if name == "" {
		return
	}
	nameStart := len(line) - len(rest) - len(name)
	c.bodyPart.mask(nameStart, nameStart+len(name))
	if afterComma {
		// "Hi, Mark," names Mark; "Hi, I'm Alex" does not.
		r := strings.TrimLeft(rest, " ")
		if r != "" && !strings.ContainsRune(",!.—-", rune(r[0])) {
			return
		}
	}
	lower := strings.ToLower(strings.TrimSuffix(name, "."))
	if greetingOthers[lower] {
		return
	}
	if honorifics[lower] {
		surname, after := leadingName(strings.TrimLeft(rest, ". "))
		start := len(line) - len(after) - len(surname)
		c.bodyPart.mask(start, start+len(surname))
		if surname != "" && !containsWordFold(c.factsFold, surname) {
			c.add(CodeWrongName, SeverityError, "greeting %s names someone not in the input", quote(line))
		}
		return
	}
	first := strings.TrimSpace(c.in.FirstName)
	if first == "" {
		return
	}
	firstWord := first
	if k := strings.IndexFunc(first, unicode.IsSpace); k >= 0 {
		firstWord = first[:k]
	}
	// A CRM's first name may hold what leadingName stops at ("Pat2",
	// "J.R."): the greeting is right when it starts with it as given.
	if hasPrefixFold(line[nameStart:], first) {
		return
	}
	if !strings.EqualFold(name, first) && !strings.EqualFold(name, firstWord) {
		c.add(CodeWrongName, SeverityError, "greeting %s names %s, but the prospect is %s", quote(line), quote(name), quote(first))
	}
}

// leadingName returns the name at the start of s (letters, with
// apostrophes and hyphens between letters) and what follows it.
func leadingName(s string) (name, rest string) {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) {
			i += n
			continue
		}
		if i > 0 && (r == '\'' || r == '’' || r == '-') {
			if r2, _ := utf8.DecodeRuneInString(s[i+n:]); unicode.IsLetter(r2) {
				i += n
				continue
			}
		}
		break
	}
	return s[:i], s[i:]
}
