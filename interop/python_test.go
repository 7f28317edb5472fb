package interop

// python-hyper's h2 (the sans-IO HTTP/2 library, Debian's python3-h2) on
// both sides: its client against `h2 serve` over h2c and TLS, and our client
// against a server built on it (h2c). The peer is testdata/h2peer.py, run by
// the system interpreter, /usr/bin/python3, which has the Debian package
// (a python3 earlier on PATH, such as pyenv's, may not).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
)

const (
	// pythonPath is the interpreter that has python3-h2.
	pythonPath = "/usr/bin/python3"
	// pyPeerScript is the peer, relative to the package directory (where
	// go test runs).
	pyPeerScript = "testdata/h2peer.py"
	// pyPayloadSize is the size of the bodies posted to the echo handlers.
	pyPayloadSize = 1 << 20
	// pySliceSize is the size of the slices of the payload the Python
	// client posts on its concurrent streams (slice i starts at i*pySliceSize).
	pySliceSize = 50000
	// pyStreams is the number of streams the Python client opens at once.
	pyStreams = 20
)

// pythonH2Version runs the peer's version command once: the version of the
// h2 library /usr/bin/python3 imports, or why there is none.
var pythonH2Version = sync.OnceValues(func() (string, error) {
	if !isExecutable(pythonPath) {
		return "", fmt.Errorf("%s not found", pythonPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonPath, pyPeerScript, "version")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s cannot import h2 (install python3-h2): %v\n%s", pythonPath, err, out)
	}
	return strings.TrimSpace(string(out)), nil
})

// needPythonH2 returns the interpreter with python-hyper's h2, skipping the
// test without it (failing it under CI=true), as need does for binaries.
func needPythonH2(t *testing.T) string {
	t.Helper()
	version, err := pythonH2Version()
	if err != nil {
		if ciMode() {
			t.Fatalf("%v; CI=true: a missing peer is a failure", err)
		}
		t.Skip(err)
	}
	t.Logf("python-hyper h2 %s (%s)", version, pythonPath)
	return pythonPath
}

