package interop

// Helpers shared by the interop tests: building the h2 command, finding and
// running the peers, fixtures, free ports.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// procTimeout bounds the life of every external process.
	procTimeout = 60 * time.Second
	// startTimeout bounds the wait for a server to accept connections.
	startTimeout = 10 * time.Second
	// stopTimeout bounds the wait for a server to exit after SIGTERM.
	stopTimeout = 10 * time.Second
	// pollInterval is the step of the (bounded) polls for a port to accept.
	pollInterval = 25 * time.Millisecond

	// helloBody is what `h2 serve` answers on "/".
	helloBody = "hello from h2proto\n"
)

var (
	// h2Bin is the `h2` command, built by TestMain with -race; buildErr
	// says why it could not be.
	h2Bin    string
	buildErr error

	// fixtureDir holds the files of fixtures (served by the peers, posted
	// by the clients).
	fixtureDir string
	fixtures   []fixture
)

// A fixture is a file of known content.
type fixture struct {
	name string
	size int
	sum  string // hex SHA-256
}

func (f fixture) path() string { return filepath.Join(fixtureDir, f.name) }

// bigFixture is the 10 MiB file of random bytes.
func bigFixture() fixture { return fixtures[len(fixtures)-1] }

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "h2interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	fixtureDir = filepath.Join(dir, "files")
	if err := writeFixtures(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: fixtures:", err)
		return 1
	}
	h2Bin = filepath.Join(dir, "h2")
	buildErr = buildH2(h2Bin)
	return m.Run()
}

// writeFixtures writes files of 0 B, 1 B, 16 KiB+1 (one byte more than a
// default-size DATA frame) and 10 MiB of random content.
func writeFixtures() error {
	if err := os.Mkdir(fixtureDir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		size int
	}{{"empty", 0}, {"one", 1}, {"frame-plus-one", 16<<10 + 1}, {"big", 10 << 20}} {
		b := make([]byte, f.size)
		_, _ = rand.Read(b)
		if err := os.WriteFile(filepath.Join(fixtureDir, f.name), b, 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		fixtures = append(fixtures, fixture{name: f.name, size: f.size, sum: hex.EncodeToString(sum[:])})
	}
	return nil
}

// buildH2 builds the h2 command with the race detector.
func buildH2(out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is not on PATH: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-race", "-o", out, "github.com/h2proto/h2/cmd/h2")
	cmd.WaitDelay = 5 * time.Second
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -race ./cmd/h2: %v\n%s", err, b)
	}
	return nil
}

// ciMode reports whether missing peers must fail the tests (CI=true).
func ciMode() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// need returns the path of the peer binary name, looked up on PATH and in
// the sbin directories (and, for h2spec, at $H2SPEC and ../.tools/h2spec).
// A missing peer skips the test, or fails it under CI=true.
func need(t testing.TB, name string) string {
	t.Helper()
	if p := lookTool(name); p != "" {
		return p
	}
	msg := fmt.Sprintf("%s not found on PATH or in /usr/sbin (scripts/test.sh installs the peers)", name)
	if name == "h2spec" {
		msg = "h2spec not found ($H2SPEC, ../.tools/h2spec, PATH; scripts/test.sh installs it)"
	}
	if ciMode() {
		t.Fatal(msg + "; CI=true: a missing peer is a failure")
	} else {
		t.Skip(msg)
	}
	return ""
}

func lookTool(name string) string {
	if name == "h2spec" {
		if p := os.Getenv("H2SPEC"); p != "" && isExecutable(p) {
			return p
		}
		if p, err := filepath.Abs(filepath.Join("..", ".tools", "h2spec")); err == nil && isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// freeAddr returns 127.0.0.1:PORT with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// syncBuffer is a bytes.Buffer safe for a process writing while a test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runTool runs a short-lived peer under a timeout and returns its standard
// output and error.
func runTool(t testing.TB, timeout time.Duration, path string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), min(timeout, procTimeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out after %v: %w", filepath.Base(path), time.Since(start).Round(time.Millisecond), err)
	}
	return o.String(), e.String(), err
}

// A proc is a long-running external process (a server).
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer // standard output and error
	cancel context.CancelFunc
	done   chan struct{} // closed when Wait returned
	err    error         // Wait's result, once done is closed
}

