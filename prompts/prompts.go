// Package prompts holds the prompt templates as plain files a user edits.
// They are embedded in every binary; PROMPTS_DIR points at a folder of
// replacements.
package prompts

import "embed"

// FS holds the default prompt templates.
//
//go:embed *.txt
var FS embed.FS
