package nethttp

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// poolServer starts a net/http h2c server and returns a Transport for it
// and a way to take a connection from its pool.
func poolServer(t *testing.T, idle time.Duration) (*Transport, func() *trConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	tr := &Transport{AllowHTTP: true, IdleConnTimeout: idle}
	t.Cleanup(tr.CloseIdleConnections)
	addr := l.Addr().String()
	return tr, func() *trConn {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cc, _, err := tr.getConn(ctx, "http://"+addr, addr, false)
		if err != nil {
			t.Fatal(err)
		}
		return cc
	}
}

func waitClosed(t *testing.T, cc *trConn, what string) {
	t.Helper()
	select {
	case <-cc.c.Done():
	case <-time.After(10 * time.Second): // only detects a hang
		t.Fatalf("%s: connection still open", what)
	}
}

// TestPoolDeadConnClosedWhateverTheOrder: a connection taken out of the
// pool (markDead) is closed once no request holds it, whether its last
// request let go before or after it was taken out. It used to leak when the
// release came first: the idle timer skips a dead connection.
func TestPoolDeadConnClosedWhateverTheOrder(t *testing.T) {
	for _, order := range []string{"markDead_then_release", "release_then_markDead"} {
		t.Run(order, func(t *testing.T) {
			_, get := poolServer(t, time.Hour)
			cc := get()
			if order == "markDead_then_release" {
				cc.markDead()
				select {
				case <-cc.c.Done():
					t.Fatal("closed while a request held it")
				default:
				}
				cc.release()
			} else {
				cc.release()
				cc.markDead()
			}
			waitClosed(t, cc, order)
		})
	}
}

// TestPoolStaleIdleTimer: an idle timer that fires while its connection is
// handed out again, and runs once that request has released it, belongs
// to an idle period that is over: it must not close the connection.
func TestPoolStaleIdleTimer(t *testing.T) {
	tr, get := poolServer(t, time.Hour)
	cc := get()
	cc.release() // idle period 1 starts
	tr.mu.Lock()
	stale := cc.idleGen
	tr.mu.Unlock()
	if again := get(); again != cc {
		t.Fatal("the idle connection was not reused")
	}
	cc.release()          // idle period 2 starts
	cc.idleExpired(stale) // period 1's timer, late
	tr.mu.Lock()
	dead, current := cc.dead, cc.idleGen
	tr.mu.Unlock()
	if dead || !cc.usable() {
		t.Fatal("a stale idle timer closed the reused connection")
	}
	cc.idleExpired(current) // period 2's timer does close it
	waitClosed(t, cc, "current idle timer")
}