// writePayload writes pyPayloadSize random bytes to a temporary file and
// returns its name and content.
func writePayload(t *testing.T) (string, []byte) {
	t.Helper()
	payload := make([]byte, pyPayloadSize)
	_, _ = rand.Read(payload)
	name := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(name, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	return name, payload
}

func hexSum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// pyResponse is one response as the Python client reports it.
type pyResponse struct {
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	SentLen  int         `json:"sent_len"`
	Status   int         `json:"status"`
	Headers  [][2]string `json:"headers"`
	Len      int         `json:"len"`
	SHA256   string      `json:"sha256"`
	BodyText *string     `json:"body_text"`
	Trailers [][2]string `json:"trailers"`
	Ended    bool        `json:"ended"`
	Reset    *int        `json:"reset"`
}

// check compares a response with what was expected of it.
func (r *pyResponse) check(t *testing.T, what string, wantLen int, wantSum string, wantTrailers [][2]string) {
	t.Helper()
	if r.Reset != nil {
		t.Errorf("%s: stream reset with code %d", what, *r.Reset)
		return
	}
	if !r.Ended {
		t.Errorf("%s: the stream did not end", what)
	}
	if r.Status != 200 {
		t.Errorf("%s: status %d, want 200", what, r.Status)
	}
	if len(r.Headers) == 0 || r.Headers[0] != [2]string{":status", "200"} {
		t.Errorf("%s: header fields %q, want :status first", what, r.Headers)
	}
	if r.Len != wantLen || r.SHA256 != wantSum {
		t.Errorf("%s: %d bytes with SHA-256 %s, want %d with %s", what, r.Len, r.SHA256, wantLen, wantSum)
	}
	if !equalFields(r.Trailers, wantTrailers) {
		t.Errorf("%s: trailers %q, want %q", what, r.Trailers, wantTrailers)
	}
}

func equalFields(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pyClientResult is what the Python client prints.
type pyClientResult struct {
	H2Version    string         `json:"h2_version"`
	Python       string         `json:"python"`
	ALPN         string         `json:"alpn"`
	TLSVersion   string         `json:"tls_version"`
	Get          pyResponse     `json:"get"`
	Post         pyResponse     `json:"post"`
	PostSeconds  float64        `json:"post_seconds"`
	Trailers     pyResponse     `json:"trailers"`
	TrailersSent [][2]string    `json:"trailers_sent"`
	OpenAtOnce   int            `json:"open_at_once"`
	Concurrent   []pyResponse   `json:"concurrent"`
	PeerSettings map[string]int `json:"peer_settings"`
	GoAway       any            `json:"goaway_received"`
	ServerClosed bool           `json:"server_closed"`
}

// TestPythonClient: python-hyper's h2 client, over a plain socket (h2c,
// prior knowledge) and over ssl (ALPN h2, no verification), against `h2
// serve` on one connection each: GET /, a POST of 1 MiB to /echo, a POST
// whose trailers come back as the response's, and 20 streams at once.
func TestPythonClient(t *testing.T) {
	py := needPythonH2(t)
	payloadFile, payload := writePayload(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := startServe(t, m.tls)
			args := []string{pyPeerScript, "client", "--addr", addr, "--payload", payloadFile,
				"--streams", strconv.Itoa(pyStreams), "--timeout", "30"}
			if m.tls {
				args = append(args, "--tls")
			}
			stdout, stderr, err := runTool(t, 40*time.Second, py, args...)
			if err != nil {
				t.Fatalf("python h2 client: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			var res pyClientResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("python h2 client: its output is not the JSON expected: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			if stderr != "" {
				t.Logf("python h2 client stderr:\n%s", stderr)
			}
			t.Logf("python %s, h2 %s; TLS %q ALPN %q; server SETTINGS %v; 1 MiB echoed in %.3fs",
				res.Python, res.H2Version, res.TLSVersion, res.ALPN, res.PeerSettings, res.PostSeconds)
			if m.tls && res.ALPN != "h2" {
				t.Errorf("ALPN %q, want h2", res.ALPN)
			}

			res.Get.check(t, "GET /", len(helloBody), hexSum([]byte(helloBody)), nil)
			if res.Get.BodyText == nil || *res.Get.BodyText != helloBody {
				t.Errorf("GET /: body %v, want %q", res.Get.BodyText, helloBody)
			}
			res.Post.check(t, "POST /echo (1 MiB)", len(payload), hexSum(payload), nil)
			if res.Post.SentLen != len(payload) {
				t.Errorf("POST /echo: the client sent %d bytes, want %d", res.Post.SentLen, len(payload))
			}
			body := payload[:100000]
			wantTrailers := [][2]string{{"x-request-sha256", hexSum(body)}, {"x-trailer-test", "python h2"}}
			if !equalFields(res.TrailersSent, wantTrailers) {
				t.Errorf("the client sent trailers %q, want %q", res.TrailersSent, wantTrailers)
			}
			res.Trailers.check(t, "POST /echo with trailers", len(body), hexSum(body), wantTrailers)

			if res.OpenAtOnce != pyStreams {
				t.Errorf("%d streams open at once, want %d", res.OpenAtOnce, pyStreams)
			}
			if len(res.Concurrent) != pyStreams {
				t.Fatalf("%d concurrent responses, want %d", len(res.Concurrent), pyStreams)
			}
			for i, r := range res.Concurrent {
				if i%2 == 0 {
					r.check(t, fmt.Sprintf("stream %d of %d: GET /", i, pyStreams), len(helloBody), hexSum([]byte(helloBody)), nil)
					continue
				}
				slice := payload[i*pySliceSize : (i+1)*pySliceSize]
				r.check(t, fmt.Sprintf("stream %d of %d: POST /echo", i, pyStreams), len(slice), hexSum(slice), nil)
			}
			if res.GoAway != nil {
				t.Errorf("the server sent GOAWAY %v before the client closed", res.GoAway)
			}
			if !res.ServerClosed {
				t.Errorf("the server did not close the connection after the client's GOAWAY")
			}
		})
	}
}

// pyListening is the Python server's line saying where it listens.
var pyListening = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// startPythonServer runs the Python server (h2c, prior knowledge) on a port
// the kernel chose and returns it and its address. On cleanup it is stopped
// with SIGTERM; the test fails if it reported an error, an exception, or
// did not exit cleanly.
func startPythonServer(t *testing.T, py string) (*proc, string) {
	t.Helper()
	p := startProc(t, "python h2 server", py, pyPeerScript, "server", "--timeout", "50")
	t.Cleanup(func() {
		clean := p.stop()
		out := p.out.String()
		if !clean {
			t.Errorf("python h2 server did not exit within %v of SIGTERM (killed)\noutput:\n%s", stopTimeout, out)
		} else if p.err != nil {
			t.Errorf("python h2 server exited with %v\noutput:\n%s", p.err, out)
		}
		if strings.Contains(out, "ERROR:") || strings.Contains(out, "Traceback") {
			t.Errorf("python h2 server reported errors:\noutput:\n%s", out)
		} else if t.Failed() || testing.Verbose() {
			t.Logf("python h2 server output:\n%s", out)
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		if m := pyListening.FindStringSubmatch(p.out.String()); m != nil {
			return p, m[1]
		}
		if p.exited() {
			t.Fatalf("python h2 server exited before listening: %v\noutput:\n%s", p.err, p.out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("python h2 server did not listen within %v\noutput:\n%s", startTimeout, p.out)
		}
		time.Sleep(pollInterval)
	}
}

// pyPattern is the Python server's body for /size/n: block k (32 bytes) is
// SHA-256("h2proto-python-interop" || k as 8 bytes big-endian), cut to n.
func pyPattern(n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	var in []byte
	for k := 0; len(out) < n; k++ {
		in = binary.BigEndian.AppendUint64(append(in[:0], "h2proto-python-interop"...), uint64(k))
		sum := sha256.Sum256(in)
		out = append(out, sum[:]...)
	}
	return out[:n]
}

// TestOurClientPython: our client (h2.Dial, h2c prior knowledge) against a
// server on python-hyper's h2: GET /size/N for 0 B, 1 B, 16 KiB+1 and 1 MiB,
// one by one and then all at once, each with its trailers; then 1 MiB
// posted to /echo, ended once with END_STREAM and once with trailers, which
// come back.
func TestOurClientPython(t *testing.T) {
	py := needPythonH2(t)
	p, addr := startPythonServer(t, py)
	_, payload := writePayload(t)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := h2.Dial(ctx, addr, &h2.ClientOptions{H2C: true})
	if err != nil {
		t.Fatalf("h2.Dial %s: %v", addr, err)
	}
	defer c.Close()
	t.Logf("python server's SETTINGS: %+v", c.PeerSettings())

	sizes := []int{0, 1, 16<<10 + 1, 1 << 20}
	for _, n := range sizes {
		if err := fetchPattern(ctx, c, n); err != nil {
			t.Errorf("one by one: %v", err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 3*len(sizes))
	for i := range errs {
		wg.Go(func() { errs[i] = fetchPattern(ctx, c, sizes[i%len(sizes)]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("%d at once: %v", len(errs), err)
		}
	}

	start := time.Now()
	if err := postPythonEcho(ctx, c, payload, nil); err != nil {
		t.Errorf("%v", err)
	}
	t.Logf("POST /echo: 1 MiB up and back in %v", time.Since(start).Round(time.Millisecond))
	trailers := []h2.HeaderField{{Name: "x-client-sha256", Value: hexSum(payload)}, {Name: "x-trailer-test", Value: "h2proto"}}
	if err := postPythonEcho(ctx, c, payload, trailers); err != nil {
		t.Errorf("with trailers: %v", err)
	}

	if err := c.CheckInvariants(); err != nil {
		t.Errorf("after the requests: %v", err)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection error: %v", err)
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := c.Shutdown(sctx); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection ended with %v", err)
	}
	// The server logs the GOAWAY of our graceful shutdown; wait (bounded)
	// for it before the cleanup stops the server.
	const goAwayLine = "graceful GOAWAY from the client"
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.out.String(), goAwayLine) && time.Now().Before(deadline) && !p.exited() {
		time.Sleep(pollInterval)
	}
	if !strings.Contains(p.out.String(), goAwayLine) {
		t.Errorf("the python server did not see our GOAWAY(NO_ERROR)\n%s", p.out)
	}
}

// fetchPattern GETs /size/n from the Python server and checks the status,
// content-length, body and trailers.
func fetchPattern(ctx context.Context, c *h2.Conn, n int) error {
	path := "/size/" + strconv.Itoa(n)
	s, err := c.Request(ctx, c.NewRequest("GET", path), &h2.RequestOptions{EndStream: true})
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		return fmt.Errorf("GET %s: response: %w", path, err)
	}
	body, err := s.ReadAll()
	if err != nil {
		return fmt.Errorf("GET %s: body after %d bytes: %w", path, len(body), err)
	}
	if err := waitStream(ctx, s); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.Status != 200 {
		return fmt.Errorf("GET %s: status %d, want 200", path, resp.Status)
	}
	if cl := resp.Get("content-length"); cl != strconv.Itoa(n) {
		return fmt.Errorf("GET %s: content-length %q, want %d", path, cl, n)
	}
	want := pyPattern(n)
	if !bytes.Equal(body, want) {
		return fmt.Errorf("GET %s: %d bytes with SHA-256 %s, want %d with %s", path, len(body), hexSum(body), n, hexSum(want))
	}
	if err := checkTrailers(s.Trailers(), [][2]string{{"x-sha256", hexSum(want)}, {"x-size", strconv.Itoa(n)}}); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// postPythonEcho posts payload to the Python server's /echo, writing while
// the echo streams back, ending with END_STREAM (trailers nil, with a
// content-length) or with trailers; it checks the echoed body, and the
// response's trailers: ours, then the server's x-sha256 and x-size of what
// it received.
func postPythonEcho(ctx context.Context, c *h2.Conn, payload []byte, trailers []h2.HeaderField) error {
	extra := []h2.HeaderField{{Name: "content-type", Value: "application/octet-stream"}}
	if trailers == nil {
		extra = append(extra, h2.HeaderField{Name: "content-length", Value: strconv.Itoa(len(payload))})
	}
	s, err := c.Request(ctx, c.NewRequest("POST", "/echo", extra...), nil)
	if err != nil {
		return fmt.Errorf("POST /echo: %w", err)
	}
	sent := make(chan error, 1)
	go func() {
		if _, err := s.WriteContext(ctx, payload); err != nil {
			sent <- err
			return
		}
		if trailers != nil {
			sent <- s.WriteTrailers(trailers)
			return
		}
		sent <- s.CloseWrite()
	}()
	resp, err := s.Response(ctx)
	if err != nil {
		_ = s.Cancel()
		<-sent
		return fmt.Errorf("POST /echo: response: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, s)
	if err != nil {
		_ = s.Cancel()
		<-sent
		return fmt.Errorf("POST /echo: body after %d bytes: %w", n, err)
	}
	if err := <-sent; err != nil {
		return fmt.Errorf("POST /echo: sending the body: %w", err)
	}
	if err := waitStream(ctx, s); err != nil {
		return fmt.Errorf("POST /echo: %w", err)
	}
	if resp.Status != 200 {
		return fmt.Errorf("POST /echo: status %d, want 200", resp.Status)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n != int64(len(payload)) || sum != hexSum(payload) {
		return fmt.Errorf("POST /echo: echoed %d bytes with SHA-256 %s, sent %d with %s", n, sum, len(payload), hexSum(payload))
	}
	var want [][2]string
	for _, f := range trailers {
		want = append(want, [2]string{f.Name, f.Value})
	}
	want = append(want, [2]string{"x-sha256", hexSum(payload)}, [2]string{"x-size", strconv.Itoa(len(payload))})
	if err := checkTrailers(s.Trailers(), want); err != nil {
		return fmt.Errorf("POST /echo: %w", err)
	}
	return nil
}

// waitStream waits (bounded by ctx) for the stream to end and returns its
// error.
func waitStream(ctx context.Context, s *h2.Stream) error {
	select {
	case <-s.Done():
	case <-ctx.Done():
		return fmt.Errorf("the stream did not end after the body: %w", ctx.Err())
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("stream ended with %w", err)
	}
	return nil
}

func checkTrailers(got []h2.HeaderField, want [][2]string) error {
	g := make([][2]string, len(got))
	for i, f := range got {
		g[i] = [2]string{f.Name, f.Value}
	}
	if !equalFields(g, want) {
		return fmt.Errorf("trailers %q, want %q", g, want)
	}
	return nil
}
