package lint

import (
	"strings"
	"unicode/utf8"
)

// The phrase lists are lower case, with straight apostrophes and single
// spaces, as fold makes the text they are matched against. A phrase matches
// at word boundaries only, so "leverage" does not fire on "leverages"; list
// each form. Phrases must not overlap one another, or one slip would be
// reported twice.

// metaPhrases are the model talking about the email instead of writing it.
var metaPhrases = []string{
	"here's an email", "here is an email", "here's a draft", "here is a draft",
	"here's your email", "here is your email", "here's the email", "here is the email",
	"here's a cold email", "here is a cold email", "here's a personalized", "here is a personalized",
	"here's a revised", "here is a revised", "here's the revised", "here is the revised",
	"as an ai", "as a language model",
	"i apologize", "i'm sorry, but", "i am sorry, but",
	"feel free to customize", "feel free to adjust", "feel free to modify",
	"feel free to tweak", "feel free to edit", "feel free to personalize",
	"subject:", "subject line:", "email template", "this template",
}

// metaOpeners are meta text only at the very start of the body: "Sure!"
// opens a chat answer, while "sure" later in an email is just a word.
var metaOpeners = []string{
	"certainly!", "certainly,", "certainly.", "sure!", "sure,", "sure thing",
	"absolutely!", "of course!", "of course,", "great question",
}

// clichePhrases make an email read as mass-produced or machine-written.
var clichePhrases = []string{
	// Openers and follow-ups everyone skips.
	"hope this email finds you", "hope this message finds you", "hope this finds you",
	"hope you're doing well", "hope you are doing well", "hope all is well",
	"came across your profile", "i wanted to reach out", "i'm reaching out", "i am reaching out",
	"just checking in", "just following up", "just wanted to follow up",
	"touch base", "circle back", "pick your brain",
	// Buzzwords of model prose.
	"delve", "delves", "delving",
	"leverage", "leverages", "leveraging", "leveraged",
	"synergy", "synergies", "synergistic",
	"game-changer", "game changer", "game-changing", "game changing",
	"revolutionize", "revolutionizes", "revolutionizing", "revolutionise", "revolutionary",
	"cutting-edge", "cutting edge", "state-of-the-art", "best-in-class", "world-class",
	"unlock", "unlocks", "unlocking", "elevate", "elevates", "elevating",
	"supercharge", "supercharging", "unleash", "unleashing", "empower", "empowers", "empowering",
	"harness", "harnessing", "seamless", "seamlessly", "robust", "holistic", "transformative",
	"paradigm shift", "move the needle", "low-hanging fruit", "win-win", "no-brainer",
	"thought leader", "next level", "next-level", "tailored solution", "tailored solutions",
	"innovative solution", "innovative solutions", "look no further", "tapestry", "testament to",
	"navigate the complexities", "in the realm of", "embark", "at the end of the day",
	"fast-paced world", "in today's world", "ever-evolving", "ever-changing landscape",
}

// spamPhrases are what spam filters and wary readers key on. "Free" alone
// is not here: "feel free" and "are you free Tuesday?" are how people
// write; the offers are.
var spamPhrases = []string{
	"act now", "for free", "free trial", "free demo", "free consultation", "free gift",
	"free offer", "free access", "free of charge", "totally free", "completely free",
	"absolutely free", "guaranteed", "guarantee", "guarantees", "risk-free", "risk free",
	"100%", "click here", "click below", "limited time", "limited-time", "buy now",
	"order now", "call now", "don't miss out", "once in a lifetime", "no obligation",
	"no strings attached", "special promotion", "exclusive deal", "urgent", "winner",
	"you've been selected", "double your", "earn money", "make money", "lowest price",
}

// echoPhrases are the prompt or its plumbing showing through.
var echoPhrases = []string{
	"system prompt", "my instructions", "these instructions", "my guidelines",
	"ignore previous instructions", "ignore all previous instructions", "ignore the above",
	"begin prospect data", "end prospect data", "prospect_data",
}

// phraseKind says which rule a phrase belongs to.
type phraseKind uint8

const (
	kindMeta phraseKind = iota
	kindCliche
	kindSpam
	kindEcho
)

type phraseEntry struct {
	text string
	kind phraseKind
}

// phraseIndex maps the first word of every phrase to its entries, so a
// text is matched with one map look-up per word however long the lists
// grow. Built once at start-up and only read after.
var phraseIndex = buildPhraseIndex()

// phraseFirst has bit n of entry b set when a phrase's first word starts
// with byte b and is n bytes long (n capped at 63), so that most words of a
// text are passed over without a map look-up.
var phraseFirst = func() (t [256]uint64) {
	for key := range phraseIndex {
		t[key[0]] |= 1 << min(len(key), 63)
	}
	return t
}()

func buildPhraseIndex() map[string][]phraseEntry {
	idx := make(map[string][]phraseEntry)
	for _, l := range []struct {
		kind    phraseKind
		phrases []string
	}{
		{kindMeta, metaPhrases},
		{kindCliche, clichePhrases},
		{kindSpam, spamPhrases},
		{kindEcho, echoPhrases},
	} {
		for _, p := range l.phrases {
			key := p[:foldedWordEnd(p, 0)]
			idx[key] = append(idx[key], phraseEntry{text: p, kind: l.kind})
		}
	}
	return idx
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
