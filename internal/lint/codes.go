package lint

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
