package h2gnet

import (
	"bytes"
	"context"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
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

// TestH2spec runs h2spec --strict against the adapter (h2c): every case
// must pass, none may be skipped. The binary is $H2SPEC (scripts/test.sh
// installs it into .tools/), else ../../.tools/h2spec; without it the test
// is skipped, unless CI=true, where it fails.
func TestH2spec(t *testing.T) {
	h2spec := needH2spec(t)
	addr := startServer(t, &Server{Handler: testHandler{}, Loops: 1})
	_, port, _ := net.SplitHostPort(addr)
	report := filepath.Join(t.TempDir(), "report.xml")
	args := []string{"--strict", "-h", "127.0.0.1", "-p", port, "-j", report}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, h2spec, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	t.Logf("h2spec %s finished in %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	sm := h2specSummary.FindStringSubmatch(out.String())
	if sm == nil {
		t.Fatalf("h2spec printed no summary (err %v):\n%s", err, out.String())
	}
	t.Logf("h2spec: %s", sm[0])
	n := strconv.Itoa(h2specCases)
	if sm[1] != n || sm[2] != n || sm[3] != "0" || sm[4] != "0" {
		t.Errorf("h2spec: %q, want %s tests, %s passed, 0 skipped, 0 failed\n%s", sm[0], n, n, h2specFailures(out.String()))
	}
	if err != nil {
		t.Errorf("h2spec exited with %v", err)
	}
	checkJUnit(t, report)
}

func needH2spec(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("H2SPEC"); p != "" && isExecutable(p) {
		return p
	}
	if p, err := filepath.Abs(filepath.Join("..", "..", ".tools", "h2spec")); err == nil && isExecutable(p) {
		return p
	}
	const msg = "h2spec not found ($H2SPEC, ../../.tools/h2spec; scripts/test.sh installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true: a missing h2spec is a failure")
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// h2specFailures extracts what h2spec says about the cases that failed or
// were skipped.
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
