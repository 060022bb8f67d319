package lint_test

import (
	"slices"
	"testing"

	"github.com/ingren/ingren/internal/lint"
)

func TestReportAdd(t *testing.T) {
	errorF := lint.Finding{Code: lint.CodeWrongName, Severity: lint.SeverityError}
	warning := lint.Finding{Code: lint.CodeCliche, Severity: lint.SeverityWarning}
	info := lint.Finding{Code: lint.CodeSubjectManyWords, Severity: lint.SeverityInfo}
	added := lint.Finding{Code: lint.CodeRepeatedPitch, Severity: lint.SeverityError}
	tests := []struct {
		name      string
		report    lint.Report
		add       lint.Finding
		wantCodes []string
		wantScore int
	}{
		{name: "OKErrorGoesFirst", report: lint.Report{Score: 62, Findings: []lint.Finding{errorF, warning}}, add: added,
			wantCodes: []string{lint.CodeRepeatedPitch, lint.CodeWrongName, lint.CodeCliche}, wantScore: 32},
		{name: "OKWarningAfterTheErrors", report: lint.Report{Score: 68, Findings: []lint.Finding{errorF, info}}, add: warning,
			wantCodes: []string{lint.CodeWrongName, lint.CodeCliche, lint.CodeSubjectManyWords}, wantScore: 60},
		{name: "OKScoreFloorsAtZero", report: lint.Report{Score: 10, Findings: []lint.Finding{errorF, errorF, errorF}}, add: added,
			wantCodes: []string{lint.CodeRepeatedPitch, lint.CodeWrongName, lint.CodeWrongName, lint.CodeWrongName}, wantScore: 0},
		{name: "OKToAReportWithoutFindings", report: lint.Report{Score: 100, Findings: []lint.Finding{}}, add: added,
			wantCodes: []string{lint.CodeRepeatedPitch}, wantScore: 70},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.report
			r.Add(tt.add)
			var codes []string
			for _, f := range r.Findings {
				codes = append(codes, f.Code)
			}
			if !slices.Equal(codes, tt.wantCodes) || r.Score != tt.wantScore {
				t.Errorf("findings %v, score %d; want %v, %d", codes, r.Score, tt.wantCodes, tt.wantScore)
			}
		})
	}
}
