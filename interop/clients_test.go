package interop

// Real clients against our server: curl, nghttp, h2load and Go's net/http
// client, each against `h2 serve` over h2c and TLS.

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCurl: curl GETs / and POSTs 10 MiB of random bytes to /echo, over
// h2c (--http2-prior-knowledge) and TLS (ALPN h2).
func TestCurl(t *testing.T) {
	curl := need(t, "curl")
	big := bigFixture()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := startServe(t, m.tls)
			flags := []string{"-sS", "--max-time", "30", "--http2-prior-knowledge"}
			if m.tls {
				flags = []string{"-sS", "--max-time", "30", "-k", "--http2"}
			}
			dir := t.TempDir()

			body := filepath.Join(dir, "get")
			stdout, stderr, err := runTool(t, 40*time.Second, curl, append(flags,
				"-o", body, "-w", "%{http_version} %{response_code}", m.url(addr, "/"))...)
			if err != nil {
				t.Fatalf("curl GET /: %v\n%s%s", err, stdout, stderr)
			}
			if stdout != "2 200" {
				t.Errorf("curl GET /: http_version and status %q, want \"2 200\"", stdout)
			}
			if b, err := os.ReadFile(body); err != nil || string(b) != helloBody {
				t.Errorf("curl GET /: body %q (%v), want %q", b, err, helloBody)
			}

			echoed := filepath.Join(dir, "echo")
			start := time.Now()
			stdout, stderr, err = runTool(t, 40*time.Second, curl, append(flags,
				"--data-binary", "@"+big.path(), "-H", "content-type: application/octet-stream",
				"-o", echoed, "-w", "%{http_version} %{response_code}", m.url(addr, "/echo"))...)
			if err != nil {
				t.Fatalf("curl POST /echo: %v\n%s%s", err, stdout, stderr)
			}
			t.Logf("curl POST /echo: 10 MiB up and back in %v", time.Since(start).Round(time.Millisecond))
			if stdout != "2 200" {
				t.Errorf("curl POST /echo: http_version and status %q, want \"2 200\"", stdout)
			}
			if sum, n := sumFile(t, echoed); sum != big.sum || n != big.size {
				t.Errorf("curl POST /echo: echoed %d bytes with SHA-256 %s, sent %d with %s", n, sum, big.size, big.sum)
			}
		})
	}
}

// TestNghttp: nghttp -v GETs / (h2c with prior knowledge for http://, TLS
// for https://) and POSTs 10 MiB to /echo.
func TestNghttp(t *testing.T) {
	nghttp := need(t, "nghttp")
	big := bigFixture()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := startServe(t, m.tls)
			stdout, stderr, err := runTool(t, 30*time.Second, nghttp, "-v", "-t", "20", m.url(addr, "/"))
			out := stdout + stderr
			if err != nil {
				t.Fatalf("nghttp -v GET /: %v\n%s", err, out)
			}
			for _, want := range []string{
				"send HEADERS frame", "recv SETTINGS frame", "recv HEADERS frame",
				":status: 200", "recv DATA frame", "; END_STREAM", helloBody,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("nghttp -v GET /: the trace has no %q:\n%s", want, out)
				}
			}
			if m.tls && !strings.Contains(out, "The negotiated protocol: h2") {
				t.Errorf("nghttp -v GET /: ALPN h2 not negotiated:\n%s", out)
			}

			echoed := filepath.Join(t.TempDir(), "echo")
			start := time.Now()
			stdout, stderr, err = runTool(t, 40*time.Second, nghttp, "-t", "30", "-d", big.path(), m.url(addr, "/echo"))
			if err != nil {
				t.Fatalf("nghttp -d POST /echo: %v\n%s", err, stderr)
			}
			t.Logf("nghttp POST /echo: 10 MiB up and back in %v", time.Since(start).Round(time.Millisecond))
			if err := os.WriteFile(echoed, []byte(stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			if sum, n := sumFile(t, echoed); sum != big.sum || n != big.size {
				t.Errorf("nghttp POST /echo: echoed %d bytes with SHA-256 %s, sent %d with %s\nstderr:\n%s", n, sum, big.size, big.sum, stderr)
			}
		})
	}
}

