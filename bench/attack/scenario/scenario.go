package scenario

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// An Outcome is what a server did to an attacking connection, as a runner
// sees it from the client side.
type Outcome string

// Outcomes. The strings are part of the attack client's JSON output.
const (
	// OutcomeGoAway: the server sent GOAWAY (and usually closed).
	OutcomeGoAway Outcome = "goaway"
	// OutcomeRST: the connection stayed open but the server reset the
	// attack's streams with RST_STREAM.
	OutcomeRST Outcome = "rst"
	// OutcomeClosed: the server closed the transport without a GOAWAY.
	OutcomeClosed Outcome = "closed"
	// OutcomeOpen: the connection was still open when the attack ended
	// or the time ran out; for kinds whose defence is a bound rather than
	// a close (data dribble, slow reading) this is the expected result.
	OutcomeOpen Outcome = "timeout-still-open"
)

// An Expect is one acceptable server reaction to a scenario.
type Expect struct {
	Outcome Outcome
	// Code is the GOAWAY or RST_STREAM error code (ignored for
	// OutcomeClosed and OutcomeOpen).
	Code frame.ErrCode
	// Abuse is the defence of our core that should fire (its name is the
	// GOAWAY debug data); AbuseNone when the reaction is an RFC error or
	// a timer.
	Abuse core.AbuseKind
	// Debug is the expected GOAWAY debug text when Abuse is AbuseNone
	// ("" means any).
	Debug string
	// Status, with OutcomeOpen, is the HTTP status the server refuses each
	// attack request with while keeping the connection (e.g. 431).
	Status int
}

func (e Expect) String() string {
	switch e.Outcome {
	case OutcomeOpen, OutcomeClosed:
		if e.Status != 0 {
			return string(e.Outcome) + " HTTP " + strconv.Itoa(e.Status)
		}
		return string(e.Outcome)
	}
	s := string(e.Outcome) + " " + e.Code.String()
	if e.Abuse != core.AbuseNone {
		s += " " + e.Abuse.String()
	} else if e.Debug != "" {
		s += " " + e.Debug
	}
	return s
}

// DebugText is the GOAWAY debug data the expectation implies ("" if any).
func (e Expect) DebugText() string {
	if e.Abuse != core.AbuseNone {
		return e.Abuse.String()
	}
	return e.Debug
}

// Scenario is one attack (or one legitimate workload near a limit) in the
// catalogue. Scenarios are values: build a Script from one for each run.
type Scenario struct {
	// Name is the kebab-case kind given on the attack client's command
	// line, e.g. "ping-flood".
	Name string
	// Description says what the attacker does and which CVE or paper it
	// reproduces.
	Description string
	// Defence names the limit or rule that should stop it.
	Defence string
	// Expect lists the acceptable reactions of a server: the first is our
	// core's reaction to a client that keeps reading; later ones are
	// equally bounded alternatives (e.g. a queue-flood close when the
	// client does not read). Empty for a legitimate workload, which must
	// not be stopped.
	Expect []Expect
	// Legit names the paired legitimate workload near the same limit, or,
	// for a legitimate workload, the attack it pairs with.
	Legit string
	// IsLegit marks a legitimate workload: the server must serve it.
	IsLegit bool
	// DefaultN is the attack size (frames, streams or header blocks, see
	// Unit) when Options.N is 0. Chosen to pass our default limits.
	DefaultN int
	// Unit says what N counts.
	Unit string
	// NoRead tells the runner not to read the server's output until the
	// attack is over: the attack is the unread output (queue floods,
	// internal buffering, slow reading).
	NoRead bool
	// Wait tells the runner to keep the connection until its time runs
	// out instead of leaving after a short settle: the defence is a timer
	// (idle preface, slow reading).
	Wait bool

	build func(s *Script, o Options)
}

