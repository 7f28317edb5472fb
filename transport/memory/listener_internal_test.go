package memory

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// A Dial that gives up leaves no trace: the next pipe accepted still
// gets Seed+0, and Accept does not hand out the abandoned connection.
func TestListenerAbandonedDial(t *testing.T) {
	l := Listen(Config{Seed: 40})
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := l.Dial(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial without Accept = %v, want the context's deadline", err)
	}
	if !strings.Contains(func() string { _, err := l.Dial(ctx); return err.Error() }(), l.Addr().String()) {
		t.Error("Dial error does not name the listener")
	}
	l.mu.Lock()
	waiting := len(l.dials)
	l.mu.Unlock()
	if waiting != 0 {
		t.Fatalf("%d abandoned Dials still queued", waiting)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), testBound)
	defer dcancel()
	dialed := make(chan net.Conn, 1)
	go func() {
		c, err := l.Dial(dctx)
		if err != nil {
			c = nil
		}
		dialed <- c
	}()
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var cli net.Conn
	select {
	case cli = <-dialed:
	case <-time.After(testBound):
		t.Fatal("Dial did not return after Accept")
	}
	if cli == nil {
		t.Fatal("Dial failed after Accept")
	}
	defer cli.Close()
	if l.n != 1 {
		t.Fatalf("listener made %d pipes, want 1", l.n)
	}
	if cli.RemoteAddr() != srv.LocalAddr() || srv.RemoteAddr() != cli.LocalAddr() {
		t.Errorf("addresses do not match: client %v->%v, server %v->%v",
			cli.LocalAddr(), cli.RemoteAddr(), srv.LocalAddr(), srv.RemoteAddr())
	}
	if !strings.HasSuffix(cli.LocalAddr().String(), ":a") || !strings.HasSuffix(srv.LocalAddr().String(), ":b") {
		t.Errorf("client is %v and server %v, want the a and b ends", cli.LocalAddr(), srv.LocalAddr())
	}
}

func TestListenerAddr(t *testing.T) {
	l := Listen(Config{})
	defer l.Close()
	if l.Addr().Network() != "memory" || !strings.HasPrefix(l.Addr().String(), "memory:listener:") {
		t.Errorf("Addr = %s %q", l.Addr().Network(), l.Addr())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := l.Dial(context.Background())
	if !errors.Is(err, net.ErrClosed) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Dial after Close = %v, want a closed-listener error wrapping net.ErrClosed", err)
	}
}
