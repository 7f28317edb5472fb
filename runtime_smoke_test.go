package h2_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
)

func smokePipe(t *testing.T, srv *h2.Server) *h2.Conn {
	t.Helper()
	a, b := net.Pipe()
	go func() { _ = srv.ServeConn(b) }()
	c, err := h2.NewClientConn(a, &h2.ClientOptions{Authority: "example.test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestSmokeGetAndEcho(t *testing.T) {
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		body, err := s.ReadAll()
		if err != nil {
			t.Errorf("server read: %v", err)
			return
		}
		if s.Request().Path == "/echo" {
			_ = s.Respond(200, nil, body)
			return
		}
		_ = s.Respond(200, []h2.HeaderField{{Name: "content-type", Value: "text/plain"}}, []byte("hello\n"))
	})}
	c := smokePipe(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(s)
	if err != nil || resp.Status != 200 || string(body) != "hello\n" {
		t.Fatalf("GET: %d %q %v", resp.Status, body, err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	s, err = c.Request(ctx, c.NewRequest("POST", "/echo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = s.Write(big)
		_ = s.CloseWrite()
	}()
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("echo: %d bytes, %v", len(got), err)
	}
	if err := c.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
