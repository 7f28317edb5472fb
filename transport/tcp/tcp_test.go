package tcp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/h2proto/h2/transport/tcp"
)

// bound is the limit on every wait in these tests.
const bound = 10 * time.Second

// pair listens on 127.0.0.1:0 with cfg, dials it with cfg and returns the
// dialed and the accepted connections.
func pair(t *testing.T, cfg tcp.Config) (dialed, accepted net.Conn) {
	t.Helper()
	l, err := tcp.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })

	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		ch <- result{c, err}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	d, err := tcp.Dial(ctx, l.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", l.Addr(), err)
	}
	t.Cleanup(func() { _ = d.Close() })

	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		t.Cleanup(func() { _ = r.c.Close() })
		return d, r.c
	case <-time.After(bound):
		t.Fatal("Accept did not return")
		return nil, nil
	}
}

func TestExtRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  tcp.Config
	}{
		{"defaults", tcp.Config{}},
		{"no keep-alive", tcp.Config{KeepAlive: -1}},
		{"buffers", tcp.Config{KeepAlive: time.Minute, ReadBuffer: 64 << 10, WriteBuffer: 64 << 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, a := pair(t, tc.cfg)
			if _, ok := d.(*net.TCPConn); !ok {
				t.Errorf("dialed conn is %T, want *net.TCPConn", d)
			}
			if _, ok := a.(*net.TCPConn); !ok {
				t.Errorf("accepted conn is %T, want *net.TCPConn", a)
			}
			if got, want := d.RemoteAddr().String(), a.LocalAddr().String(); got != want {
				t.Errorf("dialed RemoteAddr %s, accepted LocalAddr %s", got, want)
			}
			_ = d.SetDeadline(time.Now().Add(bound))
			_ = a.SetDeadline(time.Now().Add(bound))

			// The preface of a client, and an answer from the server.
			ping := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
			if _, err := d.Write(ping); err != nil {
				t.Fatalf("client Write: %v", err)
			}
			got := make([]byte, len(ping))
			if _, err := io.ReadFull(a, got); err != nil {
				t.Fatalf("server ReadFull: %v", err)
			}
			if string(got) != string(ping) {
				t.Fatalf("server read %q, want %q", got, ping)
			}
			pong := []byte("\x00\x00\x00\x04\x00\x00\x00\x00\x00")
			if _, err := a.Write(pong); err != nil {
				t.Fatalf("server Write: %v", err)
			}
			got = make([]byte, len(pong))
			if _, err := io.ReadFull(d, got); err != nil {
				t.Fatalf("client ReadFull: %v", err)
			}
			if string(got) != string(pong) {
				t.Fatalf("client read %q, want %q", got, pong)
			}

			// Closing one end is EOF at the other.
			if err := d.Close(); err != nil {
				t.Fatalf("client Close: %v", err)
			}
			if n, err := a.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("server Read after client Close = %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

func TestExtDialRefused(t *testing.T) {
	// Find a port nothing listens on: listen, note the port, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	c, err := tcp.Dial(ctx, addr, tcp.Config{})
	if err == nil {
		_ = c.Close()
		t.Fatalf("Dial %s to a closed port succeeded", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial error %v is not ECONNREFUSED", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Dial error %q does not say connection refused", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("Dial error %q does not name the address %s", err, addr)
	}
}

func TestExtDialCancelledContext(t *testing.T) {
	l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	c, err := tcp.Dial(ctx, l.Addr().String(), tcp.Config{})
	if err == nil {
		_ = c.Close()
		t.Fatal("Dial with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Dial error %v is not context.Canceled", err)
	}
	if !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("Dial error %q does not name the address", err)
	}
	if d := time.Since(start); d > bound {
		t.Errorf("Dial with a cancelled context took %v", d)
	}
}

func TestExtDialExpiredContext(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	c, err := tcp.Dial(ctx, "127.0.0.1:1", tcp.Config{})
	if err == nil {
		_ = c.Close()
		t.Fatal("Dial with an expired context succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial error %v is not context.DeadlineExceeded", err)
	}
}

func TestExtListenBadAddress(t *testing.T) {
	l, err := tcp.Listen("127.0.0.1:-1", tcp.Config{})
	if err == nil {
		_ = l.Close()
		t.Fatal("Listen on a bad address succeeded")
	}
}

func TestExtAcceptAfterClose(t *testing.T) {
	l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := l.Accept()
	if err == nil {
		_ = c.Close()
		t.Fatal("Accept after Close succeeded")
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

func TestExtConfigureNonTCPIsNoop(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	for _, cfg := range []tcp.Config{{}, {KeepAlive: -1}, {ReadBuffer: 1, WriteBuffer: 1}} {
		if err := tcp.Configure(a, cfg); err != nil {
			t.Errorf("Configure(net.Pipe, %+v) = %v, want nil", cfg, err)
		}
	}

	// The pipe still works.
	done := make(chan error, 1)
	go func() {
		_, err := a.Write([]byte("x"))
		done <- err
	}()
	_ = b.SetReadDeadline(time.Now().Add(bound))
	buf := make([]byte, 1)
	if n, err := b.Read(buf); n != 1 || err != nil || buf[0] != 'x' {
		t.Fatalf("Read after Configure = %d, %v, %q", n, err, buf[:n])
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(bound):
		t.Fatal("Write did not return")
	}
}

func TestExtConfigureClosedConnErrors(t *testing.T) {
	d, _ := pair(t, tcp.Config{})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tcp.Configure(d, tcp.Config{}); err == nil {
		t.Error("Configure on a closed TCP connection returned nil")
	}
}
