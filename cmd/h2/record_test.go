package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
)

// clientPreface is what every server-side recording starts with (RFC 9113
// §3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Frame types seen in the recordings (RFC 9113 §6).
const (
	frameData     = 0x0
	frameHeaders  = 0x1
	frameSettings = 0x4
)

// frameTypes splits b, a whole recording without the client preface, into
// frames and returns their types; it fails if b does not end on a frame
// boundary.
func frameTypes(t *testing.T, b []byte) []byte {
	t.Helper()
	var types []byte
	for len(b) > 0 {
		if len(b) < 9 {
			t.Fatalf("recording ends with %d bytes of a frame header", len(b))
		}
		n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
		if len(b) < 9+n {
			t.Fatalf("recording ends inside a frame of type %#x: %d of %d payload bytes", b[3], len(b)-9, n)
		}
		types = append(types, b[3])
		b = b[9+n:]
	}
	return types
}

// recordings returns the base names of the files in dir, sorted.
func recordings(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// lineBuffer is a bytes.Buffer that a command writes while a test polls it.
type lineBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listeningOn = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+) \(h2c, prior knowledge, recording to `)

// TestServeRecord runs `h2 serve -h2c -record` itself on loopback, sends it
// a GET and a POST with `h2 get` (a connection each), stops it with
// SIGTERM as a user would, and checks the two recordings: one file per
// connection, in accept order, each the client preface followed by whole
// frames.
func TestServeRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	var stdout, stderr lineBuffer
	done := make(chan int, 1)
	go func() {
		done <- runWith([]string{"serve", "-h2c", "-addr", "127.0.0.1:0", "-record", dir, "-record-prefix", "srv"},
			strings.NewReader(""), &stdout, &stderr)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := listeningOn.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("h2 serve exited %d before listening: %s%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("h2 serve did not listen within 10 s: %q", stdout.String())
		}
	}

	code, out, errOut := runGet(t, "", "http://"+addr+"/")
	if code != 0 || !strings.Contains(out, helloBody) {
		t.Fatalf("GET /: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	// Serve accepts (and so answers) only once serve has set up its signal
	// handler: from here on SIGTERM stops it rather than the test.
	const body = "recorded body"
	code, out, errOut = runGet(t, "", "-d", body, "http://"+addr+"/echo")
	if code != 0 || !strings.Contains(out, body) {
		t.Fatalf("POST /echo: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("h2 serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("h2 serve did not stop within 15 s of SIGTERM")
	}
	if s := stderr.String(); s != "" {
		t.Errorf("h2 serve reported: %s", s)
	}

	if got, want := recordings(t, dir), []string{"srv-1.bin", "srv-2.bin"}; !slices.Equal(got, want) {
		t.Fatalf("recordings %q, want %q", got, want)
	}
	for i, wantData := range []bool{false, true} {
		name := filepath.Join(dir, fmt.Sprintf("srv-%d.bin", i+1))
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := bytes.CutPrefix(b, []byte(clientPreface))
		if !ok {
			t.Fatalf("%s does not start with the client preface: %q", name, b[:min(len(b), 32)])
		}
		types := frameTypes(t, rest)
		if len(types) == 0 || types[0] != frameSettings || !slices.Contains(types, frameHeaders) {
			t.Errorf("%s: frame types %v, want SETTINGS first and a HEADERS", name, types)
		}
		if hasData := slices.Contains(types, frameData); hasData != wantData {
			t.Errorf("%s: frame types %v: DATA present %v, want %v", name, types, hasData, wantData)
		}
		if wantData && !bytes.Contains(rest, []byte(body)) {
			t.Errorf("%s lacks the request body %q", name, body)
		}
	}
}

// TestServeRecordTLS: over TLS the recording is the plaintext, and the
// connection is still checked and served as HTTP/2 (the wrapper runs the
// handshake the server would have run).
func TestServeRecordTLS(t *testing.T) {
	dir := t.TempDir()
	addr := startRecordingServe(t, false, dir, "tls")
	code, out, errOut := runGet(t, "", "-k", "https://"+addr+"/")
	if code != 0 || !strings.Contains(out, helloBody) {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "tls-1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(clientPreface)) {
		t.Fatalf("recording does not start with the client preface: %q", b[:min(len(b), 32)])
	}
}

// startRecordingServe runs the `h2 serve` handler on loopback with its
// listener recording into dir, and returns its address.
func startRecordingServe(t *testing.T, h2c bool, dir, prefix string) string {
	t.Helper()
	rec, err := newRecorder(dir, prefix, "h2 serve", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := listen("127.0.0.1:0", h2c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := &h2.Server{Handler: &fileServer{}, Inline: true}
	go func() { _ = srv.Serve(rec.listener(l)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

// TestGetRecord: `h2 get -record` writes what the server sent, starting
// with its SETTINGS frame, to the next free file of the prefix, over h2c
// and over TLS (plaintext).
func TestGetRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b") // created by -record
	h2cAddr := startServe(t, true, "")
	tlsAddr := startServe(t, false, "")
	for _, args := range [][]string{
		{"http://" + h2cAddr + "/"},
		{"-d", "echo me", "http://" + h2cAddr + "/echo"},
		{"-k", "https://" + tlsAddr + "/nope"},
	} {
		code, out, errOut := runGet(t, "", append([]string{"-record", dir, "-record-prefix", "peer"}, args...)...)
		if code != 0 || errOut != "" {
			t.Fatalf("h2 get %q: exit %d\nstdout %q\nstderr %q", args, code, out, errOut)
		}
	}
	if got, want := recordings(t, dir), []string{"peer-1.bin", "peer-2.bin", "peer-3.bin"}; !slices.Equal(got, want) {
		t.Fatalf("recordings %q, want %q", got, want)
	}
	for i, want := range []string{helloBody, "echo me", "not found"} {
		name := filepath.Join(dir, fmt.Sprintf("peer-%d.bin", i+1))
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// A SETTINGS frame (type 0x4) without ACK on stream 0.
		if len(b) < 9 || b[3] != frameSettings || b[4] != 0 || binary.BigEndian.Uint32(b[5:9]) != 0 {
			t.Fatalf("%s does not start with the server's SETTINGS: % x", name, b[:min(len(b), 9)])
		}
		if types := frameTypes(t, b); !slices.Contains(types, frameHeaders) {
			t.Errorf("%s: frame types %v, want a HEADERS", name, types)
		}
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks the response body %q", name, want)
		}
	}
}

// TestRecorderNaming: numbers go on from the first free one, existing
// files are kept, and a prefix with a slash is refused.
func TestRecorderNaming(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"x-1.bin", "x-2.bin", "x-4.bin"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := newRecorder(dir, "x", "h2 test", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		f, err := rec.create()
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if got, want := recordings(t, dir), []string{"x-1.bin", "x-2.bin", "x-3.bin", "x-4.bin", "x-5.bin"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "x-4.bin")); string(b) != "old" {
		t.Errorf("x-4.bin was overwritten: %q", b)
	}
	for _, bad := range []string{"", "a/b", `a\b`} {
		if _, err := newRecorder(dir, bad, "h2 test", io.Discard); err == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
}

// TestRecordWriteErrorReportedOnce: a record file that cannot be written
// (/dev/full) does not disturb the connection, and the error is reported
// once for the whole command.
func TestRecordWriteErrorReportedOnce(t *testing.T) {
	var log lineBuffer
	rec, err := newRecorder(t.TempDir(), "x", "h2 test", &log)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Skip("no /dev/full:", err)
		}
		a, b := net.Pipe()
		c := &recordConn{Conn: a, rec: rec, f: full}
		go func() {
			_, _ = b.Write([]byte("one"))
			_, _ = b.Write([]byte("two"))
			b.Close()
		}()
		got, err := io.ReadAll(c)
		if string(got) != "onetwo" || err != nil {
			t.Fatalf("read %q, %v; want \"onetwo\"", got, err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if s := log.String(); strings.Count(s, "\n") != 1 || !strings.Contains(s, "h2 test: -record: ") || !strings.Contains(s, "no space left") {
		t.Errorf("report %q, want one line about the full device", s)
	}
}
