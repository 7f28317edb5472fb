package h2_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/tcp"
)

// ftFailFlagConn records when a Write to the transport failed.
type ftFailFlagConn struct {
	net.Conn
	failed atomic.Bool
}

func (c *ftFailFlagConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.failed.Store(true)
	}
	return n, err
}

// TestFaultWritesRefusedAfterWriteFailure: once a write to the transport
// has failed (here Options.WriteTimeout against a client that stopped
// reading), the runtime keeps reading for up to linger (1 s) while its
// writer drops all output; Stream.Write must fail at once with
// core.ErrConnectionLost rather than accept data nobody will send (it used
// to accept ~100 MB in that second, and a short response "completed").
func TestFaultWritesRefusedAfterWriteFailure(t *testing.T) {
	ctx := rtCtx(t)
	ln, err := tcp.Listen("127.0.0.1:0", tcp.Config{WriteBuffer: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	flag := make(chan *ftFailFlagConn, 1)
	type outcome struct{ afterFailure int }
	results := make(chan outcome, 1)
	srv := &h2.Server{
		Options: h2.Options{WriteTimeout: 200 * time.Millisecond},
		Handler: h2.HandlerFunc(func(s *h2.Stream) {
			fc := <-flag
			if s.WriteHeaders(200, nil) != nil {
				return
			}
			block := rtPattern(1, 64<<10)
			var o outcome
			start := time.Now()
			for i := 0; i < 1<<16 && time.Since(start) < rtTimeout; i++ {
				failedBefore := fc.failed.Load()
				n, err := s.Write(block)
				if err != nil {
					break
				}
				if failedBefore {
					o.afterFailure += n
				}
			}
			results <- o
		}),
	}
	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		fc := &ftFailFlagConn{Conn: nc}
		flag <- fc
		served <- srv.ServeConn(fc)
	}()
	ftSlowReader(t, ctx, ln.Addr().String(), "/slow")
	o := rtWait(t, ctx, results, "the handler")
	rtWait(t, ctx, served, "ServeConn")
	if o.afterFailure > 0 {
		t.Errorf("Stream.Write accepted %d bytes after the connection's write had failed (all discarded); want an error at once", o.afterFailure)
	}
}

// TestFaultKeepAliveMeasuresRTT: Conn.RTT is "the round-trip time measured
// by the latest acknowledged PING (Ping, or the core's keep-alive)": an
// idle connection whose keep-alive PINGs are answered has one. (The core
// used to measure only the application's PINGs.) When the server's second
// ACK passes the proxy, the client has taken the first: it sent its second
// PING only a keep-alive period after the first ACK.
func TestFaultKeepAliveMeasuresRTT(t *testing.T) {
	ctx := rtCtx(t)
	fs := ftServe(t, "127.0.0.1:0", &h2.Server{Handler: h2.HandlerFunc(ftEcho)}, tcp.Config{})
	p := ftStartProxy(t, fs.addr)
	c := ftDial(t, ctx, p.addr(), &h2.ClientOptions{Options: h2.Options{Config: core.Config{Timeouts: core.Timeouts{KeepAlive: 100 * time.Millisecond}}}})
	p.waitAcks(t, ctx, false, 2)
	if rtt := c.RTT(); rtt <= 0 {
		t.Errorf("RTT() = %v after two acknowledged keep-alive PINGs, want the measured round trip", rtt)
	}
}
