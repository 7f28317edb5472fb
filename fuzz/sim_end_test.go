package fuzz

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/memory"
)

// Per-turn budgets of an end: reads (each handed to Receive as it came, so
// the core sees the pipe's chunking) and the size of one read.
const (
	simReadsPerTurn = 64
	simReadSize     = 64 << 10
)

// simConn is one connection: a pipe and a core at each end.
type simConn struct {
	w        *simWorld
	idx      int
	client   *simClientApp
	ends     [2]*simEnd
	streams  map[uint32]*simStream // by stream ID; lookup only
	finished bool                  // both ends done, pipe closed

	// What the faults did to it, so that the checks can name the cause of
	// a lost stream or a timeout.
	broken        bool      // Break
	appClosed     [2]bool   // the side's app called Close
	goAwaySent    [2]bool   // the side's app called GoAway
	lastDisturbed time.Time // a stall ended, or the link was congested
	bandwidth     float64   // bytes per second the pipe carries (Buffer/Latency); 0: unlimited
}

// simEnd is one end of a connection: its core, its pipe end, the bytes
// between them, and the application state that belongs to the end.
type simEnd struct {
	w    *simWorld
	conn *simConn
	side simSide
	core *core.Conn
	cfg  core.Config
	pipe *memory.Conn

	in       []byte // read from the pipe, not yet consumed by Receive
	out      []byte // from PollTransmit; out[woff:] not yet written
	woff     int
	readDone bool  // the pipe's read side ended
	readErr  error // why (nil for EOF)
	writeErr error // a write failed: output is dropped
	closed   bool  // EventClosed was polled
	shut     bool  // CloseWrite called after the core closed
	done     bool  // shut and read to the end

	// Application state.
	live         []*simStream       // streams the app is running, in order
	consumes     simDue[simConsume] // manual flow control: Consume calls due later
	releases     simDue[uint32]     // server: ReleaseStream calls due later
	pings        [][8]byte          // PINGs sent and not acknowledged
	connected    bool
	peerSettings bool   // the peer's first SETTINGS arrived
	goAwayLast   uint32 // LastStreamID of the latest GOAWAY received
	goAwaySeen   bool
	stalled      bool // its reads are stalled (fault)
	churned      bool // settings churn changed what it advertises
	restore      bool // liveness: advertise the configured settings again
	consumeDelay time.Duration
	releaseDelay time.Duration
}

// simConsume is a Consume call an app will make.
type simConsume struct {
	id uint32
	n  int
}

// pump gives the end one turn: fire due timers, read and receive, run the
// application, transmit, write, and handle the end of the transport. It
// reports whether anything moved.
func (e *simEnd) pump() bool {
	if e.done {
		return false
	}
	moved := e.fireTimers()
	moved = e.receive() || moved
	if !e.closed {
		moved = e.act() || moved
	}
	moved = e.transmit() || moved
	moved = e.write() || moved
	moved = e.endTransport() || moved
	if err := e.core.CheckInvariants(); err != nil {
		e.fail("CheckInvariants: %v", err)
	}
	return moved
}

func (e *simEnd) fail(format string, args ...any) {
	e.w.fail(e.conn.idx, e.side, format, args...)
}

func (e *simEnd) record(en simEntry, data []byte) {
	en.conn, en.side = e.conn.idx, e.side
	e.w.record(en, data)
}

// fireTimers calls HandleTimeout once the core's deadline has passed.
func (e *simEnd) fireTimers() bool {
	if e.closed {
		return false
	}
	d, ok := e.core.PollTimeout()
	if !ok || e.w.now().Before(d) {
		return false
	}
	e.record(simEntry{op: "timeout"}, nil)
	e.core.HandleTimeout(e.w.now())
	e.drain()
	return true
}

// receive reads what the pipe delivers, one chunk at a time, and hands
// each chunk to Receive, keeping what the core does not consume for the
// next turn. After the core closed it reads only to see the end.
func (e *simEnd) receive() bool {
	moved := false
	for i := 0; i < simReadsPerTurn; i++ {
		if len(e.in) == 0 {
			if !e.readChunk() {
				break
			}
			moved = true
		}
		if e.closed || e.core.Phase() == core.PhaseClosing {
			e.in = e.in[:0] // nobody will consume it
			continue
		}
		n, err := e.core.Receive(e.w.now(), e.in)
		if n > 0 {
			moved = true
			e.record(simEntry{op: "recv", n: int64(n)}, e.in[:n])
		}
		e.drain() // before the shift: events borrow e.in
		e.in = e.in[:copy(e.in, e.in[n:])]
		if err != nil {
			e.in = e.in[:0]
			continue
		}
		if len(e.in) > 0 {
			break // back-pressure: the core wants its output drained first
		}
	}
	return moved
}