var (
	h2loadRequests = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2loadFinished = regexp.MustCompile(`finished in ([^,]+), ([0-9.]+) req/s, ([^\n]+)`)
	h2loadStatus   = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

// TestH2load: 20,000 requests over 10 connections of 10 concurrent
// streams each, all of them answered 2xx.
func TestH2load(t *testing.T) {
	h2load := need(t, "h2load")
	const requests = "20000"
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := startServe(t, m.tls)
			stdout, stderr, err := runTool(t, 60*time.Second, h2load, "-n", requests, "-c", "10", "-m", "10", "-T", "30", m.url(addr, "/"))
			out := stdout + stderr
			if err != nil {
				t.Fatalf("h2load: %v\n%s", err, out)
			}
			if !strings.Contains(out, "Application protocol: h2") {
				t.Errorf("h2load did not speak HTTP/2:\n%s", out)
			}
			r := h2loadRequests.FindStringSubmatch(out)
			if r == nil {
				t.Fatalf("h2load printed no request summary:\n%s", out)
			}
			if r[1] != requests || r[4] != requests || r[5] != "0" || r[6] != "0" || r[7] != "0" {
				t.Errorf("h2load: %q, want %s succeeded, 0 failed, 0 errored, 0 timeout\n%s", r[0], requests, out)
			}
			if s := h2loadStatus.FindStringSubmatch(out); s == nil || s[1] != requests {
				t.Errorf("h2load: status codes %q, want %s 2xx", s, requests)
			}
			if f := h2loadFinished.FindStringSubmatch(out); f != nil {
				t.Logf("h2load %s: %s requests in %s, %s req/s, %s", m.name, requests, f[1], f[2], f[3])
			}
		})
	}
}

// TestGoClient: Go's net/http client, HTTP/2 only, over TLS and over h2c
// (http.Protocols.SetUnencryptedHTTP2): GET / and POST 10 MiB to /echo.
func TestGoClient(t *testing.T) {
	big := bigFixture()
	payload, err := os.ReadFile(big.path())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := startServe(t, m.tls)
			protos := new(http.Protocols)
			tr := &http.Transport{ForceAttemptHTTP2: true, Protocols: protos}
			if m.tls {
				protos.SetHTTP2(true)
				tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
			} else {
				protos.SetUnencryptedHTTP2(true)
			}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			ctx := t.Context()

			req, err := http.NewRequestWithContext(ctx, "GET", m.url(addr, "/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET /: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("GET /: reading the body: %v", err)
			}
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != helloBody {
				t.Errorf("GET /: %s %d %q, want HTTP/2.0 200 %q", resp.Proto, resp.StatusCode, body, helloBody)
			}

			start := time.Now()
			req, err = http.NewRequestWithContext(ctx, "POST", m.url(addr, "/echo"), bytes.NewReader(payload))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("content-type", "application/octet-stream")
			resp, err = client.Do(req)
			if err != nil {
				t.Fatalf("POST /echo: %v", err)
			}
			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("POST /echo: reading the body: %v", err)
			}
			t.Logf("POST /echo: 10 MiB up and back in %v", time.Since(start).Round(time.Millisecond))
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
				t.Errorf("POST /echo: %s %d, want HTTP/2.0 200", resp.Proto, resp.StatusCode)
			}
			if sum := hex.EncodeToString(h.Sum(nil)); sum != big.sum || n != int64(big.size) {
				t.Errorf("POST /echo: echoed %d bytes with SHA-256 %s, sent %d with %s", n, sum, big.size, big.sum)
			}
			// Let the server's graceful shutdown find no connection left.
			tr.CloseIdleConnections()
		})
	}
}
