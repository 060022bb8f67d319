package lint

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Finding codes. Each rule reports under one code, always with the severity
// given here, except CodeTooLong, which is an error past 1.5 × the limit.
const (
	CodeEmptySubject     = "empty_subject"          // error
	CodeEmptyBody        = "empty_body"             // error
	CodeSubjectMultiline = "subject_multiline"      // error: a line break cannot go in a Subject header
	CodePlaceholder      = "placeholder"            // error: [First Name], {{company}}, <NAME>, %s, null
	CodeMetaText         = "meta_text"              // error: "Here's an email", "As an AI", "Sure!"
	CodeMarkdown         = "markdown"               // error: **bold**, # heading, `code`, [text](url), <br>, [1]
	CodePromptEcho       = "prompt_echo"            // error: system prompt text or its fences
	CodeWrongName        = "wrong_name"             // error: the greeting names someone else
	CodeInventedFact     = "invented_fact"          // error: a number in none of the facts
	CodeTooLong          = "too_long"               // warning; error past 1.5 × the limit
	CodeBulletList       = "bullet_list"            // warning
	CodeCliche           = "cliche"                 // warning
	CodeSpamPhrase       = "spam_phrase"            // warning
	CodeAllCaps          = "all_caps"               // warning
	CodeExclamation      = "exclamation"            // warning
	CodeTooShort         = "too_short"              // warning
	CodeSubjectTooLong   = "subject_too_long"       // warning
	CodeTooManyLinks     = "too_many_links"         // warning
	CodeTooManyQuestions = "too_many_questions"     // warning
	CodeInventedName     = "possible_invented_name" // warning
	CodeSubjectManyWords = "subject_too_many_words" // info
)

// Limits.
const (
	minBodyWords    = 25 // Lavender: replies rise from 25 words
	maxSubjectRunes = 40
	maxSubjectWords = 8 // Boomerang: 3–4 words do best; past 8 is a sentence
	// countLimit: a bare integer below it counts things ("2 ideas") rather
	// than claiming a fact.
	countLimit = 10
	// maxSlot bounds how far a bracket may be from its closing one to be
	// read as a placeholder.
	maxSlot = 80
)

// part is the subject or the body, prepared once for every rule.
type part struct {
	name   string // "subject" or "body", for messages
	text   string
	fold   string
	toks   []token
	fields []field
	// masked are spans another rule has reported (a placeholder, the
	// greeting's name), which the word rules skip so that one slip is one
	// finding.
	masked [][2]int
	// slots are the placeholders among masked, which the number rule
	// skips too. A number in a phrase is still checked: "100% of our
	// customers" is a spam phrase and may be an invented fact.
	slots [][2]int
	// offs maps fold back to text; made only when a phrase matches.
	offs []int32
}

func (p *part) mask(start, end int) { p.masked = append(p.masked, [2]int{start, end}) }

func (p *part) slot(start, end int) {
	p.mask(start, end)
	p.slots = append(p.slots, [2]int{start, end})
}

func (p *part) isMasked(i int) bool { return within(p.masked, i) }

func within(spans [][2]int, i int) bool {
	for _, m := range spans {
		if m[0] <= i && i < m[1] {
			return true
		}
	}
	return false
}

// checker holds one Check's input, prepared once, and its findings.
type checker struct {
	in        Input
	subject   part
	bodyPart  part
	body      string    // bodyPart.text: trimmed, with "\n" line ends
	factsRaw  string    // the facts and the first name, one per line
	factsFold string    // fold(factsRaw)
	factNums  []factNum // every number in the facts
	findings  []Finding
}