// startProc starts path under procTimeout; it is killed on cleanup if
// still running (see stop for a graceful stop).
func startProc(t testing.TB, name, path string, args ...string) *proc {
	t.Helper()
	// Not t.Context(): it is cancelled before the cleanups, which stop
	// the process gracefully first.
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	cmd := exec.CommandContext(ctx, path, args...)
	p := &proc{name: name, cmd: cmd, out: new(syncBuffer), cancel: cancel, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the process at once and waits for it (bounded by WaitDelay).
func (p *proc) kill() {
	p.cancel()
	<-p.done
}

// stop sends SIGTERM and waits up to stopTimeout for the process to exit,
// then kills it. It reports whether the process exited by itself.
func (p *proc) stop() bool {
	if p.exited() {
		p.cancel()
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		p.cancel()
		return true
	case <-timer.C:
		p.kill()
		return false
	}
}

// waitAccept polls, for at most startTimeout, until ready reports true (nil
// means at once) and addr accepts a TCP connection. It fails if the
// process exits first.
func (p *proc) waitAccept(addr string, ready func() bool) error {
	deadline := time.Now().Add(startTimeout)
	for i := 0; i < int(startTimeout/pollInterval)+1; i++ {
		if p.exited() {
			return fmt.Errorf("%s exited before accepting connections: %v", p.name, p.err)
		}
		if ready == nil || ready() {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				_ = c.Close()
				if p.exited() {
					return fmt.Errorf("%s exited: %v", p.name, p.err)
				}
				return nil
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(pollInterval)
	}
	return fmt.Errorf("%s did not accept connections on %s within %v", p.name, addr, startTimeout)
}

// bindFailed reports whether output says the address was taken (the free
// port went to someone else between freeAddr and the bind).
func bindFailed(output string) bool {
	s := strings.ToLower(output)
	return strings.Contains(s, "address already in use") || strings.Contains(s, "eaddrinuse")
}

// startServer starts a server process listening on a free port of
// 127.0.0.1: args(addr) makes its arguments, ready (may be nil) says it has
// bound its address. It retries with another port when the chosen one was
// taken meanwhile, and returns the process and its address.
func startServer(t testing.TB, name, path string, args func(addr string) []string, ready func(p *proc, addr string) bool) (*proc, string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		p := startProc(t, name, path, args(addr)...)
		var rdy func() bool
		if ready != nil {
			rdy = func() bool { return ready(p, addr) }
		}
		err := p.waitAccept(addr, rdy)
		if err == nil {
			return p, addr
		}
		p.kill()
		if attempt < 3 && bindFailed(p.out.String()) {
			t.Logf("%s: %s was taken, retrying on another port", name, addr)
			continue
		}
		t.Fatalf("%v\noutput of %s:\n%s", err, name, p.out)
	}
}

// startServe runs `h2 serve` (the race-enabled build) over h2c or TLS (a
// throwaway self-signed certificate) with extra flags, and returns its
// address. On cleanup it stops it with SIGTERM and fails the test if it
// reported a data race, did not exit in time, or exited with an error.
func startServe(t testing.TB, useTLS bool, extra ...string) string {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("building the h2 command: %v", buildErr)
	}
	p, addr := startServer(t, "h2 serve", h2Bin, func(addr string) []string {
		args := []string{"serve", "-addr", addr}
		if !useTLS {
			args = append(args, "-h2c")
		}
		return append(args, extra...)
	}, func(p *proc, addr string) bool {
		return strings.Contains(p.out.String(), "listening on "+addr)
	})
	t.Cleanup(func() { checkServeExit(t, p) })
	return addr
}

// checkServeExit stops an `h2 serve` process and checks how it ended.
func checkServeExit(t testing.TB, p *proc) {
	t.Helper()
	clean := p.stop()
	out := p.out.String()
	if strings.Contains(out, "DATA RACE") {
		t.Errorf("h2 serve reported a data race:\n%s", out)
		return
	}
	if !clean {
		t.Errorf("h2 serve did not exit within %v of SIGTERM (killed)\noutput:\n%s", stopTimeout, out)
		return
	}
	if p.err == nil {
		return
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return // ended by our signal before its handler was set
		}
	}
	t.Errorf("h2 serve exited with %v\noutput:\n%s", p.err, out)
}

