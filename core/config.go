package core

import (
	"errors"
	"time"

	"github.com/h2proto/h2/core/frame"
)

// Config configures a Conn. The zero value of every field means its default
// (see DefaultConfig); durations in Timeouts may be set negative to disable a
// timer. A Config is copied by NewClient and NewServer; later changes to it
// have no effect.
type Config struct {
	// MaxConcurrentStreams is the SETTINGS_MAX_CONCURRENT_STREAMS we
	// advertise: how many streams the peer may have open at once. RFC 9113
	// §5.1.2 recommends at least 100. Default 100.
	MaxConcurrentStreams uint32

	// InitialWindowSize is the SETTINGS_INITIAL_WINDOW_SIZE we advertise: the
	// receive window of each stream. Smaller than Go's 1 MiB so one stalled
	// stream cannot take the whole connection window. Default 256 KiB.
	InitialWindowSize uint32

	// ConnectionWindowSize is the connection-level receive window, raised from
	// the initial 65,535 with a WINDOW_UPDATE right after the preface (RFC
	// 9113 §6.9.2). It bounds request-body bytes buffered per connection.
	// Default 1 MiB.
	ConnectionWindowSize uint32

	// MaxFrameSize is the SETTINGS_MAX_FRAME_SIZE we advertise: the largest
	// frame payload we accept. Default 16 KiB (the RFC's initial value).
	MaxFrameSize uint32

	// HeaderTableSize is the SETTINGS_HEADER_TABLE_SIZE we advertise: the
	// size of our HPACK decoder's dynamic table (RFC 7541 §4.2). Default 4096.
	HeaderTableSize uint32

	// MaxHeaderListSize is the SETTINGS_MAX_HEADER_LIST_SIZE we advertise and
	// enforce while decoding (name + value + 32 per field, RFC 7541 §4.1). A
	// larger request is answered 431; a larger response resets the stream.
	// Default 64 KiB.
	MaxHeaderListSize uint32

	// EnableConnectProtocol advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 1
	// (RFC 8441 §3) from a server, accepting extended CONNECT requests. Off by
	// default: browsers take the setting as "WebSockets over HTTP/2 work".
	EnableConnectProtocol bool

	// MaxEncoderTableSize caps our HPACK encoder's dynamic table whatever
	// the peer's SETTINGS_HEADER_TABLE_SIZE allows, bounding the memory a
	// peer can make us spend. Default 4096.
	MaxEncoderTableSize uint32

	// MaxSendFrameSize caps the payload of frames we send, below the peer's
	// SETTINGS_MAX_FRAME_SIZE; small frames keep round-robin scheduling fair.
	// Default 16 KiB.
	MaxSendFrameSize uint32

	// PeerMaxConcurrentStreams is the concurrency limit a client assumes for
	// the server until the server's SETTINGS set one — and keeps if they
	// never do (the RFC's initial value is unlimited, which would let a
	// client overrun any real server). Default 100.
	PeerMaxConcurrentStreams uint32

	// ManualFlowControl puts every stream the peer opens (a server's
	// requests) in manual receive flow control, as StreamOptions does for a
	// client's streams: only Consume returns credit, so the application
	// bounds what it buffers. A runtime that hands bodies to readers sets it
	// and calls Consume as they read. Off by default.
	ManualFlowControl bool

	Limits   Limits
	Timeouts Timeouts
	Relax    Relax
}