func newChecker(in Input) *checker {
	c := &checker{in: in, findings: []Finding{}}
	body := in.Body
	if strings.IndexByte(body, '\r') >= 0 {
		body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	}
	body = strings.TrimSpace(body)
	subject := strings.TrimSpace(in.Subject)
	c.body = body
	c.subject = part{name: "subject", text: subject, fold: fold(subject)}
	c.bodyPart = part{name: "body", text: body, fold: fold(body)}
	// One backing array each for the tokens and fields of both parts; an
	// English word averages five to six bytes with its space.
	guess := (len(subject)+len(body))/5 + 16
	toks := tokens(subject, make([]token, 0, guess))
	c.subject.toks = toks[:len(toks):len(toks)]
	c.bodyPart.toks = tokens(body, toks[len(toks):])
	flds := fields(subject, make([]field, 0, guess))
	c.subject.fields = flds[:len(flds):len(flds)]
	c.bodyPart.fields = fields(body, flds[len(flds):])

	n := len(in.FirstName)
	for _, f := range in.Facts {
		n += len(f) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range in.Facts {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	b.WriteString(in.FirstName)
	c.factsRaw = b.String()
	c.factsFold = fold(c.factsRaw)
	for i := 0; ; {
		m, next, ok := nextNumber(c.factsRaw, i, false)
		if !ok {
			break
		}
		c.factNums = append(c.factNums, factNum{value: m.value * m.scale, kind: m.kind})
		if m.scale != 1 {
			c.factNums = append(c.factNums, factNum{value: m.value, kind: m.kind, partial: true})
		}
		i = next
	}
	return c
}

func (c *checker) run() {
	s, b := &c.subject, &c.bodyPart
	c.checkEmpty()
	c.checkPlaceholders(s)
	c.checkPlaceholders(b)
	c.checkMarkdown(s)
	c.checkMarkdown(b)
	c.checkMetaOpener()
	c.checkPhrases(s)
	c.checkPhrases(b)
	c.checkFakeReply()
	c.checkEchoMarkers(s)
	c.checkEchoMarkers(b)
	c.checkEcho()
	c.checkGreeting()
	c.checkNumbers(s)
	c.checkNumbers(b)
	c.checkCaps(s)
	c.checkCaps(b)
	c.checkNames(b)
	c.checkExclamations()
	c.checkLinks()
	c.checkQuestions()
	c.checkLength()
	// Errors first: a repair prompt built from the findings leads with what
	// must change. The sort is stable, so rule order is kept within a
	// severity.
	slices.SortStableFunc(c.findings, func(a, b Finding) int {
		return severityRank(a.Severity) - severityRank(b.Severity)
	})
}

func severityRank(s Severity) int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

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

// lineEnd returns the index of the end of the line that holds i.
func lineEnd(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s)
}

// closeOn returns the index of the first c in s[from:], on the same line and
// within limit bytes, or -1.
func closeOn(s string, from int, c byte, limit int) int {
	end := min(lineEnd(s, from), from+limit)
	if j := strings.IndexByte(s[from:end], c); j >= 0 {
		return from + j
	}
	return -1
}

// slotStart and markStart mark the bytes that can start a placeholder or
// inline markdown, so that the scans skip the rest quickly.
var slotStart, markStart = byteSet("[{<%Xx"), byteSet("*`]")

func byteSet(chars string) (t [256]bool) {
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return t
}

// isSlotName reports whether s can name a template slot: ASCII letters,
// digits, underscores, hyphens and spaces.
func isSlotName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isASCIILetter(c) && !isDigit(c) && c != '_' && c != '-' && c != ' ' {
			return false
		}
	}
	return s != ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// checkPlaceholders finds template slots the model left unfilled. Square
