package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name string
		stat string
		want time.Duration
	}{
		{"OK", "4242 (ingren) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 9 0 100 0", 3800 * time.Millisecond},
		{"NameWithSpacesAndParens", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 0", 30 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("ErrTruncated", func(t *testing.T) {
		if _, err := parseStatCPU([]byte("1 (x) S 1 2")); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestParseHWM(t *testing.T) {
	got, err := parseHWM([]byte("Name:\tingren\nVmPeak:\t  900 kB\nVmHWM:\t   51234 kB\nVmRSS:\t 40000 kB\n"))
	if err != nil || got != 51234<<10 {
		t.Fatalf("got %d, %v", got, err)
	}
	if _, err := parseHWM([]byte("Name:\tx\n")); err == nil {
		t.Fatal("ErrNoHWM: no error")
	}
}

func TestParseWrk(t *testing.T) {
	out := "Running 10s test @ http://127.0.0.1:1/\n" +
		`BENCH_JSON {"requests":1000,"duration_us":10000000,"bytes":5,"errors":{"connect":1,"read":0,"write":0,"status":10,"timeout":2},` +
		`"latency_us":{"p50":1500,"p90":2000,"p99":9000,"p999":12000,"max":15000,"mean":1600.5}}` + "\n"
	r, err := parseWrk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 990 || r.Errors != 13 || r.Duration != 10*time.Second || r.P50 != 1500*time.Microsecond ||
		r.P99 != 9*time.Millisecond || r.Max != 15*time.Millisecond || r.RPS() != 99 {
		t.Fatalf("%+v", r)
	}
	if _, err := parseWrk([]byte("no line\n")); err == nil {
		t.Fatal("ErrNoLine: no error")
	}
}

func TestPercentiles(t *testing.T) {
	d := make([]time.Duration, 1000)
	for i := range d {
		d[i] = time.Duration(1000-i) * time.Millisecond // reversed: Percentiles sorts
	}
	p50, p90, p99, p999, top := Percentiles(d)
	if p50 != 500*time.Millisecond || p90 != 900*time.Millisecond || p99 != 990*time.Millisecond ||
		p999 != 999*time.Millisecond || top != time.Second {
		t.Fatalf("%v %v %v %v %v", p50, p90, p99, p999, top)
	}
	if a, _, _, _, _ := Percentiles(nil); a != 0 {
		t.Fatal("Empty: want zero")
	}
}

func TestSplice(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"Empty", "", StartMarker + "\nnew\n" + EndMarker + "\n"},
		{"NoMarkers", "# Title\n\nprose\n", "# Title\n\nprose\n\n" + StartMarker + "\nnew\n" + EndMarker + "\n"},
		{"KeepsProse", "# T\n\nbefore\n" + StartMarker + "\nold\ntable\n" + EndMarker + "\nafter\n",
			"# T\n\nbefore\n" + StartMarker + "\nnew\n" + EndMarker + "\nafter\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Splice([]byte(tc.doc), "\nnew\n\n")
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
	t.Run("ErrOutOfOrder", func(t *testing.T) {
		if _, err := Splice([]byte(EndMarker+"\n"+StartMarker), "x"); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Thousands(8123.4, 0), "8,123"},
		{Thousands(999, 0), "999"},
		{Thousands(1234567.891, 1), "1,234,567.9"},
		{Thousands(-4500, 0), "−4,500"},
		{Ms(1234 * time.Microsecond), "1.23 ms"},
		{Ms(45 * time.Millisecond), "45.0 ms"},
		{Ms(1500 * time.Millisecond), "1,500 ms"},
		{MiB(48 << 20), "48.0 MiB"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	tb := Table{Header: []string{"a", "b"}}
	tb.Add("x|y", "1")
	if want := "| a | b |\n| --- | --- |\n| x\\|y | 1 |\n"; tb.Markdown() != want {
		t.Errorf("table %q", strings.TrimSpace(tb.Markdown()))
	}
}

func TestParseProcStat(t *testing.T) {
	m, err := parseProcStat([]byte("cpu  100 5 50 9000 10 1 4 20 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"))
	if err != nil || m.Busy != 1600*time.Millisecond || m.Steal != 200*time.Millisecond {
		t.Fatalf("%+v, %v", m, err)
	}
	if _, err := parseProcStat([]byte("intr 1 2\n")); err == nil {
		t.Fatal("ErrNoCPULine: no error")
	}
}

func TestMerge(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	m := Merge(Run{Requests: 2, Errors: 1, Duration: time.Second, Latencies: ms(1, 3)},
		Run{Requests: 2, Duration: time.Second, Latencies: ms(2, 4)})
	if m.Requests != 4 || m.Errors != 1 || m.Duration != 2*time.Second || m.P50 != 2*time.Millisecond || m.Max != 4*time.Millisecond || m.RPS() != 2 {
		t.Fatalf("%+v", m)
	}
}
