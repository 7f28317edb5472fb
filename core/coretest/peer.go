package coretest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// ClientPreface is the client connection preface (RFC 9113 §3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// TestPeer puts a Conn under test opposite a scripted peer: the test plays
// the other side frame by frame. Failures are reported through T.
type TestPeer struct {
	T    testing.TB
	Conn *core.Conn
	Now  time.Time
	FB   *FrameBuilder

	// Events holds events polled from Conn, copied, not yet taken by
	// WantEvent.
	Events []core.Event

	// Handler, if set, plays the application: it is called with each event
	// as it is polled (after it is recorded in Events) and may call commands
	// on Conn.
	Handler func(p *TestPeer, e core.Event)

	out []byte         // bytes from Conn not yet taken by WantFrame
	dec *hpack.Decoder // decodes Conn's field blocks for assertions
	hdr []hpack.HeaderField
}

// NewServerPeer returns a TestPeer acting as client for a server Conn built
// from cfg. Nothing is exchanged yet; see Handshake.
func NewServerPeer(t testing.TB, cfg core.Config) *TestPeer {
	c, err := core.NewServer(Epoch, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newPeer(t, c)
}

// NewClientPeer returns a TestPeer acting as server for a client Conn.
func NewClientPeer(t testing.TB, cfg core.Config) *TestPeer {
	c, err := core.NewClient(Epoch, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newPeer(t, c)
}

func newPeer(t testing.TB, c *core.Conn) *TestPeer {
	p := &TestPeer{T: t, Conn: c, Now: Epoch, FB: NewFrameBuilder()}
	p.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { p.hdr = append(p.hdr, f) })
	return p
}

// Handshake exchanges prefaces: the peer sends its preface (with the given
// settings) and acknowledges the Conn's SETTINGS; the Conn's preface frames
// are checked and consumed, and its ACK of ours awaited. Events are cleared.
func (p *TestPeer) Handshake(settings ...frame.Setting) {
	p.T.Helper()
	if p.Conn.Role() == core.RoleServer {
		p.WriteBytes([]byte(ClientPreface))
	} else {
		p.WantBytes("client preface", []byte(ClientPreface))
	}
	p.WriteFrames(p.FB.Settings(settings...))
	p.WantFrame("the Conn's SETTINGS", frame.TypeSettings)
	if w, ok := p.peekFrame(); ok && w.Type == frame.TypeWindowUpdate && w.StreamID == 0 {
		p.WantFrame("connection window increase", frame.TypeWindowUpdate)
	}
	p.WriteFrames(p.FB.SettingsAck())
	p.WantFrame("ACK of our SETTINGS", frame.TypeSettings, IsAck)
	p.Events = p.Events[:0]
}

// WriteBytes feeds raw bytes to the Conn, requiring it to take them all
// unless it closes, then polls its events.
func (p *TestPeer) WriteBytes(b []byte) {
	p.T.Helper()
	for len(b) > 0 {
		n, err := p.Conn.Receive(p.Now, b)
		b = b[n:]
		p.pollEvents()
		if err != nil {
			return
		}
		if n == 0 && len(b) > 0 {
			p.collect()
			if !p.Conn.WantsInput() {
				p.T.Fatalf("coretest: Conn refuses input (output %d bytes queued)", p.Conn.QueuedOutput())
			}
		}
	}
}

// WriteFrames feeds frames to the Conn, in order, as one chunk.
func (p *TestPeer) WriteFrames(frames ...[]byte) {
	p.T.Helper()
	p.WriteBytes(bytes.Join(frames, nil))
}

func (p *TestPeer) pollEvents() {
	for {
		e, ok := p.Conn.PollEvent()
		if !ok {
			return
		}
		e = Clone(e)
		p.Events = append(p.Events, e)
		if p.Handler != nil {
			p.Handler(p, e)
		}
	}
}

// Hello is a Handler that answers every request with 200 and the body
// "hello" (a server's built-in handler for tests).
func Hello(p *TestPeer, e core.Event) {
	if e.Kind == core.EventRequest {
		_ = p.Conn.Respond(e.StreamID, 200, nil, []byte("hello"))
	}
}

// collect takes what the Conn has to transmit.
func (p *TestPeer) collect() {
	p.out = p.Conn.PollTransmit(p.out)
	p.pollEvents()
}

// Advance moves the virtual clock and fires due timers.
func (p *TestPeer) Advance(d time.Duration) {
	p.Now = p.Now.Add(d)
	p.Conn.HandleTimeout(p.Now)
	p.pollEvents()
}

// FrameCheck is an extra assertion on a frame; it returns "" when satisfied,
// or what was wrong.
type FrameCheck func(f *frame.Frame) string

// IsAck requires the ACK flag.
func IsAck(f *frame.Frame) string {
	if !f.IsAck() {
		return "no ACK flag"
	}
	return ""
}

// OnStream requires the frame's stream.
func OnStream(id uint32) FrameCheck {
	return func(f *frame.Frame) string {
		if f.StreamID != id {
			return fmt.Sprintf("on stream %d, want %d", f.StreamID, id)
		}
		return ""
	}
}

// WithCode requires the RST_STREAM or GOAWAY error code.
func WithCode(code frame.ErrCode) FrameCheck {
	return func(f *frame.Frame) string {
		if f.ErrCode != code {
			return fmt.Sprintf("code %v, want %v", f.ErrCode, code)
		}
		return ""
	}
}

// WithFlags requires flags to be set.
func WithFlags(flags frame.Flags) FrameCheck {
	return func(f *frame.Frame) string {
		if !f.Flags.Has(flags) {
			return fmt.Sprintf("flags %#x lack %#x", f.Flags, flags)
		}
		return ""
	}
}

// WithoutFlags requires flags to be clear.
func WithoutFlags(flags frame.Flags) FrameCheck {
	return func(f *frame.Frame) string {
		if f.Flags&flags != 0 {
			return fmt.Sprintf("flags %#x include %#x", f.Flags, flags)
		}
		return ""
	}
}

// WithData requires the DATA payload.
func WithData(data string) FrameCheck {
	return func(f *frame.Frame) string {
		if string(f.Data) != data {
			return fmt.Sprintf("data %q, want %q", f.Data, data)
		}
		return ""
	}
}

func (p *TestPeer) peekFrame() (frame.Frame, bool) {
	p.collect()
	f, _, err := frame.Parse(p.out, frame.MaxMaxFrameSize)
	return f, err == nil
}

// NextFrame returns the next frame the Conn sends, if there is one, without
// asserting anything about it. Its slices are copies.
func (p *TestPeer) NextFrame() (frame.Frame, bool) {
	p.collect()
	f, n, err := frame.Parse(p.out, frame.MaxMaxFrameSize)
	if err != nil {
		return f, false
	}
	f.Data = append([]byte(nil), f.Data...)
	p.out = p.out[n:]
	return f, true
}

// WantFrame requires the next frame the Conn sends to be of type t and to
// pass the checks, consumes it and returns a copy. why says what the test
// expects, in the RFC's words.
func (p *TestPeer) WantFrame(why string, t frame.Type, checks ...FrameCheck) frame.Frame {
	p.T.Helper()
	p.collect()
	f, n, err := frame.Parse(p.out, frame.MaxMaxFrameSize)
	if err != nil {
		p.T.Fatalf("%s: want %v, got no frame (%v; %d bytes pending)", why, t, err, len(p.out))
	}
	if f.Type != t {
		p.T.Fatalf("%s: want %v, got %v", why, t, f.String())
	}
	for _, check := range checks {
		if msg := check(&f); msg != "" {
			p.T.Fatalf("%s: %v: %s", why, f.String(), msg)
		}
	}
	f.Data = append([]byte(nil), f.Data...)
	raw := append([]byte(nil), p.out[:n]...)
	p.out = p.out[n:]
	if t == frame.TypeHeaders {
		p.decodeBlock(f.Data, f.EndHeaders())
	}
	if t == frame.TypeContinuation {
		p.decodeBlock(f.Data, f.EndHeaders())
	}
	if t == frame.TypeSettings && !f.IsAck() {
		g, _, _ := frame.Parse(raw, frame.MaxMaxFrameSize)
		return g
	}
	return f
}

func (p *TestPeer) decodeBlock(fragment []byte, end bool) {
	if _, err := p.dec.Write(fragment); err != nil {
		p.T.Fatalf("coretest: the Conn sent a field block we cannot decode: %v", err)
	}
	if end {
		if err := p.dec.Close(); err != nil {
			p.T.Fatalf("coretest: truncated field block: %v", err)
		}
	}
}

// WantHeaders requires a HEADERS frame (and its CONTINUATIONs) on stream id
// and returns the decoded fields as "name: value" lines joined by "\n".
func (p *TestPeer) WantHeaders(why string, id uint32, checks ...FrameCheck) string {
	p.T.Helper()
	p.hdr = p.hdr[:0]
	f := p.WantFrame(why, frame.TypeHeaders, append([]FrameCheck{OnStream(id)}, checks...)...)
	for end := f.EndHeaders(); !end; {
		c := p.WantFrame(why+" (CONTINUATION)", frame.TypeContinuation, OnStream(id))
		end = c.EndHeaders()
	}
	lines := make([]string, len(p.hdr))
	for i, h := range p.hdr {
		lines[i] = h.Name + ": " + h.Value
	}
	return strings.Join(lines, "\n")
}

// WantGoAway requires a GOAWAY with code and returns it.
func (p *TestPeer) WantGoAway(why string, code frame.ErrCode) frame.Frame {
	p.T.Helper()
	return p.WantFrame(why, frame.TypeGoAway, WithCode(code))
}

// WantRST requires a RST_STREAM on stream id with code.
func (p *TestPeer) WantRST(why string, id uint32, code frame.ErrCode) {
	p.T.Helper()
	p.WantFrame(why, frame.TypeRSTStream, OnStream(id), WithCode(code))
}

// WantBytes requires the Conn's next output bytes to be exactly b.
func (p *TestPeer) WantBytes(why string, b []byte) {
	p.T.Helper()
	p.collect()
	if !bytes.HasPrefix(p.out, b) {
		p.T.Fatalf("%s: want %q, got %q", why, b, p.out[:min(len(p.out), len(b))])
	}
	p.out = p.out[len(b):]
}

// WantIdle requires that the Conn has nothing to send.
func (p *TestPeer) WantIdle(why string) {
	p.T.Helper()
	p.collect()
	if len(p.out) > 0 {
		f, _, _ := frame.Parse(p.out, frame.MaxMaxFrameSize)
		p.T.Fatalf("%s: want no output, got %v (%d bytes)", why, f.String(), len(p.out))
	}
}

// WantEvent requires the oldest untaken event to be of kind k, takes and
// returns it.
func (p *TestPeer) WantEvent(why string, k core.EventKind) core.Event {
	p.T.Helper()
	p.collect()
	if len(p.Events) == 0 {
		p.T.Fatalf("%s: want event %v, got none", why, k)
	}
	e := p.Events[0]
	if e.Kind != k {
		p.T.Fatalf("%s: want event %v, got %v (stream %d, token %q)", why, k, e.Kind, e.StreamID, e.Token)
	}
	p.Events = p.Events[1:]
	return e
}

// WantNoEvent requires that no event is waiting.
func (p *TestPeer) WantNoEvent(why string) {
	p.T.Helper()
	p.collect()
	if len(p.Events) > 0 {
		p.T.Fatalf("%s: want no event, got %v (stream %d)", why, p.Events[0].Kind, p.Events[0].StreamID)
	}
}

// SkipEvents drops waiting events of the given kinds from the front.
func (p *TestPeer) SkipEvents(kinds ...core.EventKind) {
	for len(p.Events) > 0 {
		skip := false
		for _, k := range kinds {
			if p.Events[0].Kind == k {
				skip = true
			}
		}
		if !skip {
			return
		}
		p.Events = p.Events[1:]
	}
}

// Invariants fails the test if the Conn's invariants do not hold.
func (p *TestPeer) Invariants() {
	p.T.Helper()
	if err := p.Conn.CheckInvariants(); err != nil {
		p.T.Fatal(err)
	}
}