// Options parameterise a Script. The zero value takes every default.
type Options struct {
	// N is the attack size; 0 means Scenario.DefaultN.
	N int
	// Authority is the :authority of requests. Default "localhost".
	Authority string
	// Scheme is the :scheme of requests. Default "http".
	Scheme string
	// Path is a small resource the server answers at once. Default "/".
	Path string
	// LargePath is a resource with a large body (≥ 1 MiB), for attacks
	// that need a response to stay in flight. Default "/large".
	LargePath string
	// PerRound is the number of frames per round; a round that would end
	// inside a field block is extended to the block's end, up to 4 ×
	// PerRound. Default 64.
	PerRound int
}

func (o *Options) fill(sc *Scenario) {
	if o.N <= 0 {
		o.N = sc.DefaultN
	}
	if o.Authority == "" {
		o.Authority = "localhost"
	}
	if o.Scheme == "" {
		o.Scheme = "http"
	}
	if o.Path == "" {
		o.Path = "/"
	}
	if o.LargePath == "" {
		o.LargePath = "/large"
	}
	if o.PerRound <= 0 {
		o.PerRound = 64
	}
}

// Script returns the attacker's bytes for one run, in rounds.
func (sc *Scenario) Script(o Options) *Script {
	o.fill(sc)
	s := &Script{Scenario: sc, Options: o, nextID: 1}
	sc.build(s, o)
	s.flush()
	return s
}

// Script is the attacker's side of one run: the setup (connection preface,
// SETTINGS, SETTINGS ACK and any streams the attack needs) and then the
// attack, as a bounded sequence of rounds. A runner writes round after
// round and may stop early once the server has closed.
type Script struct {
	Scenario *Scenario
	Options  Options

	rounds [][]byte
	frames []int  // frames in each round
	safe   []bool // the round ends outside a field block
	answer []int  // streams the server must answer, cumulative per round
	nAns   int
	open   bool // a field block is open (HEADERS or CONTINUATION without END_HEADERS)
	cur    []byte
	curN   int
	nextID uint32
	total  int
}

// Rounds is the number of rounds.
func (s *Script) Rounds() int { return len(s.rounds) }

// Round returns round i's bytes and the number of frames in it.
func (s *Script) Round(i int) ([]byte, int) { return s.rounds[i], s.frames[i] }

// Interruptible reports whether round i ends outside a field block, so
// that a runner may send a frame of its own (a PING) after it: inside a
// block any other frame is a connection error (RFC 9113 §6.10).
func (s *Script) Interruptible(i int) bool { return s.safe[i] }

// Answers is the number of streams opened up to the end of round i that
// the server is expected to answer (a response or a reset). A legitimate
// client, which respects SETTINGS_MAX_CONCURRENT_STREAMS, waits for them
// before its next round.
func (s *Script) Answers(i int) int { return s.answer[i] }

// Frames is the number of frames in the whole script (the preface magic
// is not a frame).
func (s *Script) Frames() int { return s.total }

// Bytes is the size of the whole script.
func (s *Script) Bytes() int {
	n := 0
	for _, r := range s.rounds {
		n += len(r)
	}
	return n
}

// NextStreamID is the first client stream ID the script did not use: a
// runner probes the connection with a request on it.
func (s *Script) NextStreamID() uint32 { return s.nextID }

// ProbeRequest returns HEADERS(END_STREAM|END_HEADERS) for a GET of
// Options.Path on stream id, encoded without touching the HPACK table.
func (s *Script) ProbeRequest(id uint32) []byte {
	return headers(id, true, true, s.request("GET", s.Options.Path))
}

// add appends one frame to the current round, first closing the round if
// it is full. A round ends outside a field block when it can (so that a
// runner may interleave a frame), or at 4 × PerRound inside an endless one.
// Closing lazily keeps what a scenario notes right after add (answered) in
// the frame's round.
func (s *Script) add(f []byte) {
	if s.curN >= s.Options.PerRound && (!s.open || s.curN >= 4*s.Options.PerRound) {
		s.flush()
	}
	switch frame.Type(f[3]) {
	case frame.TypeHeaders, frame.TypeContinuation:
		s.open = !frame.Flags(f[4]).Has(frame.FlagHeadersEndHeaders)
	}
	s.cur = append(s.cur, f...)
	s.curN++
	s.total++
}