// A mode is how a peer reaches a server: h2c (prior knowledge) or TLS.
type mode struct {
	name string
	tls  bool
}

var modes = []mode{{"h2c", false}, {"tls", true}}

func (m mode) url(addr, path string) string {
	if m.tls {
		return "https://" + addr + path
	}
	return "http://" + addr + path
}

// sumFile returns the hex SHA-256 and size of a file.
func sumFile(t testing.TB, name string) (string, int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), len(b)
}

// TestPeerVersions records the version of every peer the tests run.
func TestPeerVersions(t *testing.T) {
	t.Logf("go: %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, peer := range []struct{ name, flag string }{
		{"curl", "--version"},
		{"nghttp", "--version"},
		{"h2load", "--version"},
		{"nghttpd", "--version"},
		{"h2o", "--version"},
		{"h2spec", "--version"},
	} {
		t.Run(peer.name, func(t *testing.T) {
			path := need(t, peer.name)
			stdout, stderr, err := runTool(t, 10*time.Second, path, peer.flag)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s%s", peer.name, peer.flag, err, stdout, stderr)
			}
			out := strings.TrimSpace(stdout + stderr)
			if peer.name == "curl" {
				out, _, _ = strings.Cut(out, "\n")
			}
			if out == "" {
				t.Fatalf("%s %s printed nothing", peer.name, peer.flag)
			}
			if peer.name == "h2spec" {
				// A go-installed h2spec prints no real version; its build
				// information has the module's.
				if bi, err := buildinfo.ReadFile(path); err == nil {
					out += " (module " + bi.Main.Path + "@" + bi.Main.Version + ")"
				}
			}
			t.Logf("%s (%s): %s", peer.name, path, out)
		})
	}
}

// tbRecorder records what need does with a test instead of doing it.
type tbRecorder struct {
	testing.TB
	fatal, skip string
}

func (r *tbRecorder) Helper()           {}
func (r *tbRecorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }
func (r *tbRecorder) Skip(args ...any)  { r.skip = fmt.Sprint(args...) }

// TestNeed checks the peer lookup: a missing peer skips, or fails under
// CI=true; sbin directories and $H2SPEC are searched.
func TestNeed(t *testing.T) {
	const missing = "h2proto-no-such-peer"
	t.Setenv("CI", "true")
	r := &tbRecorder{TB: t}
	if p := need(r, missing); p != "" || r.fatal == "" || r.skip != "" {
		t.Errorf("CI=true, missing peer: need = %q, Fatal %q, Skip %q; want a failure, not a skip", p, r.fatal, r.skip)
	}
	t.Setenv("CI", "")
	r = &tbRecorder{TB: t}
	if p := need(r, missing); p != "" || r.fatal != "" || r.skip == "" {
		t.Errorf("CI unset, missing peer: need = %q, Fatal %q, Skip %q; want a skip", p, r.fatal, r.skip)
	}

	fake := filepath.Join(t.TempDir(), "h2spec")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("H2SPEC", fake)
	if p := lookTool("h2spec"); p != fake {
		t.Errorf("H2SPEC=%s: lookTool(h2spec) = %q", fake, p)
	}

	if isExecutable("/usr/sbin/nghttpd") {
		t.Setenv("PATH", t.TempDir())
		if p := lookTool("nghttpd"); p != "/usr/sbin/nghttpd" {
			t.Errorf("nghttpd in /usr/sbin, not on PATH: lookTool = %q", p)
		}
	}
}
