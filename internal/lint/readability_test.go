package lint_test

import (
	"math"
	"testing"

	"github.com/ingren/ingren/internal/lint"
)

func TestReadingGrade(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want float64 // Flesch–Kincaid with true syllable counts
		tol  float64
	}{
		{"Empty", "", 0, 0},
		// 6 words, 1 sentence, 6 syllables.
		{"CatOnMat", "The cat sat on the mat.", 0.39*6 + 11.8*1 - 15.59, 0.01},
		// 7 words, 2 sentences, 7 syllables.
		{"TwoSentences", "This is a test. It is short.", 0.39*3.5 + 11.8*1 - 15.59, 0.01},
		// Greeting and sign-off lines are sentences: 5 words, 3 sentences,
		// 7 syllables (Sa-rah, A-lex).
		{"Lines", "Hi Sarah,\nThanks.\nBest Alex", 0.39*5/3 + 11.8*7/5 - 15.59, 0.01},
		// A standard example: 20 words, 1 sentence, 44 syllables.
		{"Hard", "Existing computer programs that measure readability are based largely upon subroutines which estimate number of syllables, usually by counting vowels.",
			0.39*20 + 11.8*44/20 - 15.59, 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lint.ReadingGrade(tt.in); math.Abs(got-tt.want) > tt.tol {
				t.Errorf("ReadingGrade = %.3f, want %.3f ± %.2f", got, tt.want, tt.tol)
			}
		})
	}
}

// The syllable heuristic, through ReadingGrade: one word, one sentence, so
// grade = 0.39 + 11.8 × syllables − 15.59.
func TestReadingGradeSyllables(t *testing.T) {
	tests := map[string]int{
		"make": 1, "table": 2, "jumped": 1, "wanted": 2, "makes": 1, "boxes": 2, "tables": 2,
		"free": 1, "the": 1, "readability": 5, "estimate": 3, "measure": 2, "2023": 1,
		"cutting-edge": 3, "calendly.com": 4, "don't": 1,
	}
	for w, want := range tests {
		t.Run(w, func(t *testing.T) {
			got := (lint.ReadingGrade(w) - 0.39 + 15.59) / 11.8
			if math.Abs(got-float64(want)) > 1e-9 {
				t.Errorf("syllables(%q) = %.2f, want %d", w, got, want)
			}
		})
	}
}
