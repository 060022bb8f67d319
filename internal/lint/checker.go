package lint

import (
	"slices"
	"strings"
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
	// finding. maskedBuf holds the first few.
	masked    [][2]int
	maskedBuf [4][2]int
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
	// factNumsBuf holds the first few factNums.
	factNumsBuf [16]factNum
	findings    []Finding
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
	c.subject = part{name: "subject", text: subject}
	c.bodyPart = part{name: "body", text: body}
	c.subject.masked = c.subject.maskedBuf[:0]
	c.bodyPart.masked = c.bodyPart.maskedBuf[:0]
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
	// The facts and the three folds share one string: the raw facts
	// first, then the folds of the subject, the body and the facts.
	var b strings.Builder
	b.Grow(2*n + len(subject) + len(body) + 16)
	for _, f := range in.Facts {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	b.WriteString(in.FirstName)
	rawEnd := b.Len()
	// foldInto reads b's bytes so far, through the string they become.
	raw := b.String()[:rawEnd]
	var ends [3]int
	for i, s := range []string{subject, body, raw} {
		foldInto(&b, s)
		ends[i] = b.Len()
	}
	all := b.String()
	c.factsRaw = all[:rawEnd]
	c.subject.fold = strings.TrimSuffix(all[rawEnd:ends[0]], " ")
	c.bodyPart.fold = strings.TrimSuffix(all[ends[0]:ends[1]], " ")
	c.factsFold = strings.TrimSuffix(all[ends[1]:ends[2]], " ")
	c.factNums = c.factNumsBuf[:0]
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

// lineEnd returns the index of the end of the line that holds i.
func lineEnd(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s)
}

// toSet makes a word list into a set, for the lists the rules look words
// up in.
func toSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