// brackets always count: a plain-text cold email has no use for them, a
// real "[sic]" is rarer than a leaked "[Company]", and a false alarm costs
// one repair round. "[1]" is a citation marker and reported as markdown;
// "[text](url)" is left to the markdown rule. Curly braces with anything
// between them count ("{first_name}", "{{company}}", "${x}"). Angle
// brackets count when they hold a word ("<FIRST_NAME>", "<Company Name>")
// but not a URL or address ("<https://x.io>", "<a@b.co>") and not "<3";
// HTML tags are reported as markdown. "%s"-style verbs count unless they
// follow a digit ("30%s" is not a verb). "X%" and "$X" are numbers left
// for the user. The words null and undefined, and NaN with its case, count
// standing alone, not inside "nullify" or "NaNa".
func (c *checker) checkPlaceholders(p *part) {
	s := p.text
	for i := 0; i < len(s); i++ {
		for i < len(s) && !slotStart[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		switch s[i] {
		case '[':
			j := closeOn(s, i+1, ']', maxSlot)
			if j < 0 {
				continue
			}
			switch inner := s[i+1 : j]; {
			case j+1 < len(s) && s[j+1] == '(':
				// A markdown link.
			case allDigits(inner):
				c.add(CodeMarkdown, SeverityError, "citation marker %s in %s", quote(s[i:j+1]), p.name)
				p.slot(i, j+1)
			default:
				c.add(CodePlaceholder, SeverityError, "placeholder %s in %s", quote(s[i:j+1]), p.name)
				p.slot(i, j+1)
			}
			i = j
		case '{':
			j := closeOn(s, i+1, '}', maxSlot)
			if j < 0 {
				continue
			}
			for j+1 < len(s) && s[j+1] == '}' {
				j++
			}
			start := i
			if i > 0 && s[i-1] == '$' {
				start--
			}
			c.add(CodePlaceholder, SeverityError, "placeholder %s in %s", quote(s[start:j+1]), p.name)
			p.slot(start, j+1)
			i = j
		case '<':
			if i+1 >= len(s) || !(isASCIILetter(s[i+1]) || s[i+1] == '/' && i+2 < len(s) && isASCIILetter(s[i+2])) {
				continue
			}
			j := closeOn(s, i+1, '>', 60)
			if j < 0 {
				continue
			}
			name := strings.TrimSuffix(strings.TrimPrefix(s[i+1:j], "/"), "/")
			tag := name
			if k := strings.IndexByte(tag, ' '); k >= 0 {
				tag = tag[:k]
			}
			switch {
			case htmlTags[strings.ToLower(tag)]:
				c.add(CodeMarkdown, SeverityError, "HTML tag %s in %s", quote(s[i:j+1]), p.name)
			case isSlotName(name) && !strings.EqualFold(name, "prospect_data"):
				c.add(CodePlaceholder, SeverityError, "placeholder %s in %s", quote(s[i:j+1]), p.name)
			default:
				continue // a URL, an address, "x < y, z > w", or the prompt's fence (prompt_echo)
			}
			p.slot(i, j+1)
			i = j
		case '%':
			switch {
			case i+1 < len(s) && strings.IndexByte("sdvif", s[i+1]) >= 0 &&
				(i+2 == len(s) || !isWordByte(s[i+2])) && (i == 0 || !isDigit(s[i-1])):
				c.add(CodePlaceholder, SeverityError, "format verb %s in %s", quote(s[i:i+2]), p.name)
				i++
			case i+1 < len(s) && s[i+1] == '(':
				if j := closeOn(s, i+2, ')', 40); j >= 0 && j+1 < len(s) && s[j+1] == 's' {
					c.add(CodePlaceholder, SeverityError, "format verb %s in %s", quote(s[i:j+2]), p.name)
					i = j + 1
				}
			}
		case 'X', 'x':
			if i > 0 && isWordByte(s[i-1]) {
				continue
			}
			j := i
			for j < len(s) && (s[j] == 'X' || s[j] == 'x') {
				j++
			}
			dollar := i > 0 && s[i-1] == '$'
			percent := j < len(s) && s[j] == '%'
			if j-i <= 3 && (j == len(s) || !isWordByte(s[j])) && (dollar || percent) {
				start, end := i, j
				if dollar {
					start--
				}
				if percent {
					end++
				}
				c.add(CodePlaceholder, SeverityError, "unfilled number %s in %s", quote(s[start:end]), p.name)
				p.slot(start, end)
			}
			i = j - 1
		}
	}
	for _, t := range p.toks {
		w := s[t.start:t.end]
		if len(w) == 3 && w == "NaN" || len(w) == 4 && strings.EqualFold(w, "null") || len(w) == 9 && strings.EqualFold(w, "undefined") {
			c.add(CodePlaceholder, SeverityError, "template value %s in %s", quote(w), p.name)
			p.slot(t.start, t.end)
		}
	}
}

// checkMarkdown finds formatting that shows as stray symbols in a
// plain-text email: **bold**, *emphasis*, `code`, [text](url), # headings
// and --- rules. A run of three backticks is a fence and reported as
// prompt_echo. Bullet lines are a warning, and only from two on: plain-text
// bullets display fine and a signature may start with "- Alex", but a list
// makes a cold email read as a template.
func (c *checker) checkMarkdown(p *part) {
	s := p.text
	if i := strings.Index(s, "**"); i >= 0 {
		end := lineEnd(s, i)
		if k := strings.Index(s[i+2:end], "**"); k >= 0 {
			end = i + 2 + k + 2
		}
		c.add(CodeMarkdown, SeverityError, "bold markup %s in %s", quote(s[i:end]), p.name)
	}
	for i := 0; i < len(s); i++ {
		for i < len(s) && !markStart[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		switch s[i] {
		case '*':
			if i > 0 && s[i-1] == '*' || i+1 >= len(s) || s[i+1] == '*' || isSpaceByte(s[i+1]) {
				continue
			}
			end := lineEnd(s, i)
			for k := i + 2; k < end; k++ {
				if s[k] == '*' && !isSpaceByte(s[k-1]) && (k+1 == len(s) || s[k+1] != '*') {
					c.add(CodeMarkdown, SeverityError, "emphasis markup %s in %s", quote(s[i:k+1]), p.name)
					i = k
					break
				}
			}
		case '`':
			j := i
			for j < len(s) && s[j] == '`' {
				j++
			}
			if j-i < 3 {
				c.add(CodeMarkdown, SeverityError, "code markup %s in %s", quote(s[i:min(lineEnd(s, i), i+30)]), p.name)
			}
			i = j - 1
		case ']':
			if i+1 < len(s) && s[i+1] == '(' {
				ls := strings.LastIndexByte(s[:i], '\n') + 1
				if lb := strings.LastIndexByte(s[ls:i], '['); lb >= 0 {
					end := lineEnd(s, i)
					if k := strings.IndexByte(s[i:end], ')'); k >= 0 {
						end = i + k + 1
					}
					c.add(CodeMarkdown, SeverityError, "markdown link %s in %s", quote(s[ls+lb:end]), p.name)
				}
			}
		}
	}
	bullets := 0
	for line := range strings.Lines(s) {
		l := strings.TrimSpace(line)
		switch {
		case isHeading(l):
			c.add(CodeMarkdown, SeverityError, "markdown heading %s in %s", quote(l), p.name)
		case isRule(l):
			c.add(CodeMarkdown, SeverityError, "markdown rule %s in %s", quote(l), p.name)
		case isBullet(l):
			bullets++
		}
	}
	if bullets >= 2 {
		c.add(CodeBulletList, SeverityWarning, "%d bullet lines in %s; write sentences", bullets, p.name)
	}
}

func isHeading(l string) bool {
	n := 0
	for n < len(l) && l[n] == '#' {
		n++
	}
	return n >= 1 && n <= 6 && n < len(l) && l[n] == ' '
}

func isRule(l string) bool {
	if len(l) < 3 {
		return false
	}
	m := l[0]
	if m != '-' && m != '*' && m != '_' && m != '=' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if l[i] != m && l[i] != ' ' {
			return false
		}
	}
	return true
}

func isBullet(l string) bool {
	for _, m := range []string{"- ", "* ", "+ ", "• ", "· ", "– "} {
		if strings.HasPrefix(l, m) {
			return true
		}
	}
	n := 0
	for n < len(l) && isDigit(l[n]) {
		n++
	}
	return n > 0 && n <= 2 && n+1 < len(l) && (l[n] == '.' || l[n] == ')') && l[n+1] == ' '
}

// checkMetaOpener finds a chat reply's opening ("Sure!", "Certainly,") at
// the start of the body.
func (c *checker) checkMetaOpener() {
	f := c.bodyPart.fold
	for _, o := range metaOpeners {
		if strings.HasPrefix(f, o) && (len(f) == len(o) || !isWordByte(f[len(o)]) || !isWordByte(o[len(o)-1])) {
			c.add(CodeMetaText, SeverityError, "body opens with chat reply %s; start with the email itself", quote(o))
			return
		}
	}
}

// checkPhrases matches the meta, cliché, spam and prompt phrase lists with
// one map look-up per word. A cliché or spam phrase that the facts contain
// passes: the user chose it (a company called Elevate, a "free trial" ask).
func (c *checker) checkPhrases(p *part) {
	f := p.fold
	for i := 0; i < len(f); {
		if !isWordByte(f[i]) {
			i++
			continue
		}
		end := foldedWordEnd(f, i)
		if phraseFirst[f[i]]&(1<<min(end-i, 63)) == 0 {
			i = end
			continue
		}
		for _, e := range phraseIndex[f[i:end]] {
			if !strings.HasPrefix(f[i:], e.text) {
				continue
			}
			k := i + len(e.text)
			if k < len(f) && isWordByte(f[k]) && isWordByte(e.text[len(e.text)-1]) {
				continue
			}
			if p.offs == nil {
				p.offs = foldOffsets(p.text)
			}
			from, last := int(p.offs[i]), int(p.offs[k-1])
			_, n := utf8.DecodeRuneInString(p.text[last:])
			orig := p.text[from : last+n]
			if strings.HasSuffix(e.text, ":") {
				// "Subject: ..." — the rest of the line is the model's
				// label, not prose for the other rules.
				p.mask(from, lineEnd(p.text, from))
			} else {
				p.mask(from, last+n)
			}
			switch e.kind {
			case kindMeta:
				c.add(CodeMetaText, SeverityError, "meta text %s in %s; the email must contain only the email", quote(orig), p.name)
			case kindEcho:
				c.add(CodePromptEcho, SeverityError, "prompt text %s in %s", quote(orig), p.name)
			case kindCliche:
				if !containsPhrase(c.factsFold, e.text) {
					c.add(CodeCliche, SeverityWarning, "cliché %s in %s", quote(orig), p.name)
				}
			case kindSpam:
				if !containsPhrase(c.factsFold, e.text) {
					c.add(CodeSpamPhrase, SeverityWarning, "spam trigger %s in %s", quote(orig), p.name)
				}
			}
		}
		i = end
	}
}

// fakeReplyPrefixes make a first email pose as part of a thread, a trick
// spam filters and readers both punish.
var fakeReplyPrefixes = []string{"re:", "fwd:", "fw:"}

func (c *checker) checkFakeReply() {
	for _, p := range fakeReplyPrefixes {
		if hasPrefixFold(c.subject.text, p) {
			c.add(CodeSpamPhrase, SeverityWarning, "subject starts with %s: a first email is not a reply", quote(c.subject.text[:len(p)]))
			return
		}
	}
}

// checkEchoMarkers finds the prompt's fences and chat-template tokens.
func (c *checker) checkEchoMarkers(p *part) {
	for _, m := range echoMarkers {
		if i := strings.Index(p.text, m); i >= 0 {
			c.add(CodePromptEcho, SeverityError, "prompt fence %s in %s", quote(p.text[i:min(lineEnd(p.text, i), i+30)]), p.name)
		}
	}
}

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

func isCapitalized(w string) bool {
	if w == "" {
		return false
	}
	if c := w[0]; c < utf8.RuneSelf {
		return 'A' <= c && c <= 'Z'
	}
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r)
}

