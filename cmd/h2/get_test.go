package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core/frame"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// startServe runs the `h2 serve` handler on loopback, h2c or TLS.
func startServe(t *testing.T, h2c bool, dir string) string {
	t.Helper()
	l, _, err := listen("127.0.0.1:0", h2c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := &h2.Server{Handler: &fileServer{dir: dir}, Inline: true}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

func runGet(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runWith(append([]string{"get"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestGetAgainstServe(t *testing.T) {
	dir := t.TempDir()
	file := bytes.Repeat([]byte("0123456789"), 10_000)
	if err := os.WriteFile(filepath.Join(dir, "f.bin"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	h2cAddr := startServe(t, true, dir)
	tlsAddr := startServe(t, false, dir)

	t.Run("h2c_GET_root", func(t *testing.T) {
		code, out, errOut := runGet(t, "", "http://"+h2cAddr+"/")
		if code != 0 || !strings.Contains(out, ":status: 200") || !strings.Contains(out, helloBody) {
			t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
	})
	t.Run("TLS_-k_POST_echo_from_stdin_with_trace", func(t *testing.T) {
		code, out, errOut := runGet(t, "ping pong", "-k", "-v", "-d", "-", "-H", "x-test: 1", "https://"+tlsAddr+"/echo")
		for _, want := range []string{"send HEADERS stream=1", "x-test: 1", "recv DATA stream=1", ":status: 200", "ping pong"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("h2c_file_to_-o", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "out")
		code, _, errOut := runGet(t, "", "-o", dst, "http://"+h2cAddr+"/f.bin")
		got, _ := os.ReadFile(dst)
		if code != 0 || !bytes.Equal(got, file) {
			t.Fatalf("exit %d, %d bytes of %d: %s", code, len(got), len(file), errOut)
		}
	})
	t.Run("missing_file_is_404", func(t *testing.T) {
		code, out, _ := runGet(t, "", "http://"+h2cAddr+"/nope")
		if code != 0 || !strings.Contains(out, ":status: 404") {
			t.Fatalf("exit %d: %q", code, out)
		}
	})
	t.Run("path_escape_is_404", func(t *testing.T) {
		code, out, _ := runGet(t, "", "http://"+h2cAddr+"/../../etc/passwd")
		if code != 0 || !strings.Contains(out, ":status: 404") {
			t.Fatalf("exit %d: %q", code, out)
		}
	})
	t.Run("unverified_certificate_is_one_clear_line", func(t *testing.T) {
		code, _, errOut := runGet(t, "", "https://"+tlsAddr+"/")
		if code == 0 || !strings.Contains(errOut, "certificate") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestGetErrorsAreOneLine(t *testing.T) {
	t.Run("connection_refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		code, _, errOut := runGet(t, "", "http://"+addr+"/")
		if code != 1 || !strings.Contains(errOut, "connection refused") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("ALPN_mismatch_names_the_protocol", func(t *testing.T) {
		cert, err := h2tls.SelfSigned()
		if err != nil {
			t.Fatal(err)
		}
		l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		code, _, errOut := runGet(t, "", "-k", "https://"+l.Addr().String()+"/")
		if code != 1 || !strings.Contains(errOut, `"http/1.1"`) || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("GOAWAY_names_its_code", func(t *testing.T) {
		l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			var out []byte
			out = frame.AppendSettings(out, nil)
			out = frame.AppendGoAway(out, 0, frame.ErrCodeProtocol, []byte("go away"))
			_, _ = c.Write(out)
			_, _ = c.Read(buf) // until the client closes
		}()
		code, _, errOut := runGet(t, "", "http://"+l.Addr().String()+"/")
		if code != 1 || !strings.Contains(errOut, "PROTOCOL_ERROR") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("bad_URL", func(t *testing.T) {
		code, _, errOut := runGet(t, "", "ftp://x/")
		if code != 1 || !strings.Contains(errOut, "not an http:// or https:// URL") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}