// Limits are the abuse defences (DESIGN §5). Each one, when exceeded by the
// peer, closes the connection with GOAWAY ENHANCE_YOUR_CALM and an
// EventAbuse naming it, unless its doc says otherwise.
type Limits struct {
	// MaxSettingsEntries caps parameters per received SETTINGS frame,
	// checked before any is applied (nghttp2 uses 32). Default 32.
	MaxSettingsEntries int

	// MaxQueuedControlFrames caps control frames (SETTINGS and PING ACKs,
	// RST_STREAM, WINDOW_UPDATE, keep-alive PING) waiting in the output queue
	// for PollTransmit: a peer that floods us and never reads can otherwise
	// grow our output without bound (CVE-2019-9512, -9514, -9515). Checked
	// after each received frame and timer; a driver that drains PollTransmit
	// after every command, as documented, never trips it itself, and one
	// that drains whenever Receive returns early (it yields at half this
	// limit) never trips it for a peer that reads. Default 1,000.
	MaxQueuedControlFrames int

	// MaxQueuedFrames caps all frames waiting in the output queue, checked
	// at the same points; a client's own commands (its requests) are not
	// counted. Default 5,000.
	MaxQueuedFrames int

	// OutputHighWater is the size of queued output above which Receive stops
	// consuming input, so that a peer cannot make us buffer replies faster
	// than it reads them (h2o uses 512 KiB). A client's own commands (its
	// requests) do not count, or a client and a server whose transports are
	// full could each wait for the other to read. Not an abuse: input
	// resumes once PollTransmit drains the queue. Default 512 KiB.
	OutputHighWater int

	// StreamSendBuffer caps bytes buffered by SendData for one stream while
	// flow control holds them; past it SendData returns ErrSendBufferFull.
	// Default 64 KiB.
	StreamSendBuffer int

	// ConnSendBuffer caps bytes buffered by SendData across all streams.
	// Default 1 MiB.
	ConnSendBuffer int

	// ResetRate is the token bucket on received RST_STREAM frames that
	// defeats Rapid Reset (CVE-2023-44487; nghttp2's numbers). Default
	// burst 1,000, 33 per second.
	ResetRate Rate

	// MaxForcedResets caps RST_STREAM frames the peer made us send by
	// breaking stream rules, per connection (MadeYouReset, CVE-2025-8671;
	// hyper uses 1,024). Default 1,024.
	MaxForcedResets int

	// Glitch is the token bucket for legal but suspicious frames: PRIORITY,
	// unknown frame types, empty non-final DATA, empty CONTINUATION, and
	// stream errors the peer provoked (nghttp2 ≥ 1.69's numbers). Default
	// burst 10,000, 330 per second.
	Glitch Rate

	// MaxContinuations caps CONTINUATION frames in one field block
	// (CONTINUATION flood, 2024; nghttp2 uses 8). Default 8.
	MaxContinuations int

	// MaxHeaderBlockSize caps the encoded size of one field block across
	// HEADERS and CONTINUATION frames. Default 2 × MaxHeaderListSize.
	MaxHeaderBlockSize int

	// MaxPendingStreams caps server streams the peer opened while the
	// application already held MaxConcurrentStreams of them, waiting to be
	// surfaced (Go's Rapid Reset defence counts handlers the same way).
	// Waiting streams are open streams, so SETTINGS_MAX_CONCURRENT_STREAMS
	// already bounds them (excess ones are refused with REFUSED_STREAM):
	// this cap only bites when set below MaxConcurrentStreams, and stays as
	// a second line should that accounting change. Default 4 ×
	// MaxConcurrentStreams (DESIGN §5).
	MaxPendingStreams int

	// MaxQueuedEvents is the number of unpolled events above which Receive
	// stops consuming input until PollEvent drains them. Not an abuse.
	// Default 4,096.
	MaxQueuedEvents int

	// MaxPings caps PINGs sent with Ping and not yet acknowledged; more
	// return ErrTooManyPings. Default 16.
	MaxPings int

	// MaxPendingSettings caps SETTINGS frames sent with UpdateSettings and
	// not yet acknowledged; more return ErrTooManySettings. Default 8.
	MaxPendingSettings int

	// MaxResetStreams caps streams we reset and still remember, so that
	// frames the peer sent before seeing our RST_STREAM are ignored (RFC
	// 9113 §5.1) instead of treated as errors. Default 1,024.
	MaxResetStreams int

	// MaxConnMemory caps the memory the connection holds, as Conn.Memory
	// accounts it (input and output buffers, send buffers, field blocks,
	// HPACK tables, stream records, pending streams, queued events),
	// checked after every received frame and timer, so the figure can pass
	// it by what one frame adds. It is the backstop of DESIGN §5's "under
	// 3 MiB under every attack". The other defaults bound the parts: send
	// buffers 1 MiB (capacity kept under 1.25 MiB), output 512 KiB
	// high-water, pending streams' content by the 1 MiB receive window,
	// records, tables and input buffers about 150 KiB for 100 streams. A
	// busy legitimate connection measures under 1.5 MiB
	// (TestMemoryHeavyLegitimate); reaching 3 MiB takes a peer that at
	// once withholds window, stops reading and parks streams, or growth no
	// other limit bounds (one Receive of many field blocks of one-byte
	// indexed fields decodes into 40-byte slots). The application's own
	// growth counts too: it is bounded by the send-buffer limits, and by
	// polling events as documented. Default 3 MiB, plus what the other
	// fields add above their own defaults (ConnectionWindowSize,
	// ConnSendBuffer × 1.25, OutputHighWater, twice MaxFrameSize for the
	// two input buffers, the two HPACK tables), so raising those does not
	// need raising this too. A value below the HPACK tables' allowance
	// plus a Conn's fixed size is refused by NewClient and NewServer.
	MaxConnMemory int
}