// stripPossessive turns "TechNova's" into "TechNova".
func stripPossessive(w string) string {
	for _, s := range []string{"'s", "’s", "'", "’"} {
		if len(w) > len(s) && strings.HasSuffix(w, s) {
			return w[:len(w)-len(s)]
		}
	}
	return w
}

// knownName reports whether a capitalized word is accounted for: a known
// term, the prospect's name, a word of the facts, or a compound
// ("Salesforce-native", "Outreach.io") whose capitalized parts all are.
func (c *checker) knownName(w string) bool {
	w = stripPossessive(w)
	if c.knownWord(w) {
		return true
	}
	if !strings.ContainsAny(w, "-.&'’") {
		return false
	}
	known := true
	for part := range strings.FieldsFuncSeq(w, func(r rune) bool { return isJoiner(r) }) {
		if isCapitalized(part) && !c.knownWord(part) {
			known = false
		}
	}
	return known
}

func (c *checker) knownWord(w string) bool {
	if utf8.RuneCountInString(w) == 1 || knownTerms[w] {
		return true
	}
	if len(w) > 2 && w[len(w)-1] == 's' && knownTerms[w[:len(w)-1]] {
		return true // SDRs, AEs
	}
	return strings.EqualFold(w, c.in.FirstName) || containsWordFold(c.factsFold, w)
}

