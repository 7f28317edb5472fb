package h2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// Conn is one HTTP/2 connection, client or server: a core.Conn driven over a
// net.Conn by two goroutines — a reader feeding Receive and a writer
// draining PollTransmit, many frames per write — and one timer following
// PollTimeout. Its methods, and those of its streams, are safe for
// concurrent use.
//
// Callbacks (a server Handler run inline, stream handlers set with
// SetHandler) run on the connection's own goroutines, one at a time, in the
// order of the events that cause them. They must not block: a callback
// that waits for the connection (a blocking Write, Read, Response) would
// wait for itself. Use the non-blocking forms or start a goroutine.
type Conn struct {
	nc    net.Conn
	opts  Options
	clock Clock
	srv   *Server // nil for a client

	authority, scheme string

	mu        sync.Mutex
	core      *core.Conn
	streams   map[uint32]*Stream
	goaway    *core.Event // the peer's latest GOAWAY (copied)
	pings     map[[8]byte]chan time.Duration
	pingSeq   uint64
	openWait  chan struct{} // made by a waiter; closed (and dropped) when a stream may open
	connected bool
	finished  bool
	err       error

	// Callbacks waiting to run on a connection goroutine (see deliver).
	queue      []delivery
	delivering bool

	writeErr atomic.Pointer[error] // the first failed write (see writeFailed)

	// The one timer.
	timer   *time.Timer
	stop    func() bool
	timerAt time.Time

	writing     bool          // the writer goroutine runs (see unlock)
	drained     chan struct{} // the writer wrote (capacity 1); the reader may resume
	connectedCh chan struct{}
	stopping    chan struct{} // closed when the writer starts closing the transport
	readerDone  chan struct{}
	done        chan struct{}
	ctx         context.Context
	cancel      context.CancelFunc
}

// A delivery is a callback owed to the application: start the server
// handler for a stream, or hand a stream's queued events to its handler.
type delivery struct {
	s     *Stream
	start bool
}

func newConn(nc net.Conn, c *core.Conn, opts Options, srv *Server) *Conn {
	cn := &Conn{
		nc:          nc,
		opts:        opts,
		clock:       opts.Clock,
		srv:         srv,
		core:        c,
		streams:     make(map[uint32]*Stream),
		drained:     make(chan struct{}, 1),
		connectedCh: make(chan struct{}),
		stopping:    make(chan struct{}),
		readerDone:  make(chan struct{}),
		done:        make(chan struct{}),
	}
	cn.ctx, cn.cancel = context.WithCancel(context.Background())
	return cn
}

// start launches the reader (see run).
func (c *Conn) start() {
	c.kick()
	go c.readLoop()
}

// run serves the connection on the calling goroutine, which becomes its
// reader, and returns when the connection has ended.
func (c *Conn) run() {
	c.kick()
	c.readLoop()
	<-c.done
}

// kick sends the connection preface: the writer starts when there is output
// (see unlock), and the core has its SETTINGS queued from the start.
func (c *Conn) kick() {
	c.mu.Lock()
	c.unlock()
}

// deadlineNow is the time base of the transport's deadlines: the
// transport's own when it has one (a transport/memory pipe on a virtual
// clock), else the wall clock, as for sockets.
func (c *Conn) deadlineNow() time.Time {
	if t, ok := c.nc.(interface{ Now() time.Time }); ok {
		return t.Now()
	}
	return time.Now()
}

func (c *Conn) now() time.Time { return clockNow(c.clock) }

// unlock finishes a critical section: it dispatches the core's events,
// re-arms the timer and starts the writer if there is something to write
// or a callback to deliver, then releases c.mu. Every method that touched
// the core ends with it, or with unlockDeliver.
//
// The writer is a goroutine that lives while there is output and exits
// when it finds none, so an idle connection parks only its reader (about
// 3 KiB of stack less per connection than a writer waiting for work).
func (c *Conn) unlock() { c.release(false) }

// unlockDeliver is unlock for the reader, which delivers the callbacks
// itself: the writer is not started for them alone.
func (c *Conn) unlockDeliver() {
	c.release(true)
	c.deliver()
}

