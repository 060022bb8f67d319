package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Markers delimit the generated part of BENCHMARKS.md; the prose around
// them is kept.
const (
	StartMarker = "<!-- bench:start -->"
	EndMarker   = "<!-- bench:end -->"
)

// Splice replaces what lies between the markers in doc with section, or
// appends the markers and section when doc has none.
func Splice(doc []byte, section string) ([]byte, error) {
	block := StartMarker + "\n" + strings.TrimSpace(section) + "\n" + EndMarker
	i := bytes.Index(doc, []byte(StartMarker))
	j := bytes.Index(doc, []byte(EndMarker))
	switch {
	case i < 0 && j < 0:
		out := bytes.TrimRight(doc, "\n")
		if len(out) > 0 {
			out = append(out, "\n\n"...)
		}
		return append(out, block+"\n"...), nil
	case i < 0 || j < i:
		return nil, fmt.Errorf("%s and %s are missing or out of order", StartMarker, EndMarker)
	}
	var out bytes.Buffer
	out.Write(doc[:i])
	out.WriteString(block)
	out.Write(doc[j+len(EndMarker):])
	return out.Bytes(), nil
}

// Machine describes where the numbers were taken.
type Machine struct {
	Date      time.Time
	NProc     int
	CPU       string
	GoVersion string
	Kernel    string
	// LoadAvg is /proc/loadavg's 1-minute figure at the start: other
	// work on the machine.
	LoadAvg string
	Commit  string
}

// ThisMachine reads the machine's description; dir is the repository, for
// the commit.
func ThisMachine(dir string) Machine {
	m := Machine{Date: time.Now().UTC(), NProc: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadAvg = LoadAvg()
	cmd := exec.Command("git", "describe", "--always", "--dirty", "--abbrev=12")
	cmd.Dir = dir
	if b, err := cmd.Output(); err == nil {
		m.Commit = strings.TrimSpace(string(b))
	}
	return m
}

// LoadAvg returns the 1-, 5- and 15-minute load averages.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Table is a markdown table.
type Table struct {
	Header []string
	Rows   [][]string
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// Markdown renders the table. Pipes in cells are escaped.
func (t *Table) Markdown() string {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	sep := make([]string, len(t.Header))
	for i := range sep {
		sep[i] = "---"
	}
	row(sep)
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

// Ms formats d in milliseconds, with precision to match its size.
func Ms(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 0:
		return "−" + Ms(-d)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return Thousands(ms, 0) + " ms"
	}
}

// Thousands formats f with prec decimals and a comma between thousands.
func Thousands(f float64, prec int) string {
	s := fmt.Sprintf("%.*f", prec, f)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "−" + out
	}
	return out
}

// MiB formats bytes in mebibytes.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
