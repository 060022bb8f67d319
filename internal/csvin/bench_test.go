package csvin_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/ingren/ingren/internal/csvin"
)

// BenchmarkRead reads a 10,000-row export, the largest campaign, with
// Apollo's width of columns.
func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("First Name,Last Name,Title,Company,Email,# Employees,Industry,Keywords,Person Linkedin Url,Website,City,Country,Technologies,Annual Revenue,Latest Funding\n")
	for i := range 10_000 {
		fmt.Fprintf(&buf, "Pat%d,Lee,Head of Sales,Co%d Inc,pat%d@co.example,\"1,200\",Software,\"data, pipelines\",https://linkedin.example/in/pat%d,co%d.example,Austin,United States,\"AWS, dbt\",$5M,Series A\n", i, i, i, i, i)
	}
	file := buf.Bytes()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		tab, err := csvin.Read(file, nil)
		if err != nil || len(tab.Rows) != 10_000 {
			b.Fatalf("%d rows, %v", len(tab.Rows), err)
		}
	}
}
