package tcp

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testTimeout bounds every blocking step of these tests.
const testTimeout = 10 * time.Second

// pair returns a dialed and an accepted connection over loopback.
func loopbackPair(t *testing.T, cfg Config) (client, server net.Conn) {
	t.Helper()
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	type result struct {
		c   net.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		accepted <- result{c, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	client, err = Dial(ctx, l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	select {
	case r := <-accepted:
		if r.err != nil {
			t.Fatal(r.err)
		}
		server = r.c
	case <-time.After(testTimeout):
		t.Fatal("Accept did not return")
	}
	t.Cleanup(func() { _ = server.Close() })
	return client, server
}

func TestDialListenRoundTrip(t *testing.T) {
	client, server := loopbackPair(t, Config{})
	if _, ok := client.(*net.TCPConn); !ok {
		t.Fatalf("Dial returned %T, want *net.TCPConn", client)
	}
	if _, ok := server.(*net.TCPConn); !ok {
		t.Fatalf("Accept returned %T, want *net.TCPConn", server)
	}
	if err := client.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	if err := server.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	preface := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	if _, err := client.Write(preface); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(preface))
	if _, err := io.ReadFull(server, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(preface) {
		t.Fatalf("server read %q, want %q", got, preface)
	}
	if _, err := server.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 4)
	if _, err := io.ReadFull(client, back); err != nil {
		t.Fatal(err)
	}
	if string(back) != "pong" {
		t.Fatalf("client read %q, want %q", back, "pong")
	}
	if client.RemoteAddr().String() != server.LocalAddr().String() {
		t.Fatalf("client's remote %v is not the server's local %v", client.RemoteAddr(), server.LocalAddr())
	}
}

func TestDialClosedPortIsRefused(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, addr, Config{})
	if err == nil {
		_ = c.Close()
		t.Fatalf("Dial %s to a closed port succeeded", addr)
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %q does not say connection refused and name %s", err, addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("errors.Is(%v, ECONNREFUSED) is false", err)
	}
}

func TestDialCancelledContext(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := Dial(ctx, l.Addr().String(), Config{})
	if err == nil {
		_ = c.Close()
		t.Fatal("Dial with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(%v, context.Canceled) is false", err)
	}
	if !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("error %q does not name the address", err)
	}
}

func TestDialExpiredContext(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	c, err := Dial(ctx, "127.0.0.1:1", Config{})
	if err == nil {
		_ = c.Close()
		t.Fatal("Dial with an expired context succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("errors.Is(%v, context.DeadlineExceeded) is false", err)
	}
}

func TestDialBadAddressNamesIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, "127.0.0.1", Config{}) // no port
	if err == nil {
		_ = c.Close()
		t.Fatal("Dial without a port succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("error %q does not name the address", err)
	}
}

func TestListenAddressInUse(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	l2, err := Listen(addr, Config{})
	if err == nil {
		_ = l2.Close()
		t.Fatalf("second Listen on %s succeeded", addr)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %q does not name %s", err, addr)
	}
}

func TestListenerCloseUnblocksAccept(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if c != nil {
			_ = c.Close()
		}
		done <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Accept still blocked after Close")
	}
}

func TestListenerAcceptDeadline(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dl, ok := l.(interface{ SetDeadline(time.Time) error })
	if !ok {
		t.Fatalf("listener %T has no SetDeadline", l)
	}
	if err := dl.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	c, err := l.Accept()
	if err == nil {
		_ = c.Close()
		t.Fatal("Accept with nobody dialing succeeded")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Accept past its deadline: %v, want os.ErrDeadlineExceeded", err)
	}
}

func TestConfigureIgnoresNonTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := Configure(a, Config{ReadBuffer: 1 << 16}); err != nil {
		t.Fatalf("Configure on a net.Pipe: %v, want nil", err)
	}
}

func TestConfigureClosedConnFails(t *testing.T) {
	client, _ := loopbackPair(t, Config{})
	_ = client.Close()
	err := Configure(client, Config{})
	if err == nil {
		t.Fatal("Configure on a closed connection succeeded")
	}
	if !strings.Contains(err.Error(), "TCP_NODELAY") {
		t.Fatalf("error %q does not name the option", err)
	}
}

func TestKeepAliveConfig(t *testing.T) {
	for _, tc := range []struct {
		in     time.Duration
		enable bool
		period time.Duration
	}{
		{0, true, DefaultKeepAlive},
		{7 * time.Second, true, 7 * time.Second},
		{-1, false, 0},
	} {
		ka := Config{KeepAlive: tc.in}.keepAlive()
		if ka.Enable != tc.enable || ka.Idle != tc.period || ka.Interval != tc.period {
			t.Errorf("KeepAlive %v: got %+v, want enable=%v idle=interval=%v", tc.in, ka, tc.enable, tc.period)
		}
	}
}
