package memory

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Listener accepts pipes created by its Dial. It implements net.Listener.
type Listener struct {
	cfg    Config
	accept chan net.Conn
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	n      uint64
}

// Listen returns a listener whose pipes use cfg, with the Seed of the
// n-th connection Seed+n, so every connection chunks differently but
// reproducibly.
func Listen(cfg Config) *Listener {
	return &Listener{cfg: cfg, accept: make(chan net.Conn), done: make(chan struct{})}
}

// Dial connects to the listener, waiting for Accept, ctx, or Close.
func (l *Listener) Dial(ctx context.Context) (net.Conn, error) {
	l.mu.Lock()
	cfg := l.cfg
	cfg.Seed += l.n
	l.n++
	l.mu.Unlock()
	a, b := Pipe(cfg)
	select {
	case l.accept <- b:
		return a, nil
	case <-l.done:
		return nil, errors.New("memory: dial: listener closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Accept waits for a Dial, or returns net.ErrClosed after Close.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; pending and later Dials fail.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return Addr("memory:listener") }
