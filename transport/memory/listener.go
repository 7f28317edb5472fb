package memory

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// listenerSeq numbers listeners for their addresses.
var listenerSeq atomic.Uint64

// Listener is an in-memory net.Listener: Dial waits for an Accept and the
// two get the ends of a new Pipe. It is safe for concurrent use.
type Listener struct {
	cfg  Config
	addr Addr

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	dials   []*dialing    // waiting for Accept, in arrival order
	n       uint64        // pipes made so far
	closed  bool
}

// dialing is a Dial waiting for an Accept; Accept sets conn.
type dialing struct {
	conn *Conn
}

// Listen returns a listener whose pipes use cfg, except that the n-th
// pipe accepted (from 0) gets Seed cfg.Seed+n, so each connection chunks
// differently but reproducibly. Its address is "memory:listener:N".
func Listen(cfg Config) *Listener {
	n := strconv.FormatUint(listenerSeq.Add(1), 10)
	return &Listener{cfg: cfg, addr: Addr("memory:listener:" + n), changed: make(chan struct{})}
}

// Dial connects to the listener: it waits until an Accept takes it and
// returns the client end of the new pipe (a *Conn). It fails, with an
// error naming the listener and wrapping net.ErrClosed, when the
// listener is closed before or while it waits, and with an error wrapping
// ctx's error when ctx is done first.
func (l *Listener) Dial(ctx context.Context) (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.dialErr(ctx); err != nil {
		return nil, err
	}
	d := &dialing{}
	l.dials = append(l.dials, d)
	l.wake()
	for d.conn == nil {
		if err := l.dialErr(ctx); err != nil {
			l.forget(d)
			return nil, err
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		l.mu.Lock()
	}
	return d.conn, nil
}

// dialErr says why a Dial cannot go on, if it cannot. l.mu is held.
func (l *Listener) dialErr(ctx context.Context) error {
	if l.closed {
		return fmt.Errorf("memory: dial %s: listener closed: %w", l.addr, net.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: dial %s: %w", l.addr, err)
	}
	return nil
}

// forget removes a Dial that gave up. l.mu is held.
func (l *Listener) forget(d *dialing) {
	for i, x := range l.dials {
		if x == d {
			l.dials = append(l.dials[:i], l.dials[i+1:]...)
			return
		}
	}
}

// Accept waits for a Dial and returns the server end of the new pipe (a
// *Conn); Dials are served in the order they arrived. After Close it
// returns net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.closed {
			return nil, net.ErrClosed
		}
		if len(l.dials) > 0 {
			d := l.dials[0]
			l.dials[0] = nil
			l.dials = l.dials[1:]
			cfg := l.cfg
			cfg.Seed += l.n
			l.n++
			a, b := Pipe(cfg)
			d.conn = a
			l.wake()
			return b, nil
		}
		ch := l.changed
		l.mu.Unlock()
		<-ch
		l.mu.Lock()
	}
}

// Close stops the listener: blocked and later Accepts return
// net.ErrClosed, and blocked and later Dials fail. Connections already
// accepted are not affected. Closing again does nothing and returns nil.
func (l *Listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.wake()
	}
	return nil
}

// Addr returns the listener's address, an Addr.
func (l *Listener) Addr() net.Addr { return l.addr }

// wake wakes Accept and Dial waiters. l.mu is held.
func (l *Listener) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}
