package tcp

import (
	"context"
	"fmt"
	"net"
	"time"
)

// maxSkipped bounds how many accepted connections in a row Accept drops
// because their options could not be applied before it reports the error.
const maxSkipped = 8

// Listen listens for TCP connections on addr ("host:port"; port 0 picks a
// free port, see the listener's Addr) and returns a listener whose Accept
// applies cfg to every connection (see Configure) and returns it as a
// *net.TCPConn. An error names addr.
//
// A connection whose options cannot be applied (typically one the peer
// already reset) is closed and skipped; Accept returns an error only if
// that happens maxSkipped times in a row, or when the underlying Accept
// fails (net.ErrClosed after Close). The listener also has a
// SetDeadline(time.Time) error method, as *net.TCPListener does, to bound
// a blocked Accept.
func Listen(addr string, cfg Config) (net.Listener, error) {
	lc := net.ListenConfig{KeepAliveConfig: cfg.keepAlive()}
	if !lc.KeepAliveConfig.Enable {
		lc.KeepAlive = -1 // disabled: ListenConfig would otherwise turn it on
	}
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, named("listen", addr, err)
	}
	return &listener{tl: l.(*net.TCPListener), cfg: cfg}, nil
}

// listener applies cfg to the connections it accepts.
type listener struct {
	tl  *net.TCPListener
	cfg Config
}

// Accept waits for the next connection and applies the listener's options.
func (l *listener) Accept() (net.Conn, error) {
	var last error
	for range maxSkipped {
		c, err := l.tl.AcceptTCP()
		if err != nil {
			return nil, err
		}
		if err := Configure(c, l.cfg); err != nil {
			_ = c.Close()
			last = err
			continue
		}
		return c, nil
	}
	return nil, fmt.Errorf("tcp: accept on %s: %d connections in a row could not be configured: %w",
		l.tl.Addr(), maxSkipped, last)
}

// Close stops listening; a blocked Accept returns net.ErrClosed.
// Connections already accepted stay open.
func (l *listener) Close() error { return l.tl.Close() }

// Addr returns the address listened on (a *net.TCPAddr).
func (l *listener) Addr() net.Addr { return l.tl.Addr() }

// SetDeadline bounds Accept: after t it fails with an error satisfying
// os.ErrDeadlineExceeded. The zero time removes the deadline.
func (l *listener) SetDeadline(t time.Time) error { return l.tl.SetDeadline(t) }
