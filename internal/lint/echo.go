package lint

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// echoRun is how many consecutive words the body may share with the system
// prompt before it counts as copying it. Shorter runs happen by chance
// ("in a friendly tone"); eight words in the same order do not.
const echoRun = 8

// wordScanner yields the words of a text, lower-cased and hashed, without
// allocating. A word is a run of letters and digits, so "don't" and "don’t"
// both give "don" and "t" and the two spellings match.
type wordScanner struct {
	s string
	i int
}

// wordSeed starts a word hash; each byte then costs a shift, an add and an
// xor (djb2), and one multiplication by fibonacci (2^64/φ) carries the
// result into the high bits, which wordBits uses. A run's hash gets the
// full mix.
const (
	wordSeed  = 5381
	fibonacci = 0x9e3779b97f4a7c15
)

func (w *wordScanner) next() (start, end int, hash uint64, ok bool) {
	s := w.s
	i := w.i
	for i < len(s) {
		k := asciiWord[s[i]]
		if k == 0 {
			i++
			continue
		}
		if k != 0xff {
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			break
		}
		i += n
	}
	if i >= len(s) {
		w.i = i
		return 0, 0, 0, false
	}
	start = i
	hash = wordSeed
	for i < len(s) {
		k := asciiWord[s[i]]
		if k == 0 {
			break
		}
		if k != 0xff {
			hash = (hash<<5 + hash) ^ uint64(k)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		hash = (hash<<5 + hash) ^ uint64(unicode.ToLower(r))
		i += n
	}
	w.i = i
	return start, i, hash * fibonacci, true
}

// mix spreads a hash's bits (the finalizer of MurmurHash3).
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// roller keeps a polynomial hash of the last echoRun word hashes, updated
// in constant time per word.
type roller struct {
	ring [echoRun]uint64
	n    int
	h    uint64
}

const rollBase = 0x9e3779b97f4a7c15 // odd, so multiplication loses no bits

// rollTop is rollBase^(echoRun-1), the weight of the oldest word.
var rollTop = func() uint64 {
	p := uint64(1)
	for range echoRun - 1 {
		p *= rollBase
	}
	return p
}()

// push adds a word and reports the hash of the run of echoRun words it
// ends, once there are that many.
func (r *roller) push(w uint64) (uint64, bool) {
	slot := r.n % echoRun
	if r.n >= echoRun {
		r.h -= r.ring[slot] * rollTop
	}
	r.h = r.h*rollBase + w
	r.ring[slot] = w
	r.n++
	if r.n < echoRun {
		return 0, false
	}
	return mix(r.h), true
}

// gramSet is an open-addressing set of the body's echoRun-word runs. An
// entry is a run's hash with its two low bits holding where else the run
// was seen (inPrompt, inFacts) and bit 2 always set, so that no entry is
// 0, the empty mark.
type gramSet []uint64

const (
	inPrompt  = 1
	inFacts   = 2
	gramFlags = 3
)

func gramKey(h uint64) uint64 { return h&^gramFlags | 4 }

func (t gramSet) slot(h uint64) *uint64 {
	key := gramKey(h)
	mask := uint64(len(t) - 1)
	for i := (key >> 3) & mask; ; i = (i + 1) & mask {
		if t[i] == 0 || t[i]&^gramFlags == key {
			return &t[i]
		}
	}
}

func (t gramSet) put(h uint64) {
	if e := t.slot(h); *e == 0 {
		*e = gramKey(h)
	}
}

// mark sets flag on h's entry, if the body has that run.
func (t gramSet) mark(h uint64, flag uint64) {
	if e := t.slot(h); *e != 0 {
		*e |= flag
	}
}

func (t gramSet) flags(h uint64) uint64 { return *t.slot(h) & gramFlags }

// wordBits is a Bloom-style bit set of word hashes.
type wordBits [64]uint64

func (b *wordBits) add(h uint64)      { b[h>>58] |= 1 << (h >> 52 & 63) }
func (b *wordBits) has(h uint64) bool { return b[h>>58]&(1<<(h>>52&63)) != 0 }

// gramsOf calls fn with the hash of each run of echoRun words of s whose
// words all may be in the body (body holds the body's words). Most words
// of a prompt are not in the email, so most runs are never hashed.
func gramsOf(s string, body *wordBits, fn func(h uint64)) {
	var ring [echoRun]uint64
	sc := wordScanner{s: s}
	run := 0
	for n := 0; ; n++ {
		_, _, w, ok := sc.next()
		if !ok {
			return
		}
		if !body.has(w) {
			run = 0
			continue
		}
		ring[n%echoRun] = w
		if run++; run >= echoRun {
			var h uint64 // as roller computes it
			for k := range echoRun {
				h = h*rollBase + ring[(n+1+k)%echoRun]
			}
			fn(mix(h))
		}
	}
}

// Prompt is a system prompt prepared for the echo check: the hashes of its
// runs of echoRun words, made once for all the emails written with it
// rather than read again for each (its ~500 words cost more than the rest
// of the check). Safe for concurrent use.
type Prompt struct {
	runs gramSet
}

// NewPrompt prepares a system prompt for Input.Prompt.
func NewPrompt(systemPrompt string) *Prompt {
	var hashes []uint64
	var r roller
	sc := wordScanner{s: systemPrompt}
	for {
		_, _, w, ok := sc.next()
		if !ok {
			break
		}
		if h, full := r.push(w); full {
			hashes = append(hashes, h)
		}
	}
	size := 16
	for size < 2*len(hashes) {
		size <<= 1
	}
	p := &Prompt{runs: make(gramSet, size)}
	for _, h := range hashes {
		p.runs.put(h)
	}
	return p
}

// has reports whether the prompt has the run whose hash is h.
func (p *Prompt) has(h uint64) bool { return *p.runs.slot(h) != 0 }

// checkEcho reports each stretch of the body that repeats at least echoRun
// consecutive words of the system prompt. A stretch that also appears in
// one of the facts is the request's own text (a call to action the prompt
// quotes) and passes.
func (c *checker) checkEcho() {
	prompt := c.in.Prompt
	if prompt == nil && c.in.SystemPrompt == "" {
		return
	}
	// Most bodies fit the arrays on the stack, and then nothing is
	// allocated.
	var wordsBuf [256]uint64
	words := wordsBuf[:0]
	var bodyWords wordBits
	sc := wordScanner{s: c.body}
	for {
		_, _, w, ok := sc.next()
		if !ok {
			break
		}
		words = append(words, w)
		bodyWords.add(w)
	}
	n := len(words) - echoRun + 1
	if n <= 0 {
		return
	}
	var setBuf [256]uint64
	size := len(setBuf)
	for size < 2*n {
		size <<= 1
	}
	set := gramSet(setBuf[:])
	if size > len(setBuf) {
		set = make(gramSet, size)
	}
	var r roller
	for _, w := range words {
		if h, full := r.push(w); full {
			set.put(h)
			if prompt != nil && prompt.has(h) {
				set.mark(h, inPrompt)
			}
		}
	}
	if prompt == nil {
		gramsOf(c.in.SystemPrompt, &bodyWords, func(h uint64) { set.mark(h, inPrompt) })
	}
	for _, f := range c.in.Facts {
		gramsOf(f, &bodyWords, func(h uint64) { set.mark(h, inFacts) })
	}
	r = roller{}
	runStart := -1 // first gram of the current run of echoed grams
	for i, w := range words {
		h, full := r.push(w)
		if !full {
			continue
		}
		g := i + 1 - echoRun
		echoed := set.flags(h) == inPrompt
		if echoed && runStart < 0 {
			runStart = g
		}
		if !echoed && runStart >= 0 {
			c.reportEcho(runStart, g-1)
			runStart = -1
		}
	}
	if runStart >= 0 {
		c.reportEcho(runStart, n-1)
	}
}

// reportEcho reports the body's words from the run of echoRun words at
// gram first to the one at gram last.
func (c *checker) reportEcho(first, last int) {
	sc := wordScanner{s: c.body}
	start := 0
	for i := 0; ; i++ {
		st, end, _, ok := sc.next()
		if !ok {
			return
		}
		if i == first {
			start = st
		}
		if i == last+echoRun-1 {
			c.add(CodePromptEcho, SeverityError, "body repeats the system prompt: %s", quote(c.body[start:end]))
			return
		}
	}
}

// echoMarkers are fences and chat-template tokens, matched as is.
var echoMarkers = []string{"<<<", ">>>", "```", "<|"}

// checkEchoMarkers finds the prompt's fences and chat-template tokens.
func (c *checker) checkEchoMarkers(p *part) {
	for _, m := range echoMarkers {
		if i := strings.Index(p.text, m); i >= 0 {
			c.add(CodePromptEcho, SeverityError, "prompt fence %s in %s", quote(p.text[i:min(lineEnd(p.text, i), i+30)]), p.name)
		}
	}
}