// addRaw appends bytes that are not a frame (the preface magic).
func (s *Script) addRaw(b []byte) { s.cur = append(s.cur, b...) }

// flush closes the current round.
func (s *Script) flush() {
	if len(s.cur) == 0 {
		return
	}
	s.rounds = append(s.rounds, s.cur)
	s.frames = append(s.frames, s.curN)
	s.safe = append(s.safe, !s.open)
	s.answer = append(s.answer, s.nAns)
	s.cur, s.curN = nil, 0
}

// answered notes that the server must answer the stream just opened.
func (s *Script) answered() { s.nAns++ }

// newStream returns the next client stream ID.
func (s *Script) newStream() uint32 {
	id := s.nextID
	s.nextID += 2
	return id
}

// request encodes a request's pseudo-header fields and extra fields.
func (s *Script) request(method, path string, extra ...string) []byte {
	b := appendFields(nil, ":method", method, ":scheme", s.Options.Scheme,
		":authority", s.Options.Authority, ":path", path)
	return appendFields(b, extra...)
}

// ClientPreface is the client connection preface magic (RFC 9113 §3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// handshake adds the preface, our SETTINGS and an ACK of the server's
// (sent blind: a server's SETTINGS are always its first frame), then ends
// the round so the attack starts in a round of its own.
func (s *Script) handshake(settings ...frame.Setting) {
	s.addRaw([]byte(ClientPreface))
	s.add(frame.AppendSettings(nil, settings))
	s.add(frame.AppendSettingsAck(nil))
	s.flush()
}

// Handshake returns a client's opening bytes: the preface magic, a
// SETTINGS frame with settings, and a blind ACK of the server's SETTINGS.
func Handshake(settings ...frame.Setting) []byte {
	b := append([]byte(ClientPreface), frame.AppendSettings(nil, settings)...)
	return frame.AppendSettingsAck(b)
}

// headers builds one HEADERS frame.
func headers(id uint32, endStream, endHeaders bool, block []byte) []byte {
	return frame.AppendHeaders(nil, frame.HeadersParam{StreamID: id, Fragment: block,
		EndStream: endStream, EndHeaders: endHeaders})
}

// catalogue is every scenario, attacks first, in the order.
var catalogue []*Scenario

func register(sc ...*Scenario) { catalogue = append(catalogue, sc...) }

// All returns every scenario, attacks and legitimate workloads.
func All() []*Scenario { return slices.Clone(catalogue) }

// Attacks returns the attack scenarios.
func Attacks() []*Scenario {
	var a []*Scenario
	for _, sc := range catalogue {
		if !sc.IsLegit {
			a = append(a, sc)
		}
	}
	return a
}

// Lookup returns the scenario called name.
func Lookup(name string) (*Scenario, error) {
	for _, sc := range catalogue {
		if sc.Name == name {
			return sc, nil
		}
	}
	return nil, fmt.Errorf("attack: unknown kind %q (see -list)", name)
}

// SplitFrames splits b, which may start with the client preface magic,
// into the magic (if present) and whole frames; a trailing partial frame
// is returned last, as is.
func SplitFrames(b []byte) [][]byte {
	var out [][]byte
	if len(b) >= len(ClientPreface) && string(b[:len(ClientPreface)]) == ClientPreface {
		out = append(out, b[:len(ClientPreface)])
		b = b[len(ClientPreface):]
	}
	for len(b) > 0 {
		n := len(b)
		if len(b) >= frame.HeaderLen {
			n = min(n, frame.HeaderLen+payloadLen(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// CountFrames counts the whole frames in b (after an optional preface).
func CountFrames(b []byte) int {
	n := 0
	for _, f := range SplitFrames(b) {
		if string(f) == ClientPreface || len(f) < frame.HeaderLen {
			continue
		}
		if len(f) == frame.HeaderLen+payloadLen(f) {
			n++
		}
	}
	return n
}

// payloadLen reads the 24-bit length of a frame header (RFC 9113 §4.1).
func payloadLen(h []byte) int { return int(h[0])<<16 | int(h[1])<<8 | int(h[2]) }