func (c *Conn) release(delivers bool) {
	c.pollEvents()
	c.rearm()
	if !c.writing && !c.finished && (c.core.WantsOutput() || c.core.Phase() == core.PhaseClosed ||
		(!delivers && len(c.queue) > 0 && !c.delivering)) {
		c.writing = true
		go c.writeLoop()
	}
	c.mu.Unlock()
}

func (c *Conn) pollEvents() {
	for {
		e, ok := c.core.PollEvent()
		if !ok {
			return
		}
		c.dispatch(&e)
	}
}

// rearm makes the timer follow the core's next deadline.
func (c *Conn) rearm() {
	at, ok := c.core.PollTimeout()
	if !ok || c.finished {
		if !c.timerAt.IsZero() {
			c.stopTimer()
		}
		return
	}
	if at.Equal(c.timerAt) {
		return
	}
	c.stopTimer()
	c.timerAt = at
	d := at.Sub(c.now())
	if c.clock != nil {
		c.stop = c.clock.AfterFunc(d, c.onTimer)
		return
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.onTimer)
		return
	}
	c.timer.Reset(d)
}

func (c *Conn) stopTimer() {
	c.timerAt = time.Time{}
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	if c.timer != nil {
		c.timer.Stop()
	}
}

func (c *Conn) onTimer() {
	c.mu.Lock()
	c.timerAt = time.Time{}
	c.core.HandleTimeout(c.now())
	c.unlock()
}

// readLoop feeds the core what the transport delivers. While the core's
// output is backed up (Receive takes less than offered), it waits for the
// writer: a peer that does not read cannot make us buffer without bound.
func (c *Conn) readLoop() {
	defer close(c.readerDone)
	r := newReadBuffer(c.opts.readBufferSize())
	defer r.release()
	for {
		buf := r.next()
		n, err := c.nc.Read(buf)
		if n > 0 && !c.receive(buf[:n]) {
			// The connection is closing: keep reading only to see the end.
			if err == nil {
				r.filled(n)
				continue
			}
		}
		r.filled(n) // after receive: the core's events borrowed buf
		if err != nil {
			if werr := c.writeErr.Load(); werr != nil {
				err = *werr
			}
			c.mu.Lock()
			c.core.HandleTransportClosed(c.now(), transportErr(err))
			c.unlockDeliver()
			return
		}
	}
}

// receive hands p to the core, waiting for the writer while the core pushes
// back. It reports false once the core accepts no more input.
func (c *Conn) receive(p []byte) bool {
	c.mu.Lock()
	for len(p) > 0 {
		m, err := c.core.Receive(c.now(), p)
		p = p[m:]
		if err != nil {
			c.unlockDeliver()
			return false
		}
		if len(p) == 0 {
			break
		}
		// Back-pressure (WantsInput is false), or a yield (Receive stopped
		// at half a queue limit): let the writer take what is queued, then
		// offer the rest. A drained signal may be stale (left by a write
		// that began before this input), so wait until the queue shrank.
		queued := c.core.QueuedOutput()
		for {
			c.unlockDeliver()
			select {
			case <-c.drained:
			case <-c.stopping:
				return false
			}
			c.mu.Lock()
			if q := c.core.QueuedOutput(); q == 0 || q < queued {
				break
			}
		}
	}
	c.unlockDeliver()
	return true
}

