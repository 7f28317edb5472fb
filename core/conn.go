package core

import (
	"time"

	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// Role is the side of the connection a Conn plays.
type Role uint8

// Roles.
const (
	RoleClient Role = iota + 1
	RoleServer
)

func (r Role) String() string {
	if r == RoleClient {
		return "client"
	}
	return "server"
}

// Phase is the connection's life-cycle phase, in the order a connection goes
// through them.
type Phase uint8

// Connection phases.
const (
	// PhasePreface: waiting for the peer's connection preface (RFC 9113
	// §3.4).
	PhasePreface Phase = iota
	// PhaseSettings: the peer's preface arrived; waiting for it to
	// acknowledge our first SETTINGS.
	PhaseSettings
	// PhaseConnected: both prefaces exchanged and acknowledged.
	PhaseConnected
	// PhaseGoAwaySent: we sent GOAWAY; existing streams finish, no new ones.
	PhaseGoAwaySent
	// PhaseGoAwayReceived: the peer sent GOAWAY.
	PhaseGoAwayReceived
	// PhaseClosing: no stream is left or an error ended the connection; the
	// remaining output is being drained.
	PhaseClosing
	// PhaseClosed: nothing more will happen. The transport can be closed.
	PhaseClosed
)

var phaseNames = [...]string{"preface", "settings", "connected", "goaway_sent", "goaway_received", "closing", "closed"}

func (p Phase) String() string { return phaseNames[p] }

// clientPreface is the client connection preface (RFC 9113 §3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Conn is one HTTP/2 connection, client or server, as a pure state machine:
// bytes, commands and the current time go in; bytes, events and the next
// deadline come out. It does no I/O, starts no goroutines, reads no clock and
// is not safe for concurrent use.
//
// The methods fall into four families:
//
//   - inputs: Receive (bytes from the transport), HandleTimeout (a deadline
//     passed), HandleTransportClosed (the transport ended);
//   - commands: OpenStream, SendHeaders, SendData, SendTrailers, Respond,
//     ResetStream, ReleaseStream, Consume, Ping, GoAway, Close,
//     UpdateSettings;
//   - outputs: PollEvent, PollTransmit, PollTimeout;
//   - getters: Phase, LocalSettings, PeerSettings, StreamState, windows,
//     CheckInvariants and the rest.
//
// After every input or command, drain the outputs in this order: PollEvent
// until it reports false, then PollTransmit (write what it returns) — which
// can itself queue events (a stream ending as its last DATA leaves, a
// waiting request surfacing, EventClosed), so poll events again until both
// are empty — then PollTimeout (re-arm the one timer). Events borrow memory
// that the next Receive or HandleTimeout may reuse (see Event).
type Conn struct {
	cfg  Config
	role Role
	now  time.Time // the latest time given to any input or command

	// Life cycle.
	prefaceRead int  // bytes of the client magic matched (server)
	gotPreface  bool // the peer's first SETTINGS arrived
	connected   bool // and it acknowledged ours
	ackedOnce   bool // some SETTINGS of ours was acknowledged
	goAway      goAwayState
	closing     bool  // an error or the end of the last stream: drain output
	closed      bool  // PhaseClosed
	err         error // why the connection ended; nil for a clean close

	// Input.
	framesIn   int         // frames received, for liveness
	fr         frame.Frame // the frame being handled (a field, so it does not escape)
	in         inputBuffer
	hb         headerBlock
	hdrs       []HeaderField // decoded fields of the current input; see Event
	fieldsLent bool          // an event holds the fields of the block just ended

	// HPACK (RFC 7541): our encoder (hpack_enc.go), x/net's decoder.
	enc encoder
	dec *hpack.Decoder
	hpk hpackState

	// SETTINGS.
	local          localSettings
	peer           Settings
	recvMaxFrame   uint32 // ceilings of local settings; see localSettings.ceiling
	recvMaxList    uint32
	recvMaxConc    uint32
	recvExtConnect bool // we (may) have advertised ENABLE_CONNECT_PROTOCOL
	settingsBuf    []frame.Setting

	// Streams.
	streams      map[uint32]*stream // lookup only; iterate all
	all          streamList
	free         []*stream // recycled records
	nextLocalID  uint32
	lastPeerID   uint32 // highest stream ID the peer initiated
	activeLocal  int    // our streams open or half-closed
	activePeer   int    // peer's streams open or half-closed
	held         int    // server streams surfaced and not released
	pending      idQueue
	resets       resetRing
	recentClosed [16]uint32
	recentNext   int

	// Flow control (RFC 9113 §6.9).
	connIn  inflow
	connOut outflow

	// Output.
	out          []byte    // encoded frames not yet taken by PollTransmit
	outFrames    int       // frames queued, for the flood limits (see queueCommand)
	outControl   int       // control frames among them
	outApp       int       // bytes a client's commands queued (see queueCommand)
	sched        schedList // streams with DATA (or an END_STREAM) to send
	sendBuffered int       // sum of buffered DATA across streams
	writeBlocked []uint32  // streams owed an EventWritable
	hbuf         []byte    // scratch: a field block too long for one frame, being split
	clCache      [2]lengthString

	// PING.
	pings         []pendingPing
	keepAlive     bool      // our keep-alive PING is outstanding
	keepAliveSent time.Time // when the outstanding keep-alive PING was queued, for RTT
	lastRecv      time.Time
	rtt           time.Duration

	timers [numTimers]time.Time

	// Defences.
	resetBucket  bucket
	glitchBucket bucket
	forcedResets int

	events eventQueue
	mem    memAccount // running memory counters (memory.go)
}

type goAwayState struct {
	sent     uint8  // 0: none; 1: first phase (2^31-1) sent; 2: final sent
	lastSent uint32 // last-stream-id of our final GOAWAY
	recv     bool
	lastRecv uint32 // smallest last-stream-id the peer sent
	recvCode ErrCode
}

type pendingPing struct {
	data [8]byte
	sent time.Time
}

type lengthString struct {
	n int
	s string
}

// NewClient returns a client connection whose preface (magic, SETTINGS and
// the connection WINDOW_UPDATE) is already queued for PollTransmit. It fails
// only if cfg holds an out-of-range value.
func NewClient(now time.Time, cfg Config) (*Conn, error) {
	return newConn(now, RoleClient, cfg)
}

// NewServer returns a server connection waiting for the client preface. Its
// own preface (SETTINGS and the connection WINDOW_UPDATE) is queued
// immediately, as RFC 9113 §3.4 allows.
func NewServer(now time.Time, cfg Config) (*Conn, error) {
	return newConn(now, RoleServer, cfg)
}

func newConn(now time.Time, role Role, cfg Config) (*Conn, error) {
	cfg.fill()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Conn{
		cfg:      cfg,
		role:     role,
		now:      now,
		lastRecv: now,
		peer:     InitialSettings(),
		streams:  make(map[uint32]*stream),
	}
	c.nextLocalID = 2
	if role == RoleClient {
		c.nextLocalID = 1
	}
	c.peer.MaxConcurrentStreams = cfg.PeerMaxConcurrentStreams
	c.resetBucket.init(cfg.Limits.ResetRate, now)
	c.glitchBucket.init(cfg.Limits.Glitch, now)

	c.enc = newEncoder(cfg.MaxEncoderTableSize)
	c.dec = hpack.NewDecoder(InitialSettings().HeaderTableSize, c.onField)
	c.dec.SetMaxStringLength(2 * cfg.Limits.MaxHeaderBlockSize)

	c.hpk.allowed = InitialSettings().HeaderTableSize
	c.connIn.init(65535, int64(cfg.ConnectionWindowSize))
	c.connOut.avail = 65535
	c.local.acked = InitialSettings()

	// Our preface: the magic (client), then SETTINGS, then the connection
	// window increase.
	if role == RoleClient {
		c.out = append(c.out, clientPreface...)
	}
	want := InitialSettings()
	want.EnablePush = false
	want.MaxConcurrentStreams = cfg.MaxConcurrentStreams
	want.InitialWindowSize = cfg.InitialWindowSize
	want.MaxFrameSize = cfg.MaxFrameSize
	want.HeaderTableSize = cfg.HeaderTableSize
	want.MaxHeaderListSize = cfg.MaxHeaderListSize
	want.EnableConnectProtocol = cfg.EnableConnectProtocol && role == RoleServer
	if role == RoleServer {
		want.EnablePush = InitialSettings().EnablePush // servers do not send ENABLE_PUSH
	}
	c.sendSettings(want)
	if inc := int64(cfg.ConnectionWindowSize) - 65535; inc > 0 {
		c.connIn.avail += inc
		c.queueWindowUpdate(0, uint32(inc))
	}
	c.setTimer(timerPreface, cfg.Timeouts.Preface)
	c.setTimer(timerKeepAlive, cfg.Timeouts.KeepAlive)
	c.updateIdle()
	return c, nil
}

// Role reports whether c is a client or a server.
func (c *Conn) Role() Role { return c.role }

// Phase reports the connection's phase.
func (c *Conn) Phase() Phase {
	switch {
	case c.closed:
		return PhaseClosed
	case c.closing:
		return PhaseClosing
	case c.goAway.sent > 0:
		return PhaseGoAwaySent
	case c.goAway.recv:
		return PhaseGoAwayReceived
	case c.connected:
		return PhaseConnected
	case c.gotPreface:
		return PhaseSettings
	}
	return PhasePreface
}

// Err returns why the connection ended or is ending: nil while it runs or
// after a clean close; a *ConnError after a protocol error, a timeout, or a
// GOAWAY from the peer with a non-zero code (streams up to its last stream
// ID may still finish then); or ErrConnectionLost.
func (c *Conn) Err() error { return c.err }

// LocalSettings returns the settings we advertised that the peer has
// acknowledged.
func (c *Conn) LocalSettings() Settings { return c.local.acked }

// PeerSettings returns the settings the peer advertised (the RFC's initial
// values until its first SETTINGS frame arrives; MaxConcurrentStreams starts
// at Config.PeerMaxConcurrentStreams).
func (c *Conn) PeerSettings() Settings { return c.peer }

// RTT returns the round-trip time measured by the latest acknowledged PING
// (the application's, or the keep-alive's, Timeouts.KeepAlive), or 0 if none
// has been measured.
func (c *Conn) RTT() time.Duration { return c.rtt }

// StreamState returns the RFC 9113 §5.1 state of a stream: StateIdle for an
// identifier never used, StateClosed for one no longer tracked.
func (c *Conn) StreamState(id uint32) StreamState {
	if s := c.streams[id]; s != nil {
		return s.state
	}
	if c.isIdle(id) {
		return StateIdle
	}
	return StateClosed
}

// SendWindow returns how many bytes of DATA the peer currently allows on a
// stream (id 0: the connection). It can be negative (RFC 9113 §6.9.2).
func (c *Conn) SendWindow(id uint32) int64 {
	if id == 0 {
		return c.connOut.avail
	}
	if s := c.streams[id]; s != nil {
		return s.out.avail
	}
	return 0
}

// RecvWindow returns how many bytes of DATA the peer may still send on a
// stream (id 0: the connection) before it must wait for WINDOW_UPDATE.
func (c *Conn) RecvWindow(id uint32) int64 {
	if id == 0 {
		return c.connIn.avail
	}
	if s := c.streams[id]; s != nil {
		return s.in.avail
	}
	return 0
}

// Buffered returns the bytes SendData has buffered for a stream and not yet
// sent (id 0: across all streams).
func (c *Conn) Buffered(id uint32) int {
	if id == 0 {
		return c.sendBuffered
	}
	if s := c.streams[id]; s != nil {
		return s.buffered()
	}
	return 0
}

// CanOpenStream reports whether OpenStream would succeed now, concurrency
// and connection state permitting (the headers are not checked).
func (c *Conn) CanOpenStream() bool {
	return c.openStreamErr() == nil
}

// ActiveStreams returns the number of streams in the open and half-closed
// states initiated by us and by the peer.
func (c *Conn) ActiveStreams() (local, peer int) { return c.activeLocal, c.activePeer }

// HeldStreams returns the server streams surfaced to the application and not
// yet released, and the streams waiting for one of them to be released.
func (c *Conn) HeldStreams() (held, pending int) { return c.held, c.pending.len() }

// QueuedOutput returns the bytes waiting for PollTransmit in the frame queue
// (control frames and field blocks; buffered DATA is reported by Buffered).
func (c *Conn) QueuedOutput() int { return len(c.out) }

// WantsInput reports whether Receive would consume bytes now. It is false
// while queued output (for a client, not counting its own requests) is
// above Limits.OutputHighWater or unpolled events above
// Limits.MaxQueuedEvents, and once the connection is closing.
func (c *Conn) WantsInput() bool {
	return !c.closing && !c.closed && !c.inputBlocked()
}

// WantsOutput reports whether PollTransmit has work: queued frames, stream
// content the flow-control windows let go, or a closing connection to
// take to PhaseClosed. A runtime can run its writer only while it is true.
func (c *Conn) WantsOutput() bool {
	if c.closed {
		return false
	}
	if len(c.out) > 0 || c.closing {
		return true
	}
	// writeData stops at a head stream with content while the connection
	// window is shut; a stream whose own window is shut leaves the queue.
	h := c.sched.head
	return h != nil && (c.connOut.avail > 0 || h.buffered() == 0)
}

func (c *Conn) inputBlocked() bool {
	return len(c.out)-c.outApp >= c.cfg.Limits.OutputHighWater || c.events.n >= c.cfg.Limits.MaxQueuedEvents
}

// PollEvent returns the next event, oldest first, and false when there is
// none.
func (c *Conn) PollEvent() (Event, bool) {
	e, ok := c.events.pop()
	if ok && c.mem.eventCopied > 0 {
		c.mem.eventCopied--
		c.mem.eventBytes -= eventBytes(&e)
	}
	return e, ok
}

func (c *Conn) emit(e Event) { c.events.push(e) }
