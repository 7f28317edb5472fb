package interop

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// h2specCases is the number of test cases of h2spec v2.2.1 (generic, HTTP/2
// and HPACK groups); --strict runs every one of them.
const h2specCases = 146

var h2specSummary = regexp.MustCompile(`(?m)^(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed\s*$`)

// TestH2spec runs h2spec --strict against `h2 serve`, over h2c and over
// TLS: every case must pass, none may be skipped.
func TestH2spec(t *testing.T) {
	h2spec := need(t, "h2spec")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := startServe(t, m.tls)
			report := filepath.Join(t.TempDir(), "report.xml")
			args := []string{"--strict", "-h", "127.0.0.1", "-p", portOf(addr), "-j", report}
			if m.tls {
				args = append(args, "-t", "-k")
			}
			start := time.Now()
			stdout, stderr, err := runTool(t, 60*time.Second, h2spec, args...)
			t.Logf("h2spec %s finished in %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
			out := stdout + stderr
			sm := h2specSummary.FindStringSubmatch(out)
			if sm == nil {
				t.Fatalf("h2spec printed no summary (err %v):\n%s", err, out)
			}
			t.Logf("h2spec: %s", sm[0])
			want := []string{strconv.Itoa(h2specCases), strconv.Itoa(h2specCases), "0", "0"}
			if sm[1] != want[0] || sm[2] != want[1] || sm[3] != want[2] || sm[4] != want[3] {
				t.Errorf("h2spec: %q, want %s tests, %s passed, %s skipped, %s failed\n%s",
					sm[0], want[0], want[1], want[2], want[3], h2specFailures(out))
			}
			if err != nil {
				t.Errorf("h2spec exited with %v", err)
			}
			checkJUnit(t, report)
		})
	}
}

// h2specFailures extracts what h2spec says about the cases that failed or
// were skipped: its "Failures:" section, else every line marked × or
// "skipped".
func h2specFailures(out string) string {
	if i := strings.Index(out, "Failures:"); i >= 0 {
		return out[i:]
	}
	var b strings.Builder
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, "×") || strings.Contains(strings.ToLower(line), "skipped") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// checkJUnit cross-checks h2spec's JUnit report: every case present, none
// failed, errored or skipped.
func checkJUnit(t *testing.T, report string) {
	t.Helper()
	b, err := os.ReadFile(report)
	if err != nil {
		t.Errorf("h2spec wrote no JUnit report: %v", err)
		return
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Cases    []struct {
				Name    string    `xml:"classname,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Errorf("h2spec JUnit report %s: %v", report, err)
		return
	}
	cases := 0
	for _, s := range doc.Suites {
		cases += len(s.Cases)
		if s.Tests != len(s.Cases) || s.Skipped+s.Failures+s.Errors != 0 {
			t.Errorf("h2spec report, %s: %d tests (%d listed), %d skipped, %d failed, %d errors",
				s.Name, s.Tests, len(s.Cases), s.Skipped, s.Failures, s.Errors)
		}
		for _, c := range s.Cases {
			if c.Failure != nil || c.Error != nil || c.Skipped != nil {
				t.Errorf("h2spec report, %s: %q did not pass", s.Name, c.Name)
			}
		}
	}
	if cases != h2specCases {
		t.Errorf("h2spec report lists %d cases, want %d", cases, h2specCases)
	}
}