// transportErr is the error a transport's end gives the core: nil (so the
// core reports core.ErrConnectionLost) for an end of stream or our own
// close, which say nothing more; the error itself otherwise.
func transportErr(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// writeLoop writes what the core has to send, coalescing every frame queued
// since the last write into one write, until there is nothing left (see
// unlock), and closes the transport once the core reaches PhaseClosed.
func (c *Conn) writeLoop() {
	box := transportBuffers.get(0)
	defer transportBuffers.put(box)
	for {
		c.mu.Lock()
		box.b = c.transmit(box.b[:0])
		closed := c.core.Phase() == core.PhaseClosed
		c.pollEvents()
		c.rearm()
		if len(box.b) == 0 && !closed {
			c.writing = false
			c.mu.Unlock()
			c.deliver()
			c.signalDrained()
			return
		}
		c.mu.Unlock()
		c.deliver()
		if len(box.b) > 0 && c.writeErr.Load() == nil {
			if err := c.write(box.b); err != nil {
				c.writeFailed(err)
			}
		}
		c.signalDrained()
		if closed {
			c.finish()
			return
		}
	}
}

// signalDrained tells a reader waiting for the core's output to shrink
// (receive) that the writer made progress.
func (c *Conn) signalDrained() {
	select {
	case c.drained <- struct{}{}:
	default:
	}
}

// maxWrite bounds one coalesced write; more is written in the next round.
const maxWrite = 256 << 10

// transmit appends the core's output to buf until it has nothing more or
// buf reaches maxWrite. c.mu is held.
func (c *Conn) transmit(buf []byte) []byte {
	for len(buf) < maxWrite {
		n := len(buf)
		buf = c.core.PollTransmit(buf)
		c.pollEvents()
		if len(buf) == n {
			break
		}
	}
	return buf
}

// writeFailed handles a failed write. The connection is lost, but the
// peer may have sent more before it went — a response completed just
// before it hung up, waiting in the kernel's buffer — so the reader goes on
// until the transport ends (for at most linger), while the writer drops
// output, and only then are the streams told. The write error is the one
// reported.
func (c *Conn) writeFailed(err error) {
	c.writeErr.Store(&err)
	_ = c.nc.SetReadDeadline(c.deadlineNow().Add(linger))
}

// lostErr is what stream commands return once a write to the transport
// has failed: the connection is lost, though the reader may linger a while
// (writeFailed) before the streams get their terminal events, and whatever
// they queue now would be dropped. Nil while writes succeed.
func (c *Conn) lostErr() error {
	if p := c.writeErr.Load(); p != nil {
		return fmt.Errorf("%w: %w", core.ErrConnectionLost, *p)
	}
	return nil
}

func (c *Conn) write(p []byte) error {
	if d := c.opts.writeTimeout(); d > 0 {
		_ = c.nc.SetWriteDeadline(c.deadlineNow().Add(d))
	}
	_, err := c.nc.Write(p)
	return err
}

// linger bounds how long a closing connection keeps reading after its
// last write, so that the peer sees our GOAWAY and a clean end of stream
// rather than a TCP reset caused by unread input.
const linger = time.Second

// finish closes the transport and releases everyone waiting on the
// connection. Where the transport can half-close, it first ends our
// direction and reads (and drops) what the peer still sends, for at most
// linger: closing a socket with unread input makes the kernel send a reset,
// which can destroy our GOAWAY in flight.
func (c *Conn) finish() {
	close(c.stopping)
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && c.writeErr.Load() == nil && cw.CloseWrite() == nil {
		_ = c.nc.SetReadDeadline(c.deadlineNow().Add(linger))
		<-c.readerDone
	}
	_ = c.nc.Close()
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	c.stopTimer()
	c.err = c.core.Err()
	for _, ch := range c.pings {
		close(ch)
	}
	c.pings = nil
	if c.openWait != nil {
		close(c.openWait)
	}
	leftover := len(c.queue) > 0
	c.mu.Unlock()
	if leftover {
		go c.deliver() // callbacks owed after the last delivery of the loops
	}
	c.cancel()
	close(c.done)
	if c.srv != nil {
		c.srv.forget(c)
	}
}

// deliver runs the callbacks owed to the application, in order, one at a
// time, without holding c.mu. Only the connection's own goroutines call
// it; if one is already delivering, the other leaves the work to it.
func (c *Conn) deliver() {
	c.mu.Lock()
	if c.delivering || len(c.queue) == 0 {
		c.mu.Unlock()
		return
	}
	c.delivering = true
	// Callbacks may enqueue more (under c.mu) while one runs: the loop
	// reads the length afresh, and the array is reused once all have run.
	for i := 0; i < len(c.queue); i++ {
		d := c.queue[i]
		c.queue[i] = delivery{}
		c.mu.Unlock()
		if d.start {
			c.srv.startHandler(d.s)
		} else {
			d.s.runHandler()
		}
		c.mu.Lock()
	}
	c.queue = c.queue[:0]
	c.delivering = false
	c.mu.Unlock()
}

// enqueue schedules a callback. c.mu is held.
func (c *Conn) enqueue(d delivery) {
	c.queue = append(c.queue, d)
}

// signalOpen wakes everyone waiting to open a stream. c.mu is held.
func (c *Conn) signalOpen() {
	if c.finished || c.openWait == nil {
		return
	}
	close(c.openWait)
	c.openWait = nil
}

// Done is closed when the connection has ended and its transport is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err reports why the connection ended: nil while it runs or after a clean
// close; otherwise a *core.ConnError (a protocol error, a timeout, or the
// peer's GOAWAY with an error code), core.ErrConnectionLost when the
// transport ended without one, or the transport's error.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return c.err
	}
	return c.core.Err()
}

