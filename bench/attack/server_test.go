package main

import (
	"errors"
	"io"
	"net"
	"testing"

	h2 "github.com/h2proto/h2"
)

// largeBody is the size of the large resource the test server serves.
const largeBody = 1 << 20

// handler serves "/" with "hello" and "/large" with 1 MiB, stopping when
// the stream or the connection ends.
func handler(s *h2.Stream) {
	if s.Request().Method == "POST" {
		if _, err := io.Copy(io.Discard, s); err != nil {
			return
		}
	}
	if s.Request().Path != "/large" {
		_ = s.Respond(200, nil, []byte("hello"))
		return
	}
	if err := s.WriteHeaders(200, nil); err != nil {
		return
	}
	chunk := make([]byte, 16<<10)
	for sent := 0; sent < largeBody; sent += len(chunk) {
		if _, err := s.Write(chunk); err != nil {
			return
		}
	}
	_ = s.CloseWrite()
}

// startServer serves h2c on a fresh 127.0.0.1 port with opts until the test
// ends, and returns the address.
func startServer(t testing.TB, opts h2.Options) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &h2.Server{Handler: h2.HandlerFunc(handler), Options: opts}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; err != nil && !errors.Is(err, h2.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}