// readChunk reads one chunk into the empty e.in, reporting whether it got
// bytes. A read error ends the read side.
func (e *simEnd) readChunk() bool {
	if e.readDone {
		return false
	}
	if cap(e.in) < simReadSize {
		e.in = make([]byte, 0, simReadSize)
	}
	n, err := e.pipe.TryRead(e.in[:simReadSize])
	e.in = e.in[:n]
	if err != nil {
		e.readDone = true
		if !errors.Is(err, io.EOF) {
			e.readErr = err
		}
		e.record(simEntry{op: "read_end", detail: err.Error()}, nil)
	}
	return n > 0
}

// transmit collects the core's output while less than the plan's write
// batch is waiting (like the runtime's writer, which takes a new batch
// once the last one is out), draining the events PollTransmit queues.
func (e *simEnd) transmit() bool {
	moved := false
	for !e.closed && len(e.out)-e.woff < e.w.plan.writeBatch {
		n, wants := len(e.out), e.core.WantsOutput()
		e.out = e.core.PollTransmit(e.out)
		if len(e.out) > n && !wants {
			e.fail("WantsOutput was false, then PollTransmit gave %d bytes", len(e.out)-n)
		}
		polled := e.drain()
		if len(e.out) == n && !polled {
			break
		}
		moved = true
	}
	return moved
}

// write hands the waiting output to the pipe, as much as it takes. After a
// write error the output is dropped.
func (e *simEnd) write() bool {
	if e.woff == len(e.out) {
		return false
	}
	if e.writeErr != nil {
		e.out, e.woff = e.out[:0], 0
		return false
	}
	n, err := e.pipe.TryWrite(e.out[e.woff:])
	if n > 0 {
		e.record(simEntry{op: "write", n: int64(n)}, nil)
	}
	e.woff += n
	if e.woff == len(e.out) {
		e.out, e.woff = e.out[:0], 0
	} else if e.woff > len(e.out)/2 {
		e.out, e.woff = e.out[:copy(e.out, e.out[e.woff:])], 0
	}
	if err != nil {
		e.writeErr = err
		e.record(simEntry{op: "write_end", detail: err.Error()}, nil)
		return true
	}
	e.noteCongestion()
	return n > 0
}

// simCongestion is the delay behind unwritten output past which a slow
// link counts as a disturbance: PollTransmit hands out all the DATA the
// windows allow, and a control frame queued later (a SETTINGS or PING ACK)
// waits behind it, which on a slow link can outlast the peer's timeouts.
// A quarter of a short keep-alive period lowers it.
const simCongestion = 2 * time.Second

// noteCongestion records when the output waiting for a slow pipe would
// take long enough to drain to delay control frames past a timeout.
func (e *simEnd) noteCongestion() {
	cn := e.conn
	if cn.bandwidth == 0 {
		return
	}
	limit := simCongestion
	for _, end := range cn.ends {
		if k := end.cfg.Timeouts.KeepAlive; k > 0 {
			limit = min(limit, k/4)
		}
	}
	if float64(len(e.out)-e.woff) > cn.bandwidth*limit.Seconds() {
		cn.lastDisturbed = e.w.now()
	}
}

// endTransport tells the core its transport ended (once everything read
// was consumed), and half-closes the pipe once the core closed and its last
// bytes are written.
func (e *simEnd) endTransport() bool {
	moved := false
	if !e.closed && e.readDone && len(e.in) == 0 {
		err := e.readErr
		if e.writeErr != nil {
			err = e.writeErr
		}
		e.record(simEntry{op: "transport_closed"}, nil)
		e.core.HandleTransportClosed(e.w.now(), simTransportErr(err))
		e.drain()
		moved = true
	}
	if e.closed && !e.shut && (e.woff == len(e.out) || e.writeErr != nil) {
		_ = e.pipe.CloseWrite()
		e.shut = true
		moved = true
	}
	if e.shut && e.readDone && !e.done {
		e.done = true
		moved = true
	}
	return moved
}

// simTransportErr is what the runtime gives HandleTransportClosed: nil (so
// the core reports ErrConnectionLost) for an end of stream or our own
// close, the error itself otherwise.
func simTransportErr(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// drain polls every queued event, reporting whether there was any.
func (e *simEnd) drain() bool {
	any := false
	for {
		ev, ok := e.core.PollEvent()
		if !ok {
			return any
		}
		any = true
		e.onEvent(&ev)
	}
}

// maybeFinish closes the pipe once both ends are done.
func (cn *simConn) maybeFinish() {
	if cn.finished || !cn.ends[simClient].done || !cn.ends[simServer].done {
		return
	}
	cn.finished = true
	for _, e := range cn.ends {
		_ = e.pipe.Close()
	}
	cn.w.record(simEntry{conn: cn.idx, op: "finished"}, nil)
}

// disturbedSince reports whether a fault that can legitimately fire a
// timeout (a stall, a timer jump) touched cn at or after t.
func (cn *simConn) disturbedSince(t time.Time) bool {
	for _, e := range cn.ends {
		if e.stalled {
			return true
		}
	}
	return !cn.lastDisturbed.Before(t) || !cn.w.lastJump.Before(t)
}
