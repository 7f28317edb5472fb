package memory

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is one end of a Pipe (made only by Pipe and Listener). It implements net.Conn; like any net.Conn,
// its methods may be called from several goroutines at once. Each Read
// and each Write is atomic with respect to the others: concurrent Writes
// never interleave their bytes.
//
// Errors: Read and Write after this end's Close return net.ErrClosed;
// after Break they return the pipe's error (ErrBroken by default); past a
// deadline they return os.ErrDeadlineExceeded (a net.Error whose Timeout
// is true). Read returns io.EOF once the peer has closed (Close or
// CloseWrite) and everything it wrote has been read. Write returns
// io.ErrClosedPipe once the peer has closed its end, and net.ErrClosed
// after this end's CloseWrite. The error values are returned as they are,
// not wrapped.
type Conn struct {
	in, out       *half // in: the peer writes, we read; out: the reverse
	clock         *Clock
	local, remote Addr

	wmu      sync.Mutex // serialises Writes
	closed   atomic.Bool
	readDL   deadline
	writeDL  deadline
	nRead    atomic.Int64
	nWritten atomic.Int64
}

// newConn returns the end of a pipe that reads in and writes out.
func newConn(in, out *half, clock *Clock, local, remote Addr) *Conn {
	c := &Conn{in: in, out: out, clock: clock, local: local, remote: remote}
	c.readDL.clock, c.readDL.h = clock, in
	c.writeDL.clock, c.writeDL.h = clock, out
	return c
}

// Read reads what has arrived into p: at most one chunk (Config.MaxChunk)
// and never more than is readable, so it may return fewer bytes than are
// buffered. It blocks until something is readable, the peer's end of file
// arrives (io.EOF), the read deadline passes, this end closes, or the pipe
// breaks. While the conn is stalled (Stall) nothing becomes readable, not
// even the end of file. A passed deadline fails a Read even when bytes are
// waiting, as with package net. A Read with an empty p returns 0, nil
// unless one of those errors applies.
func (c *Conn) Read(p []byte) (int, error) { return c.read(p, true) }

// TryRead is Read that never blocks: where Read would wait, it returns
// 0, nil. With TryWrite it lets a single goroutine poll many conns in
// turn, as an event loop or a deterministic simulation does.
func (c *Conn) TryRead(p []byte) (int, error) { return c.read(p, false) }

func (c *Conn) read(p []byte, block bool) (int, error) {
	h := c.in
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		switch {
		case c.closed.Load():
			return 0, net.ErrClosed
		case h.err != nil:
			return 0, h.err
		case c.readDL.passed():
			return 0, os.ErrDeadlineExceeded
		case len(p) == 0:
			return 0, nil
		case h.stalled:
		case len(h.ready) > 0:
			n := h.take(p)
			c.nRead.Add(int64(n))
			return n, nil
		case h.eof:
			return 0, io.EOF
		}
		if !block {
			return 0, nil
		}
		h.wait()
	}
}

// Write copies p into the pipe (p is never retained) and returns len(p),
// nil once all of it is on its way. While Config.Buffer bytes are in
// flight in this direction it blocks until the peer reads some; it stops
// early, returning the count written so far and the error, when the write
// deadline passes, either end closes, or the pipe breaks.
func (c *Conn) Write(p []byte) (int, error) { return c.write(p, true) }

// TryWrite is Write that never blocks: it accepts as much of p as the
// pipe's Buffer has room for now — possibly nothing — and returns that
// count with a nil error, or the error Write would return.
func (c *Conn) TryWrite(p []byte) (int, error) { return c.write(p, false) }

func (c *Conn) write(p []byte, block bool) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	h := c.out
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for {
		switch {
		case c.closed.Load() || h.shut:
			return n, net.ErrClosed
		case h.err != nil:
			return n, h.err
		case h.gone:
			return n, io.ErrClosedPipe
		case c.writeDL.passed():
			return n, os.ErrDeadlineExceeded
		case n == len(p):
			return n, nil
		}
		if room := h.limit - h.inFlight; room > 0 {
			k := min(room, len(p)-n)
			h.send(p[n : n+k])
			n += k
			c.nWritten.Add(int64(k))
			continue
		}
		if !block {
			return n, nil
		}
		h.wait()
	}
}

// Close closes this end, gracefully: the peer reads what was already
// written and then io.EOF (after Config.Latency, like any byte), and its
// Writes fail with io.ErrClosedPipe; bytes sent to this end and not yet
// read are dropped. Blocked and later Reads and Writes on this end return
// net.ErrClosed. Close stops this end's deadline timers. Closing again
// does nothing and returns nil.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	for _, d := range []*deadline{&c.readDL, &c.writeDL} {
		d.mu.Lock()
		d.disarm()
		d.mu.Unlock()
	}
	c.out.mu.Lock()
	c.out.shutdown()
	c.out.wake() // our own blocked Write
	c.out.mu.Unlock()
	c.in.mu.Lock()
	c.in.gone = true
	c.in.drop()
	c.in.mu.Unlock()
	return nil
}

// CloseWrite half-closes this end: the peer reads what was already
// written and then io.EOF, while this end can still read. Later Writes,
// and a Write blocked for room, return net.ErrClosed. Calling it again,
// or after Close, does nothing and returns nil.
func (c *Conn) CloseWrite() error {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	c.out.shutdown()
	return nil
}

// Break breaks the whole pipe at once, like a TCP reset: every blocked
// and later Read and Write on both ends returns err (ErrBroken if err is
// nil) — except on an end already closed, whose calls keep returning
// net.ErrClosed — and the bytes in flight both ways are dropped. The
// first Break's error sticks; later ones change nothing.
func (c *Conn) Break(err error) {
	if err == nil {
		err = ErrBroken
	}
	for _, h := range []*half{c.in, c.out} {
		h.mu.Lock()
		if h.err == nil {
			h.err = err
			h.drop()
		}
		h.mu.Unlock()
	}
}

// Stall stops (on) or resumes (off) the arrival of bytes at this end: while
// stalled, its Reads block as if the network had stopped delivering, even
// with bytes or an end of file waiting; the peer's Writes carry on until
// Config.Buffer bytes are in flight, then block too. Deadlines, Close and
// Break still end a stalled Read.
func (c *Conn) Stall(on bool) {
	c.in.mu.Lock()
	c.in.stalled = on
	c.in.wake()
	c.in.mu.Unlock()
}

// BytesRead returns the number of bytes Read has returned on this end.
func (c *Conn) BytesRead() int64 { return c.nRead.Load() }

// BytesWritten returns the number of bytes Write has accepted on this end.
func (c *Conn) BytesWritten() int64 { return c.nWritten.Load() }

// LocalAddr returns this end's address, an Addr.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the other end's address, an Addr.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// Now returns the time this end's deadlines are measured in: Config.Clock's
// when set, else the wall clock. A runtime that sets deadlines (package h2
// does) reads it, so that its timeouts follow a virtual clock.
func (c *Conn) Now() time.Time { return c.readDL.now() }

// SetDeadline sets the read and write deadlines together; see
// SetReadDeadline. It always returns nil.
func (c *Conn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline makes blocked and later Reads fail with
// os.ErrDeadlineExceeded once t has passed; the zero time removes the
// deadline, and a new deadline replaces the old one (extending it revives
// Reads). Time is Config.Clock's when set — t must then be in the clock's
// time, typically Clock.Now().Add(d) — else the real clock's. It always
// returns nil.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDL.set(t)
	return nil
}

// SetWriteDeadline is SetReadDeadline for Writes. A Write that times out
// may have written part of its bytes; it returns how many.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDL.set(t)
	return nil
}