// checkNames warns about capitalized words mid-sentence that the facts do
// not account for: a customer, investor or award the model made up. The
// first word of a sentence or line says nothing and is skipped, but it is
// quoted with the words that follow it ("Gartner Magic Quadrant"). A text
// that capitalizes more than a quarter of its mid-sentence words is not
// English prose (German capitalizes every noun) and is skipped whole.
func (c *checker) checkNames(p *part) {
	s, toks := p.text, p.toks
	mid, capsMid := 0, 0
	for _, t := range toks {
		if !t.initial {
			mid++
			if isCapitalized(s[t.start:t.end]) {
				capsMid++
			}
		}
	}
	if mid >= 20 && capsMid*4 > mid {
		return
	}
	for i := 0; i < len(toks); i++ {
		if !isCapitalized(s[toks[i].start:toks[i].end]) || p.isMasked(toks[i].start) {
			continue
		}
		j := i
		for j+1 < len(toks) && s[toks[j].end:toks[j+1].start] == " " && isCapitalized(s[toks[j+1].start:toks[j+1].end]) &&
			!toks[j+1].initial && !p.isMasked(toks[j+1].start) {
			j++
		}
		invented := false
		for k := i; k <= j && !invented; k++ {
			if k == i && toks[k].initial {
				continue
			}
			invented = !c.knownName(s[toks[k].start:toks[k].end])
		}
		if invented {
			c.add(CodeInventedName, SeverityWarning, "possible invented name %s in %s: it is in none of the input facts", quote(s[toks[i].start:toks[j].end]), p.name)
		}
		i = j
	}
}