// A Rate is a token bucket: Burst tokens at most, refilled at PerSecond.
type Rate struct {
	Burst     int
	PerSecond int
}

// Timeouts are the core's timers. A zero field takes its default; a negative
// one disables the timer.
type Timeouts struct {
	// Preface bounds the wait for the peer's connection preface (RFC 9113
	// §3.4): the client magic and first SETTINGS for a server, the first
	// SETTINGS for a client. Default 10 s.
	Preface time.Duration

	// SettingsAck bounds the wait for the ACK of each SETTINGS frame we send;
	// expiry closes with SETTINGS_TIMEOUT (RFC 9113 §6.5.3). Default 10 s.
	SettingsAck time.Duration

	// HeaderBlock bounds the time from a HEADERS frame without END_HEADERS
	// to the CONTINUATION that ends its block (slow-headers abuse). Default
	// 10 s.
	HeaderBlock time.Duration

	// Idle closes a connection (GOAWAY NO_ERROR) that has had no stream for
	// this long. Default 60 s.
	Idle time.Duration

	// KeepAlive sends a PING after this long without receiving a frame, and
	// closes the connection when no frame arrives for as long again.
	// Default 15 s.
	KeepAlive time.Duration

	// GoAwayDrain bounds the first phase of a graceful GoAway: the final
	// GOAWAY is sent when the PING that followed GOAWAY(2^31-1) is
	// acknowledged, or after this long. Default 1 s.
	GoAwayDrain time.Duration

	// ResetGrace is how long we ignore frames on a stream after resetting
	// it; later frames are treated as for any closed stream. For a reset
	// made by a command (ResetStream, ReleaseStream), which takes no time,
	// it counts from the next Receive or HandleTimeout. Default 10 s.
	ResetGrace time.Duration
}

// Relax switches off individual RFC 9113 §8 rules for peers in the wild that
// break them. All are off (strict) by default.
type Relax struct {
	// HostAuthorityMismatch accepts requests whose host field differs from
	// :authority (RFC 9113 §8.3.1 says SHOULD treat as malformed).
	HostAuthorityMismatch bool

	// FieldValueWhitespace accepts field values with leading or trailing
	// whitespace (RFC 9113 §8.2.1).
	FieldValueWhitespace bool
}

// DefaultConfig returns the defaults of DESIGN §5 with every field filled.
func DefaultConfig() Config {
	var c Config
	c.fill()
	return c
}

