package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
)

// startGnet runs serveGnet on loopback and stops it (gracefully) when the
// test ends, checking that it returns nil.
func startGnet(t *testing.T, dir string) string {
	t.Helper()
	ready := make(chan net.Addr, 1)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- serveGnet("127.0.0.1:0", dir, 1, func(a net.Addr) { ready <- a }, stop) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serveGnet: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serveGnet not ready after 10 s")
	}
	t.Cleanup(func() {
		close(stop)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serveGnet returned %v after stop", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serveGnet did not return 10 s after stop")
		}
	})
	return addr.String()
}

// gnetDo sends one request (body nil: none) and returns the response, its
// body and trailers.
func gnetDo(t *testing.T, c *h2.Conn, method, path string, body []byte, trailers []h2.HeaderField) (*h2.Response, []byte, []h2.HeaderField) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := c.Request(ctx, c.NewRequest(method, path), &h2.RequestOptions{EndStream: body == nil})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	werr := make(chan error, 1)
	if body != nil {
		go func() {
			_, err := s.Write(body)
			if err == nil && trailers != nil {
				err = s.WriteTrailers(trailers)
			} else if err == nil {
				err = s.CloseWrite()
			}
			werr <- err
		}()
	} else {
		werr <- nil
	}
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatalf("%s %s: response: %v", method, path, err)
	}
	got, err := s.ReadAll()
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, path, err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("%s %s: sending the body: %v", method, path, err)
	}
	return resp, got, s.Trailers()
}

func TestServeGnet(t *testing.T) {
	dir := t.TempDir()
	file := make([]byte, 3<<20+12345) // many read buffers and windows
	for i := range file {
		file[i] = byte(i * 7 / 3)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.bin"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "small.txt"), []byte("small\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startGnet(t, dir)
	c, err := h2.Dial(context.Background(), addr, &h2.ClientOptions{H2C: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	t.Run("root", func(t *testing.T) {
		resp, body, _ := gnetDo(t, c, "GET", "/", nil, nil)
		if resp.Status != 200 || string(body) != helloBody {
			t.Fatalf("GET / = %d %q", resp.Status, body)
		}
		resp, body, _ = gnetDo(t, c, "HEAD", "/", nil, nil)
		if resp.Status != 200 || len(body) != 0 || resp.Get("content-length") != strconv.Itoa(len(helloBody)) {
			t.Fatalf("HEAD / = %d, content-length %q, %d body bytes", resp.Status, resp.Get("content-length"), len(body))
		}
	})
	t.Run("file", func(t *testing.T) {
		resp, body, _ := gnetDo(t, c, "GET", "/f.bin", nil, nil)
		if resp.Status != 200 || !bytes.Equal(body, file) || resp.Get("content-length") != strconv.Itoa(len(file)) {
			t.Fatalf("GET /f.bin = %d, content-length %q, %d bytes (intact %v)", resp.Status, resp.Get("content-length"), len(body), bytes.Equal(body, file))
		}
		if ct := resp.Get("content-type"); ct != "application/octet-stream" {
			t.Errorf("content-type %q", ct)
		}
		resp, body, _ = gnetDo(t, c, "HEAD", "/f.bin", nil, nil)
		if resp.Status != 200 || len(body) != 0 || resp.Get("content-length") != strconv.Itoa(len(file)) {
			t.Fatalf("HEAD /f.bin = %d, content-length %q, %d body bytes", resp.Status, resp.Get("content-length"), len(body))
		}
	})
	t.Run("not_found", func(t *testing.T) {
		for _, p := range []string{"/missing", "/../../etc/passwd", "/."} {
			resp, body, _ := gnetDo(t, c, "GET", p, nil, nil)
			if resp.Status != 404 || string(body) != "not found\n" {
				t.Fatalf("GET %s = %d %q, want 404", p, resp.Status, body)
			}
		}
		resp, _, _ := gnetDo(t, c, "POST", "/small.txt", []byte("x"), nil)
		if resp.Status != 405 {
			t.Fatalf("POST /small.txt = %d, want 405", resp.Status)
		}
	})
	t.Run("echo_with_trailers", func(t *testing.T) {
		body := bytes.Repeat([]byte("echo me "), 40_000) // 320 KB: past a stream window
		trailers := []h2.HeaderField{{Name: "x-checksum", Value: "42"}}
		resp, got, tr := gnetDo(t, c, "POST", "/echo", body, trailers)
		if resp.Status != 200 || !bytes.Equal(got, body) {
			t.Fatalf("POST /echo = %d, %d bytes back of %d", resp.Status, len(got), len(body))
		}
		if len(tr) != 1 || tr[0].Name != "x-checksum" || tr[0].Value != "42" {
			t.Fatalf("echo trailers %v", tr)
		}
		resp, got, tr = gnetDo(t, c, "POST", "/echo", []byte("short"), nil)
		if resp.Status != 200 || string(got) != "short" || len(tr) != 0 {
			t.Fatalf("POST /echo without trailers = %d %q %v", resp.Status, got, tr)
		}
	})
	t.Run("more_files_than_slots", func(t *testing.T) {
		// More concurrent file streams than gnetFileSlots: the rest wait
		// for a slot and are served too.
		const n = gnetFileSlots + 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				s, err := c.Request(ctx, c.NewRequest("GET", "/small.txt"), &h2.RequestOptions{EndStream: true})
				var body []byte
				if err == nil {
					body, err = s.ReadAll()
				}
				if err == nil && string(body) != "small\n" {
					err = fmt.Errorf("stream %d: %q", i, body)
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestServeGnetAddrInUse: serveGnet reports a failure to listen.
func TestServeGnetAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() { done <- serveGnet(l.Addr().String(), "", 1, nil, make(chan struct{})) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("serveGnet on a port in use returned nil")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveGnet on a port in use did not return")
	}
}