// containsWordCase reports whether s holds w as a whole word, with its case.
func containsWordCase(s, w string) bool {
	for off := 0; off < len(s); {
		j := strings.Index(s[off:], w)
		if j < 0 {
			return false
		}
		j += off
		end := j + len(w)
		if (j == 0 || !isWordByte(s[j-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		off = j + 1
	}
	return false
}

// checkCaps warns about shouting: words of four or more letters, all
// capitals, that are not a known acronym (GDPR, EMEA) or written so in the
// facts (a company called ACME). Shorter words are acronyms far more often
// than shouting (CEO, ROI, B2B).
func (c *checker) checkCaps(p *part) {
	s := p.text
	for _, t := range p.toks {
		w := s[t.start:t.end]
		if p.isMasked(t.start) {
			continue
		}
		upper, lower := 0, false
		for i := 0; i < len(w) && !lower; i++ {
			switch b := w[i]; {
			case 'A' <= b && b <= 'Z':
				upper++
			case 'a' <= b && b <= 'z':
				lower = true
			}
		}
		if lower || upper < 4 || knownTerms[w] || containsWordCase(c.factsRaw, w) {
			continue
		}
		c.add(CodeAllCaps, SeverityWarning, "ALL-CAPS word %s in %s", quote(w), p.name)
		p.mask(t.start, t.end)
	}
}

// checkExclamations allows one "!" in subject and body together.
func (c *checker) checkExclamations() {
	if n := strings.Count(c.subject.text, "!") + strings.Count(c.body, "!"); n > 1 {
		c.add(CodeExclamation, SeverityWarning, "%d exclamation marks; use one at most", n)
	}
}

// checkLinks allows one link in the body: each more is a spam signal and a
// second place to click instead of answering. A bare domain without a path
// that the facts contain ("Outreach.io" as a tool the prospect uses) is a
// name, not a link.
func (c *checker) checkLinks() {
	p := &c.bodyPart
	var links []string
	for _, f := range p.fields {
		if !f.link {
			continue
		}
		core := trimPunct(p.text[f.start:f.end])
		bare := !strings.Contains(core, "://") && !hasPrefixFold(core, "www.") && !strings.ContainsAny(core, "/?#")
		if bare && containsWordFold(c.factsFold, core) {
			continue
		}
		links = append(links, quote(core))
	}
	if len(links) > 1 {
		c.add(CodeTooManyLinks, SeverityWarning, "%d links in body (%s); keep one", len(links), strings.Join(links[:min(len(links), 3)], ", "))
	}
}

// checkQuestions allows one question in the body: a cold email should ask
// for one thing. Question marks in quotes, in lines quoted with ">", and in
// links do not count, and "??" is one question.
func (c *checker) checkQuestions() {
	p := &c.bodyPart
	s := p.text
	if strings.Count(s, "?") < 2 {
		return
	}
	n, fi := 0, 0
	inQuote, lineStart, quoted := false, true, false
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b == '\n' {
			inQuote, lineStart, quoted = false, true, false
			continue
		}
		if lineStart {
			if b == ' ' || b == '\t' {
				continue
			}
			lineStart, quoted = false, b == '>'
		}
		if quoted {
			continue
		}
		for fi < len(p.fields) && p.fields[fi].end <= i {
			fi++
		}
		if fi < len(p.fields) && p.fields[fi].link && p.fields[fi].start <= i {
			i = p.fields[fi].end - 1
			continue
		}
		switch {
		case b == '"':
			inQuote = !inQuote
		case b == 0xe2 && strings.HasPrefix(s[i:], "“"):
			inQuote = true
		case b == 0xe2 && strings.HasPrefix(s[i:], "”"):
			inQuote = false
		case b == '?' && !inQuote && (i == 0 || s[i-1] != '?'):
			n++
		}
	}
	if n > 1 {
		c.add(CodeTooManyQuestions, SeverityWarning, "%d questions in body; ask for one thing", n)
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
		c.add(CodeTooShort, SeverityWarning, "body has %d words; aim for at least %d", words, min(minBodyWords, limit/2))
	}
	if n := utf8.RuneCountInString(c.subject.text); n > maxSubjectRunes {
		c.add(CodeSubjectTooLong, SeverityWarning, "subject has %d characters; keep it under %d", n, maxSubjectRunes)
	}
	if n := Words(c.subject.text); n > maxSubjectWords {
		c.add(CodeSubjectManyWords, SeverityInfo, "subject has %d words; 3–4 do best", n)
	}
}