func orDefault[T ~int | ~uint32](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

func orDefaultDuration(v *time.Duration, def time.Duration) {
	if *v == 0 {
		*v = def
	}
}

// fill replaces zero fields with their defaults.
func (c *Config) fill() {
	orDefault(&c.MaxConcurrentStreams, 100)
	orDefault(&c.InitialWindowSize, 256<<10)
	orDefault(&c.ConnectionWindowSize, 1<<20)
	orDefault(&c.MaxFrameSize, frame.MinMaxFrameSize)
	orDefault(&c.HeaderTableSize, 4096)
	orDefault(&c.MaxHeaderListSize, 64<<10)
	orDefault(&c.MaxEncoderTableSize, 4096)
	orDefault(&c.MaxSendFrameSize, frame.MinMaxFrameSize)
	orDefault(&c.PeerMaxConcurrentStreams, 100)

	l := &c.Limits
	orDefault(&l.MaxSettingsEntries, 32)
	orDefault(&l.MaxQueuedControlFrames, 1000)
	orDefault(&l.MaxQueuedFrames, 5000)
	orDefault(&l.OutputHighWater, 512<<10)
	orDefault(&l.StreamSendBuffer, 64<<10)
	orDefault(&l.ConnSendBuffer, 1<<20)
	orDefault(&l.ResetRate.Burst, 1000)
	orDefault(&l.ResetRate.PerSecond, 33)
	orDefault(&l.MaxForcedResets, 1024)
	orDefault(&l.Glitch.Burst, 10000)
	orDefault(&l.Glitch.PerSecond, 330)
	orDefault(&l.MaxContinuations, 8)
	orDefault(&l.MaxHeaderBlockSize, 2*int(c.MaxHeaderListSize))
	orDefault(&l.MaxPendingStreams, 4*int(c.MaxConcurrentStreams))
	orDefault(&l.MaxQueuedEvents, 4096)
	orDefault(&l.MaxPings, 16)
	orDefault(&l.MaxPendingSettings, 8)
	orDefault(&l.MaxResetStreams, 1024)
	orDefault(&l.MaxConnMemory, defaultConnMemory(c))

	t := &c.Timeouts
	orDefaultDuration(&t.Preface, 10*time.Second)
	orDefaultDuration(&t.SettingsAck, 10*time.Second)
	orDefaultDuration(&t.HeaderBlock, 10*time.Second)
	orDefaultDuration(&t.Idle, 60*time.Second)
	orDefaultDuration(&t.KeepAlive, 15*time.Second)
	orDefaultDuration(&t.GoAwayDrain, time.Second)
	orDefaultDuration(&t.ResetGrace, 10*time.Second)
}

// validate reports the first field outside its legal range.
func (c *Config) validate() error {
	switch {
	case c.InitialWindowSize > frame.MaxWindowSize:
		return errors.New("h2: Config.InitialWindowSize above 2^31-1 (RFC 9113 §6.5.2)")
	case c.ConnectionWindowSize > frame.MaxWindowSize || c.ConnectionWindowSize < 65535:
		return errors.New("h2: Config.ConnectionWindowSize outside [65535, 2^31-1] (RFC 9113 §6.9.2)")
	case c.MaxFrameSize < frame.MinMaxFrameSize || c.MaxFrameSize > frame.MaxMaxFrameSize:
		return errors.New("h2: Config.MaxFrameSize outside [2^14, 2^24-1] (RFC 9113 §6.5.2)")
	case c.MaxSendFrameSize < frame.MinMaxFrameSize || c.MaxSendFrameSize > frame.MaxMaxFrameSize:
		return errors.New("h2: Config.MaxSendFrameSize outside [2^14, 2^24-1]")
	case c.Limits.MaxSettingsEntries < 8:
		return errors.New("h2: Config.Limits.MaxSettingsEntries below 8 would refuse ordinary peers")
	}
	if c.Limits.MaxConnMemory > 0 && c.Limits.MaxConnMemory < connFixedSize+int(c.HeaderTableSize)+int(c.MaxEncoderTableSize) {
		return errors.New("h2: Config.Limits.MaxConnMemory below a connection's fixed cost (its HPACK tables)")
	}
	l := limitValues(&c.Limits)
	for _, v := range l {
		if v < 0 {
			return errors.New("h2: negative value in Config.Limits")
		}
	}
	return nil
}

func limitValues(l *Limits) []int {
	return []int{l.MaxSettingsEntries, l.MaxQueuedControlFrames, l.MaxQueuedFrames,
		l.OutputHighWater, l.StreamSendBuffer, l.ConnSendBuffer, l.ResetRate.Burst,
		l.ResetRate.PerSecond, l.MaxForcedResets, l.Glitch.Burst, l.Glitch.PerSecond,
		l.MaxContinuations, l.MaxHeaderBlockSize, l.MaxPendingStreams, l.MaxQueuedEvents,
		l.MaxPings, l.MaxPendingSettings, l.MaxResetStreams, l.MaxConnMemory}
}