// Close ends the connection at once: GOAWAY(NO_ERROR), every stream reset,
// the transport closed after the GOAWAY is written. Use Shutdown to let
// streams finish.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.core.Close(c.now(), frame.ErrCodeNo, "")
	c.unlock()
	return nil
}

// Shutdown closes the connection gracefully with the two-phase GOAWAY (RFC
// 9113 §6.8): streams already started finish, new ones are refused (a
// client may retry them elsewhere). It returns when the connection has
// ended, or with ctx's error, after closing the connection at once, if ctx
// ends first.
func (c *Conn) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	_ = c.core.GoAway(c.now())
	c.unlock()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.abort()
		<-c.done
		return ctx.Err()
	}
}

// abort ends the connection without waiting for the peer: GOAWAY is
// queued, and the transport is closed at once, which also unblocks a
// write stuck on a peer that stopped reading.
func (c *Conn) abort() {
	_ = c.Close()
	_ = c.nc.Close()
}

// Ping sends a PING (RFC 9113 §6.7) and waits for its acknowledgement,
// returning the round-trip time.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return 0, c.closedErr()
	}
	c.pingSeq++
	var data [8]byte
	for i := range data {
		data[i] = byte(c.pingSeq >> (56 - 8*i))
	}
	if err := c.core.Ping(c.now(), data); err != nil {
		c.mu.Unlock()
		return 0, err
	}
	ch := make(chan time.Duration, 1)
	if c.pings == nil {
		c.pings = make(map[[8]byte]chan time.Duration)
	}
	c.pings[data] = ch
	c.unlock()
	select {
	case rtt, ok := <-ch:
		if !ok {
			return 0, c.closedErr()
		}
		return rtt, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pings, data)
		c.mu.Unlock()
		return 0, ctx.Err()
	}
}

// closedErr is the error for an operation on a finished connection.
func (c *Conn) closedErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return core.ErrClosed
}

// LocalSettings returns the settings we advertised and the peer
// acknowledged.
func (c *Conn) LocalSettings() core.Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.LocalSettings()
}

// PeerSettings returns the settings the peer advertised.
func (c *Conn) PeerSettings() core.Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.PeerSettings()
}

// RTT returns the round-trip time measured by the latest acknowledged PING
// (Ping, or the core's keep-alive), or 0 before one.
func (c *Conn) RTT() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.RTT()
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns our address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// NetConn returns the transport. Reading or writing it breaks the
// connection; it is there for inspection (TLS state, socket options).
func (c *Conn) NetConn() net.Conn { return c.nc }

// GoAway returns the last GOAWAY the peer sent (LastStreamID, Code, Data),
// and false if it sent none.
func (c *Conn) GoAway() (core.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goaway == nil {
		return core.Event{}, false
	}
	g := *c.goaway
	g.Data = []byte(string(g.Data))
	return g, true
}

// CheckInvariants runs the core's invariant check (core.Conn.CheckInvariants)
// and checks the runtime's stream table against it: every stream the
// runtime tracks is one the core still knows of. For tests.
func (c *Conn) CheckInvariants() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.core.CheckInvariants(); err != nil {
		return err
	}
	for id, s := range c.streams {
		if s.terminal {
			return errors.New("h2: a finished stream is still in the table")
		}
		if st := c.core.StreamState(id); st == core.StateIdle {
			return errors.New("h2: the runtime tracks a stream the core never opened")
		}
	}
	return nil
}
