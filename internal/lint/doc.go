// Package lint checks a generated cold email before it is sent. The checks
// are deterministic, use no model and take microseconds, so every draft can
// be checked and a failing one repaired before anyone sees it.
//
// What it looks for comes from what sales people recognise as bad AI email
// and from reply-rate research: template placeholders and model chatter
// ("Here's an email"), markdown, clichés, spam triggers, emails far from the
// 50–125 words that get answers, more than one link or question, a greeting
// to the wrong person, numbers and names the request never gave, and text
// copied from the system prompt. Errors mean the email must not be sent as
// is; warnings and infos lower the score.
//
// The word lists are English; a body in another language gets fewer hits,
// not false ones, except for the rules that look at form (placeholders,
// markdown, length, links, numbers).
//
// One file per check, each named for it, besides lint.go (Check, Report,
// the score) and codes.go (every finding code and its severity):
//
//   - length.go: empty_subject, empty_body, subject_multiline, too_long,
//     too_short, subject_too_long, subject_too_many_words
//   - placeholders.go: placeholder; HTML tags and "[1]" citation markers,
//     reported as markdown
//   - markdown.go: markdown, bullet_list
//   - phrases.go: the phrase lists and the rules that match them: meta_text,
//     cliche, spam_phrase, and prompt_echo for the prompt's own words
//   - echo.go: prompt_echo for runs of the system prompt, its fences and
//     chat-template tokens
//   - greeting.go: wrong_name
//   - numbers.go: invented_fact
//   - names.go: possible_invented_name
//   - shouting.go: all_caps, exclamation
//   - links.go: too_many_links
//   - questions.go: too_many_questions
//
// The rules share the text prepared once per Check (checker.go, which also
// sets the order they run in) and these helpers: quote.go (how a message
// quotes the email), fold.go (lower-casing and normalising for phrase
// matching), tokens.go (words, for the name and capitals rules), fields.go
// (whitespace-separated fields, for Words and the length, link, number and
// question rules), readability.go (ReadingGrade) and ascii.go (byte
// tables).
package lint
