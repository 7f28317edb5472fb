package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemo runs the main job — a real server and client over loopback TLS —
// and checks its results and trace.
func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo"}, &out, &errOut); code != 0 {
		t.Fatalf("h2 demo exited %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		"(TLS, self-signed certificate)",
		`ALPN "h2", certificate verified`,
		"send connection preface",
		"send HEADERS stream=1",
		"GET /            → 200, 19 bytes",
		"POST /echo       → 200, 9 bytes",
		"trailers x-checksum: 42",
		"PING             → RTT",
		"recv GOAWAY stream=0 len=8 last_stream=2147483647 code=NO_ERROR",
		"server shut down gracefully, client connection closed (err=<nil>)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// TestDemoMemory runs the in-memory variant and checks its results and
// trace.
func TestDemoMemory(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "-mem"}, &out, &errOut); code != 0 {
		t.Fatalf("h2 demo exited %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		"connection preface",
		"HEADERS stream=1",
		"GET /            → 200, 19 bytes",
		"POST /echo       → 200, 9 bytes",
		"trailers x-checksum: 42",
		"PING             → RTT 20ms",
		"GOAWAY stream=0 len=8 last_stream=2147483647 code=NO_ERROR",
		"both sides closed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// TestDemoDeterministic: the virtual clock makes two in-memory runs
// byte-identical.
func TestDemoDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	run([]string{"demo", "-mem"}, &a, &a)
	run([]string{"demo", "-mem"}, &b, &b)
	if a.String() != b.String() {
		t.Fatal("two demo runs printed different traces")
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Errorf("no arguments: exit %d, stderr %q", code, errOut.String())
	}
	if code := run([]string{"nope"}, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if code := run([]string{"demo", "-q"}, &out, &errOut); code != 0 {
		t.Errorf("demo -q: exit %d", code)
	}
}
