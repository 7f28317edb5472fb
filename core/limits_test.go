package core_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// Tests of the abuse defences and resource limits of DESIGN §5
// (core.Limits): each limit one past, and legitimate traffic near it.
// The flood tests call Conn.Receive directly instead of TestPeer.WriteFrames,
// because the latter drains output when the Conn pushes back, which is
// exactly what a flooding peer does not do.

// ---- helpers shared with lifecycle_test.go ----

// limitServer returns a server Conn opposite a scripted client, past the
// handshake.
func limitServer(t *testing.T, cfg core.Config) *coretest.TestPeer {
	t.Helper()
	p := coretest.NewServerPeer(t, cfg)
	p.Handshake()
	return p
}

// limitClient returns a client Conn opposite a scripted server, past the
// handshake.
func limitClient(t *testing.T, cfg core.Config) *coretest.TestPeer {
	t.Helper()
	p := coretest.NewClientPeer(t, cfg)
	p.Handshake()
	return p
}

// limitPingData is a distinct PING payload for flood frame i.
func limitPingData(i int) [8]byte {
	var d [8]byte
	binary.BigEndian.PutUint64(d[:], uint64(i)|0x5a<<56)
	return d
}

// limitPost is HEADERS(END_HEADERS) opening a POST on stream id; the body
// is still to come.
func limitPost(fb *coretest.FrameBuilder, id uint32, extra ...string) []byte {
	return fb.Headers(id, coretest.EndHeaders, coretest.Request("POST", "/", extra...)...)
}

// limitEvents polls every queued event, copying borrowed slices.
func limitEvents(c *core.Conn) []core.Event {
	var evs []core.Event
	for {
		e, ok := c.PollEvent()
		if !ok {
			return evs
		}
		evs = append(evs, coretest.Clone(e))
	}
}

// limitFrames parses a transmitted byte stream, failing the test if it is not
// a sequence of whole, well-formed frames.
func limitFrames(t testing.TB, b []byte) []frame.Frame {
	t.Helper()
	var fs []frame.Frame
	for len(b) > 0 {
		f, n, err := frame.Parse(b, frame.MaxMaxFrameSize)
		if err != nil {
			t.Fatalf("output is not well-formed at frame %d: %v (%d bytes left)", len(fs), err, len(b))
		}
		f.Data = append([]byte(nil), f.Data...)
		fs = append(fs, f)
		b = b[n:]
	}
	return fs
}

// limitCount counts frames of type typ (on stream id, if id ≥ 0).
func limitCount(fs []frame.Frame, typ frame.Type, id int64) int {
	n := 0
	for i := range fs {
		if fs[i].Type == typ && (id < 0 || int64(fs[i].StreamID) == id) {
			n++
		}
	}
	return n
}

// limitWantGoAwayLast takes the rest of the Conn's output, appended to out,
// and requires it to be well-formed with a GOAWAY(code, debug) as its last
// frame and nothing after it. It returns that GOAWAY.
func limitWantGoAwayLast(t testing.TB, c *core.Conn, out []byte, code frame.ErrCode, debug string) frame.Frame {
	t.Helper()
	out = c.PollTransmit(out)
	fs := limitFrames(t, out)
	if len(fs) == 0 {
		t.Fatalf("RFC9113_5.4.1: connection error left no output, want GOAWAY %v", code)
	}
	last := fs[len(fs)-1]
	if last.Type != frame.TypeGoAway {
		t.Fatalf("RFC9113_5.4.1: last frame is %v, want GOAWAY %v %q", last.String(), code, debug)
	}
	if last.ErrCode != code || string(last.Data) != debug {
		t.Fatalf("RFC9113_6.8: GOAWAY %v debug %q, want %v %q", last.ErrCode, last.Data, code, debug)
	}
	if more := c.PollTransmit(nil); len(more) != 0 {
		t.Fatalf("output after the final GOAWAY: %d bytes", len(more))
	}
	return last
}

// limitConnErr returns c.Err() as a *ConnError, failing if it is not one.
func limitConnErr(t testing.TB, c *core.Conn) *core.ConnError {
	t.Helper()
	var ce *core.ConnError
	if !errors.As(c.Err(), &ce) {
		t.Fatalf("Err() = %v, want a *ConnError", c.Err())
	}
	return ce
}

// limitWantAbuse checks the whole of an abuse close (DESIGN §5): an
// EventAbuse of kind (among evs or still queued), Err a ConnError
// ENHANCE_YOUR_CALM whose token is the kind's name, PhaseClosing, the rest of
// the output (appended to out) well-formed and ending with GOAWAY
// ENHANCE_YOUR_CALM whose debug data names the kind, then PhaseClosed with
// EventClosed carrying the same error. It returns the final GOAWAY.
func limitWantAbuse(t testing.TB, c *core.Conn, evs []core.Event, out []byte, kind core.AbuseKind) frame.Frame {
	t.Helper()
	evs = append(evs, limitEvents(c)...)
	found := false
	for _, e := range evs {
		if e.Kind == core.EventAbuse {
			if e.Abuse != kind {
				t.Fatalf("EventAbuse %v, want %v", e.Abuse, kind)
			}
			found = true
			break
		}
	}
	if !found {
		t.Fatalf("no EventAbuse, want %v (phase %v, err %v)", kind, c.Phase(), c.Err())
	}
	if ph := c.Phase(); len(out) == 0 && ph != core.PhaseClosing {
		// Until its last bytes are taken, the connection is closing.
		t.Fatalf("phase %v after abuse, want closing", ph)
	}
	ce := limitConnErr(t, c)
	if ce.Code != frame.ErrCodeEnhanceYourCalm || ce.Token != kind.String() || ce.Remote {
		t.Fatalf("Err() = %v, want local ENHANCE_YOUR_CALM %q", ce, kind.String())
	}
	g := limitWantGoAwayLast(t, c, out, frame.ErrCodeEnhanceYourCalm, kind.String())
	if ph := c.Phase(); ph != core.PhaseClosed {
		t.Fatalf("phase %v after the GOAWAY was transmitted, want closed", ph)
	}
	all := append(evs, limitEvents(c)...)
	if len(all) == 0 || all[len(all)-1].Kind != core.EventClosed || all[len(all)-1].Err != c.Err() {
		t.Fatalf("want EventClosed with Err %v last, got %+v", c.Err(), all[max(0, len(all)-3):])
	}
	if err := c.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.PollTimeout(); ok {
		t.Fatal("a timer is still armed after PhaseClosed")
	}
	return g
}

// limitNoAbuse fails if evs hold an EventAbuse or the Conn is no longer
// connected.
func limitNoAbuse(t testing.TB, c *core.Conn, evs []core.Event) {
	t.Helper()
	for _, e := range evs {
		if e.Kind == core.EventAbuse {
			t.Fatalf("legitimate traffic tripped %v", e.Abuse)
		}
	}
	if c.Phase() != core.PhaseConnected || c.Err() != nil {
		t.Fatalf("phase %v, err %v; want connected", c.Phase(), c.Err())
	}
	if err := c.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// limitApp plays a server application on a Conn driven directly.
type limitApp struct {
	t       testing.TB
	c       *core.Conn
	respond bool // answer each request with 200 and body
	body    []byte
	release bool // ReleaseStream after each EventStreamReset
	evs     []core.Event
	counts  map[core.EventKind]int
}

func newLimitApp(t testing.TB, c *core.Conn, respond, release bool) *limitApp {
	return &limitApp{t: t, c: c, respond: respond, release: release, body: []byte("ok"), counts: map[core.EventKind]int{}}
}

func (a *limitApp) poll() {
	a.t.Helper()
	for {
		e, ok := a.c.PollEvent()
		if !ok {
			return
		}
		e = coretest.Clone(e)
		a.evs = append(a.evs, e)
		a.counts[e.Kind]++
		switch {
		case e.Kind == core.EventRequest && a.respond:
			if err := a.c.Respond(e.StreamID, 200, nil, a.body); err != nil {
				a.t.Fatalf("Respond(%d): %v", e.StreamID, err)
			}
		case e.Kind == core.EventStreamReset && a.release && e.Err == nil:
			if err := a.c.ReleaseStream(e.StreamID); err != nil {
				a.t.Fatalf("ReleaseStream(%d): %v", e.StreamID, err)
			}
		}
	}
}

// limitFeedAll offers b to the Conn until it takes all of it, failing on an
// error or a refusal.
func limitFeedAll(t testing.TB, c *core.Conn, now time.Time, b []byte) {
	t.Helper()
	for len(b) > 0 {
		n, err := c.Receive(now, b)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if n == 0 {
			t.Fatalf("Receive took nothing (WantsInput %v)", c.WantsInput())
		}
		b = b[n:]
	}
}

// ---- MaxQueuedControlFrames (CVE-2019-9512, -9515) ----

func TestLimitControlFlood(t *testing.T) {
	floods := []struct {
		name  string
		frame func(fb *coretest.FrameBuilder, i int) []byte
		ack   func(f *frame.Frame, i int) bool
	}{
		{"PING_CVE-2019-9512", func(fb *coretest.FrameBuilder, i int) []byte { return fb.Ping(false, limitPingData(i)) },
			func(f *frame.Frame, i int) bool {
				return f.Type == frame.TypePing && f.IsAck() && f.PingData == limitPingData(i)
			}},
		{"SETTINGS_CVE-2019-9515", func(fb *coretest.FrameBuilder, i int) []byte { return fb.Settings() },
			func(f *frame.Frame, i int) bool { return f.Type == frame.TypeSettings && f.IsAck() }},
	}
	limits := []struct {
		name  string
		cfg   core.Config
		limit int
		drain int
	}{
		{"lowered_10", core.Config{Limits: core.Limits{MaxQueuedControlFrames: 10}}, 10, 10},
		{"default_1000", core.Config{}, 1000, 100},
	}
	for _, fl := range floods {
		for _, lim := range limits {
			build := func(fb *coretest.FrameBuilder, from, n int) []byte {
				var b []byte
				for i := from; i < from+n; i++ {
					b = append(b, fl.frame(fb, i)...)
				}
				return b
			}
			t.Run(fl.name+"/"+lim.name+"/exactly_the_limit_unread_does_not_trip", func(t *testing.T) {
				p := limitServer(t, lim.cfg)
				c := p.Conn
				b := build(p.FB, 0, lim.limit)
				n, err := limitReceiveUndrained(c, p.Now, b)
				if err != nil || n != len(b) {
					t.Fatalf("Receive = %d, %v; want %d, nil", n, err, len(b))
				}
				limitNoAbuse(t, c, limitEvents(c))
				fs := limitFrames(t, c.PollTransmit(nil))
				if len(fs) != lim.limit {
					t.Fatalf("%d frames queued, want %d ACKs", len(fs), lim.limit)
				}
				for i := range fs {
					if !fl.ack(&fs[i], i) {
						t.Fatalf("RFC9113_6.5.3/6.7: frame %d is %v, want its ACK", i, fs[i].String())
					}
				}
			})
			t.Run(fl.name+"/"+lim.name+"/one_past_unread_is_ENHANCE_YOUR_CALM_control_frame_flood", func(t *testing.T) {
				p := limitServer(t, lim.cfg)
				c := p.Conn
				one := len(fl.frame(coretest.NewFrameBuilder(), 0))
				b := build(p.FB, 0, lim.limit+5)
				n, err := limitReceiveUndrained(c, p.Now, b)
				if err == nil {
					t.Fatalf("Receive of %d frames never failed", lim.limit+5)
				}
				if n != (lim.limit+1)*one {
					t.Fatalf("consumed %d bytes = %d frames, want the flood to stop at frame %d", n, n/one, lim.limit+1)
				}
				out := c.PollTransmit(nil)
				fs := limitFrames(t, out)
				if acks := len(fs) - 1; acks != lim.limit+1 {
					t.Fatalf("%d ACKs before the GOAWAY, want %d", acks, lim.limit+1)
				}
				g := limitWantAbuse(t, c, nil, out, core.AbuseControlFlood)
				if g.LastStreamID != 0 {
					t.Fatalf("GOAWAY last-stream-id %d, want 0", g.LastStreamID)
				}
			})
			t.Run(fl.name+"/"+lim.name+"/draining_regularly_never_trips", func(t *testing.T) {
				p := limitServer(t, lim.cfg)
				c := p.Conn
				total := 5 * lim.limit
				acks := 0
				for from := 0; from < total; from += lim.drain {
					limitFeedAll(t, c, p.Now, build(p.FB, from, lim.drain))
					limitNoAbuse(t, c, limitEvents(c))
					fs := limitFrames(t, c.PollTransmit(nil))
					for i := range fs {
						if !fl.ack(&fs[i], from+i) {
							t.Fatalf("frame %d is %v, want its ACK", from+i, fs[i].String())
						}
					}
					acks += len(fs)
				}
				if acks != total {
					t.Fatalf("%d ACKs for %d frames", acks, total)
				}
			})
			// A reading peer's burst of many times the limit, in one
			// input (one large socket read): Receive yields at half the
			// limit, the driver writes the ACKs out, and nothing trips.
			// (It used to close such a burst: the limit counted ACKs the
			// driver had had no chance to write. net/http and nghttpd
			// serve it.)
			t.Run(fl.name+"/"+lim.name+"/a_read_burst_drained_between_yields_never_trips", func(t *testing.T) {
				p := limitServer(t, lim.cfg)
				c := p.Conn
				total := 5 * lim.limit
				b := build(p.FB, 0, total)
				acks, yields := 0, 0
				for len(b) > 0 {
					n, err := c.Receive(p.Now, b)
					if err != nil || n == 0 {
						t.Fatalf("Receive = %d, %v with %d bytes left", n, err, len(b))
					}
					b = b[n:]
					yields++
					limitNoAbuse(t, c, limitEvents(c))
					fs := limitFrames(t, c.PollTransmit(nil))
					for i := range fs {
						if !fl.ack(&fs[i], acks+i) {
							t.Fatalf("frame %d is %v, want its ACK", acks+i, fs[i].String())
						}
					}
					acks += len(fs)
				}
				if acks != total || yields < total/(lim.limit/2) {
					t.Fatalf("%d ACKs for %d frames in %d inputs; want all, yielding every %d", acks, total, yields, lim.limit/2)
				}
			})
		}
	}
}

// ---- MaxQueuedFrames ----

// TestLimitOutboundFlood: the application's responses fill the output queue
// while the peer does not read; the control frame that takes the queue past
// MaxQueuedFrames trips AbuseOutboundFlood.
func TestLimitOutboundFlood(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   core.Config
		limit int
	}{
		{"lowered_20", core.Config{Limits: core.Limits{MaxQueuedFrames: 20}}, 20},
		{"default_5000", core.Config{}, 5000},
	} {
		// fill answers limit-1+extra GET requests without the peer reading,
		// then sends a PING.
		run := func(t *testing.T, responses int) (*coretest.TestPeer, error) {
			p := limitServer(t, tc.cfg)
			c := p.Conn
			app := newLimitApp(t, c, true, false)
			app.body = nil // HEADERS with END_STREAM: the stream ends at once
			for i := 0; i < responses; i++ {
				limitFeedAll(t, c, p.Now, p.FB.GET(uint32(2*i+1), "/"))
				app.poll()
			}
			if app.counts[core.EventRequest] != responses {
				t.Fatalf("%d requests surfaced, want %d", app.counts[core.EventRequest], responses)
			}
			limitNoAbuse(t, c, app.evs)
			_, err := c.Receive(p.Now, p.FB.Ping(false, limitPingData(1)))
			return p, err
		}
		t.Run(tc.name+"/queue_reaching_the_limit_does_not_trip", func(t *testing.T) {
			p, err := run(t, tc.limit-1)
			if err != nil {
				t.Fatal(err)
			}
			limitNoAbuse(t, p.Conn, limitEvents(p.Conn))
			fs := limitFrames(t, p.Conn.PollTransmit(nil))
			if h, pg := limitCount(fs, frame.TypeHeaders, -1), limitCount(fs, frame.TypePing, 0); h != tc.limit-1 || pg != 1 || len(fs) != tc.limit {
				t.Fatalf("output %d frames (%d HEADERS, %d PING), want %d HEADERS and the PING ACK", len(fs), h, pg, tc.limit-1)
			}
		})
		t.Run(tc.name+"/one_past_is_ENHANCE_YOUR_CALM_outbound_flood", func(t *testing.T) {
			p, err := run(t, tc.limit)
			if err == nil {
				t.Fatal("PING taking the queue past MaxQueuedFrames did not fail")
			}
			limitWantAbuse(t, p.Conn, nil, nil, core.AbuseOutboundFlood)
		})
	}
}

// ---- OutputHighWater and MaxQueuedEvents: backpressure, not abuse ----

// TestLimitOutputHighWaterIgnoresClientRequests: a client's own requests
// queued for a transport that is not taking them do not stop its input.
// Otherwise a client and a server whose transports are full each stop
// reading — the client because its requests cannot leave, the server
// because its responses cannot — and neither moves again. Nor do they
// count towards Limits.MaxQueuedFrames (here 5, far below the requests
// queued): they are not a flood by the peer. A server's responses still
// count (TestLimitOutboundFlood). Found by TestSim in ./fuzz.
func TestLimitOutputHighWaterIgnoresClientRequests(t *testing.T) {
	const hw = 1 << 10
	p := limitClient(t, core.Config{Limits: core.Limits{OutputHighWater: hw, MaxQueuedFrames: 5}})
	c := p.Conn
	pad := strings.Repeat("p", 200)
	for i := 0; c.QueuedOutput() < 4*hw; i++ {
		req := []core.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
			{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
			{Name: "x-pad", Value: fmt.Sprint(i, pad)}} // distinct: no HPACK reuse
		if _, err := c.OpenStream(req, core.StreamOptions{EndStream: true}); err != nil {
			t.Fatal(err)
		}
	}
	if !c.WantsInput() {
		t.Fatalf("WantsInput false with %d bytes of our own requests queued (high-water mark %d)", c.QueuedOutput(), hw)
	}
	ping := p.FB.Ping(false, limitPingData(1))
	if n, err := c.Receive(p.Now, ping); n != len(ping) || err != nil {
		t.Fatalf("Receive = %d, %v; want the whole PING", n, err)
	}
	fs := limitFrames(t, c.PollTransmit(nil))
	if last := fs[len(fs)-1]; last.Type != frame.TypePing || !last.Flags.Has(frame.FlagPingAck) {
		t.Fatalf("last frame %v, want the PING ACK after the requests", last.Type)
	}
}

func TestLimitOutputHighWater(t *testing.T) {
	const pingLen = frame.HeaderLen + 8
	for _, tc := range []struct {
		name string
		cfg  core.Config
		hw   int
	}{
		{"lowered_200B", core.Config{Limits: core.Limits{OutputHighWater: 200}}, 200},
		// At the default 512 KiB the control-frame caps are raised so that
		// the high-water mark, not a flood limit, is what stops input.
		{"default_512KiB", core.Config{Limits: core.Limits{MaxQueuedControlFrames: 1 << 20, MaxQueuedFrames: 1 << 20}}, 512 << 10},
	} {
		t.Run(tc.name+"/Receive_stops_at_the_mark_and_resumes_after_PollTransmit", func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			c := p.Conn
			k := (tc.hw + pingLen - 1) / pingLen // PINGs whose ACKs reach the mark
			total := k + 50
			var b []byte
			for i := 0; i < total; i++ {
				b = append(b, p.FB.Ping(false, limitPingData(i))...)
			}
			n, err := c.Receive(p.Now, b)
			if err != nil {
				t.Fatal(err)
			}
			if n != k*pingLen {
				t.Fatalf("consumed %d frames, want %d (output high-water %d)", n/pingLen, k, tc.hw)
			}
			if c.WantsInput() {
				t.Fatalf("WantsInput true with %d bytes queued above the high-water mark %d", c.QueuedOutput(), tc.hw)
			}
			if m, err := c.Receive(p.Now, b[n:]); m != 0 || err != nil {
				t.Fatalf("Receive while above the mark = %d, %v; want 0, nil", m, err)
			}
			limitNoAbuse(t, c, limitEvents(c))
			fs := limitFrames(t, c.PollTransmit(nil))
			if len(fs) != k {
				t.Fatalf("%d ACKs queued, want %d", len(fs), k)
			}
			if !c.WantsInput() {
				t.Fatal("WantsInput false after PollTransmit drained the queue")
			}
			// The rest goes in as a transport would offer it: draining the
			// output whenever the Conn pushes back.
			var out []byte
			for rest := b[n:]; len(rest) > 0; {
				m, err := c.Receive(p.Now, rest)
				if err != nil || (m == 0 && c.WantsInput()) {
					t.Fatalf("Receive = %d, %v (WantsInput %v)", m, err, c.WantsInput())
				}
				rest = rest[m:]
				out = c.PollTransmit(out)
			}
			limitNoAbuse(t, c, limitEvents(c))
			fs = limitFrames(t, out)
			if len(fs) != total-k || fs[len(fs)-1].PingData != limitPingData(total-1) {
				t.Fatalf("%d ACKs after resuming, want %d ending with PING %d", len(fs), total-k, total-1)
			}
		})
	}
}

func TestLimitMaxQueuedEvents(t *testing.T) {
	const dataLen = frame.HeaderLen + 1
	for _, tc := range []struct {
		name  string
		cfg   core.Config
		limit int
	}{
		{"lowered_10", core.Config{Limits: core.Limits{MaxQueuedEvents: 10}}, 10},
		{"default_4096", core.Config{}, 4096},
	} {
		t.Run(tc.name+"/Receive_stops_at_the_limit_and_resumes_after_PollEvent", func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			c := p.Conn
			limitFeedAll(t, c, p.Now, limitPost(p.FB, 1))
			if evs := limitEvents(c); len(evs) != 1 || evs[0].Kind != core.EventRequest {
				t.Fatalf("events %+v, want the request", evs)
			}
			total := tc.limit + 20
			var b []byte
			for i := 0; i < total; i++ {
				b = append(b, p.FB.Data(1, false, []byte{byte(i)})...)
			}
			n, err := c.Receive(p.Now, b)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.limit*dataLen {
				t.Fatalf("consumed %d DATA frames, want %d (MaxQueuedEvents)", n/dataLen, tc.limit)
			}
			if c.WantsInput() {
				t.Fatal("WantsInput true with MaxQueuedEvents events unpolled")
			}
			if m, err := c.Receive(p.Now, b[n:]); m != 0 || err != nil {
				t.Fatalf("Receive with events backed up = %d, %v; want 0, nil", m, err)
			}
			// Draining output does not help: events are what is backed up.
			_ = c.PollTransmit(nil)
			if c.WantsInput() {
				t.Fatal("WantsInput true after PollTransmit, events still unpolled")
			}
			evs := limitEvents(c)
			if len(evs) != tc.limit {
				t.Fatalf("%d events, want %d", len(evs), tc.limit)
			}
			for i, e := range evs {
				if e.Kind != core.EventData || len(e.Data) != 1 || e.Data[0] != byte(i) {
					t.Fatalf("event %d = %v %v, want DATA [%d]", i, e.Kind, e.Data, byte(i))
				}
			}
			limitNoAbuse(t, c, evs)
			if !c.WantsInput() {
				t.Fatal("WantsInput false after PollEvent drained the queue")
			}
			got := 0
			for rest := b[n:]; len(rest) > 0; {
				m, err := c.Receive(p.Now, rest)
				if err != nil || (m == 0 && c.WantsInput()) {
					t.Fatalf("Receive = %d, %v (WantsInput %v)", m, err, c.WantsInput())
				}
				rest = rest[m:]
				got += len(limitEvents(c))
			}
			if got != total-tc.limit {
				t.Fatalf("%d events after resuming, want %d", got, total-tc.limit)
			}
		})
	}
}

// ---- ResetRate: Rapid Reset (CVE-2023-44487) ----

var limitResetCases = []struct {
	name  string
	cfg   core.Config
	mcs   int
	burst int
	rate  int
}{
	{"lowered_MCS10_burst50_10ps", core.Config{MaxConcurrentStreams: 10, Limits: core.Limits{ResetRate: core.Rate{Burst: 50, PerSecond: 10}}}, 10, 50, 10},
	{"default_MCS100_burst1000_33ps", core.Config{}, 100, 1000, 33},
}

// TestLimitRapidReset: HEADERS+RST_STREAM on fresh stream IDs with a frozen
// clock. The application never releases the streams the peer resets, so it
// never sees more than MaxConcurrentStreams requests, HeldStreams stays at
// most MaxConcurrentStreams throughout, and the Burst+1'th RST_STREAM closes
// the connection.
func TestLimitRapidReset(t *testing.T) {
	for _, tc := range limitResetCases {
		t.Run(tc.name+"/CVE-2023-44487_burst_plus_one_RST_is_ENHANCE_YOUR_CALM_rapid_reset_and_held_never_exceeds_MCS", func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			c := p.Conn
			app := newLimitApp(t, c, false, false) // never releases
			var err error
			rsts := 0
			for i := 0; err == nil; i++ {
				if i > tc.burst {
					t.Fatalf("%d RST_STREAMs accepted with a frozen clock, burst is %d", rsts, tc.burst)
				}
				id := uint32(2*i + 1)
				b := append(limitPost(p.FB, id), p.FB.RST(id, frame.ErrCodeCancel)...)
				var n int
				n, err = c.Receive(p.Now, b)
				if n != len(b) {
					t.Fatalf("pair %d: consumed %d of %d bytes", i, n, len(b))
				}
				rsts++
				app.poll()
				held, pending := c.HeldStreams()
				if held > tc.mcs {
					t.Fatalf("DESIGN_5_rapid_reset: %d streams held after %d resets, MaxConcurrentStreams %d", held, rsts, tc.mcs)
				}
				if pending > 1 {
					t.Fatalf("%d streams pending after %d resets; reset pending streams must be dropped", pending, rsts)
				}
				if err == nil {
					if out := c.PollTransmit(nil); len(out) != 0 {
						t.Fatalf("pair %d: unexpected output %v", i, limitFrames(t, out)[0].String())
					}
				}
			}
			if rsts != tc.burst+1 {
				t.Fatalf("tripped at RST %d, want exactly burst+1 = %d", rsts, tc.burst+1)
			}
			if r, s := app.counts[core.EventRequest], app.counts[core.EventStreamReset]; r != tc.mcs || s != tc.mcs {
				t.Fatalf("the application saw %d requests and %d resets, want %d each (MaxConcurrentStreams)", r, s, tc.mcs)
			}
			g := limitWantAbuse(t, c, app.evs, nil, core.AbuseRapidReset)
			if g.LastStreamID != uint32(2*tc.burst+1) {
				t.Fatalf("GOAWAY last-stream-id %d, want %d", g.LastStreamID, 2*tc.burst+1)
			}
		})

		t.Run(tc.name+"/burst_RSTs_with_frozen_clock_do_not_trip_and_refill_at_PerSecond", func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			c := p.Conn
			app := newLimitApp(t, c, false, true) // releases every reset stream
			id := uint32(1)
			pair := func() error {
				b := append(limitPost(p.FB, id), p.FB.RST(id, frame.ErrCodeCancel)...)
				id += 2
				_, err := c.Receive(p.Now, b)
				app.poll()
				return err
			}
			for i := 0; i < tc.burst; i++ {
				if err := pair(); err != nil {
					t.Fatalf("RST %d of a burst of %d: %v", i+1, tc.burst, err)
				}
			}
			limitNoAbuse(t, c, app.evs)
			if held, pending := c.HeldStreams(); held != 0 || pending != 0 {
				t.Fatalf("HeldStreams = %d, %d after releasing every stream", held, pending)
			}
			p.Now = p.Now.Add(time.Second)
			for i := 0; i < tc.rate; i++ {
				if err := pair(); err != nil {
					t.Fatalf("RST %d after a 1 s refill of %d/s: %v", i+1, tc.rate, err)
				}
			}
			limitNoAbuse(t, c, app.evs)
			if err := pair(); err == nil {
				t.Fatalf("RST %d after the refill of %d did not trip", tc.rate+1, tc.rate)
			}
			limitWantAbuse(t, c, app.evs, nil, core.AbuseRapidReset)
		})

		// A client that reads the whole response and then resets its
		// unfinished upload (RST_STREAM CANCEL on every finished stream), at
		// a rate under PerSecond, never trips the bucket.
		t.Run(tc.name+"/client_resetting_every_finished_stream_under_the_rate_never_trips", func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			c := p.Conn
			app := newLimitApp(t, c, true, true)
			interval := time.Second/time.Duration(tc.rate) + time.Millisecond
			streams := 3 * tc.burst
			for i := 0; i < streams; i++ {
				id := uint32(2*i + 1)
				limitFeedAll(t, c, p.Now, limitPost(p.FB, id))
				app.poll()
				fs := limitFrames(t, c.PollTransmit(nil))
				if limitCount(fs, frame.TypeHeaders, int64(id)) != 1 || limitCount(fs, frame.TypeData, int64(id)) != 1 {
					t.Fatalf("stream %d: response not sent: %d frames", id, len(fs))
				}
				limitFeedAll(t, c, p.Now, p.FB.RST(id, frame.ErrCodeCancel))
				app.poll()
				p.Now = p.Now.Add(interval)
			}
			limitNoAbuse(t, c, app.evs)
			if n := app.counts[core.EventStreamReset]; n != streams {
				t.Fatalf("%d EventStreamReset, want %d", n, streams)
			}
			if held, pending := c.HeldStreams(); held != 0 || pending != 0 {
				t.Fatalf("HeldStreams = %d, %d at the end", held, pending)
			}
		})
	}
}

// ---- MaxForcedResets: MadeYouReset (CVE-2025-8671) ----

var limitProvocations = []struct {
	name    string
	frames  func(fb *coretest.FrameBuilder, id uint32) []byte
	code    frame.ErrCode
	rfcRule string
}{
	{"WINDOW_UPDATE_0", func(fb *coretest.FrameBuilder, id uint32) []byte {
		return append(limitPost(fb, id), fb.Raw(frame.TypeWindowUpdate, 0, id, []byte{0, 0, 0, 0})...)
	}, frame.ErrCodeProtocol, "RFC9113_6.9"},
	{"DATA_beyond_content-length", func(fb *coretest.FrameBuilder, id uint32) []byte {
		return append(limitPost(fb, id, "content-length", "1"), fb.Data(id, false, []byte("xy"))...)
	}, frame.ErrCodeProtocol, "RFC9113_8.1.1"},
	{"HEADERS_on_half_closed_remote", func(fb *coretest.FrameBuilder, id uint32) []byte {
		return append(fb.GET(id, "/"), fb.Headers(id, coretest.EndStream|coretest.EndHeaders, "x-again", "1")...)
	}, frame.ErrCodeStreamClosed, "RFC9113_5.1"},
}

func TestLimitForcedResets(t *testing.T) {
	for _, pr := range limitProvocations {
		for _, lim := range []struct {
			name string
			cfg  core.Config
			max  int
		}{
			{"lowered_20", core.Config{Limits: core.Limits{MaxForcedResets: 20}}, 20},
			{"default_1024", core.Config{}, 1024},
		} {
			t.Run(pr.name+"/"+lim.name+"/CVE-2025-8671_max_provoked_resets_pass_and_one_more_is_ENHANCE_YOUR_CALM", func(t *testing.T) {
				p := limitServer(t, lim.cfg)
				c := p.Conn
				app := newLimitApp(t, c, false, true)
				for i := 0; i <= lim.max; i++ {
					id := uint32(2*i + 1)
					b := pr.frames(p.FB, id)
					n, err := c.Receive(p.Now, b)
					app.poll()
					out := c.PollTransmit(nil)
					if i < lim.max {
						if err != nil || n != len(b) {
							t.Fatalf("provoked reset %d of %d: Receive = %d, %v", i+1, lim.max, n, err)
						}
						fs := limitFrames(t, out)
						if len(fs) != 1 || fs[0].Type != frame.TypeRSTStream || fs[0].StreamID != id || fs[0].ErrCode != pr.code {
							t.Fatalf("%s: stream %d: output %d frames, want one RST_STREAM %v", pr.rfcRule, id, len(fs), pr.code)
						}
						continue
					}
					if err == nil {
						t.Fatalf("provoked reset %d (MaxForcedResets %d) did not close the connection", i+1, lim.max)
					}
					fs := limitFrames(t, out)
					if limitCount(fs, frame.TypeRSTStream, -1) != 0 {
						t.Fatal("the reset past the cap was still sent")
					}
					limitWantAbuse(t, c, app.evs, out, core.AbuseForcedResets)
				}
				if r := app.counts[core.EventStreamReset]; r < lim.max {
					t.Fatalf("%d EventStreamReset, want at least %d", r, lim.max)
				}
			})
		}
	}
	// The reset stream events carry the broken rule.
	t.Run("provoked_reset_event_is_local_with_RFC_code", func(t *testing.T) {
		for _, pr := range limitProvocations {
			p := limitServer(t, core.Config{})
			p.WriteFrames(pr.frames(p.FB, 1))
			p.WantEvent(pr.name+": request", core.EventRequest)
			e := p.WantEvent(pr.name+": reset", core.EventStreamReset)
			if e.StreamID != 1 || e.Code != pr.code || e.Remote || e.Token == "" || e.Err != nil {
				t.Fatalf("%s: %+v, want local reset %v on stream 1 with a token", pr.name, e, pr.code)
			}
			p.WantRST(pr.rfcRule+" "+pr.name, 1, pr.code)
			p.Invariants()
		}
	})
}

// TestLimitForcedResetDataStillCreditsConnectionWindow: DATA that breaks a
// message rule (here content-length, RFC 9113 §8.1.1) resets its stream, but
// its bytes were charged to the connection window, so they must be returned:
// "A receiver that receives a flow-controlled frame MUST always account for
// its contribution against the connection flow-control window" (RFC 9113
// §6.9), and the core returns the bytes of every other rejected DATA
// (window exceeded, wrong state, streams it reset). Otherwise each provoked
// reset shrinks the connection window for good and a client with a wrong
// content-length stalls every later request on the connection.
func TestLimitForcedResetDataStillCreditsConnectionWindow(t *testing.T) {
	p := limitServer(t, core.Config{ConnectionWindowSize: 65535})
	app := newLimitApp(t, p.Conn, false, true)
	c := p.Conn
	chunk := make([]byte, frame.MinMaxFrameSize)
	for i := 0; i < 8; i++ { // 8 × 16 KiB: twice the connection window
		id := uint32(2*i + 1)
		b := append(limitPost(p.FB, id, "content-length", "1"), p.FB.Data(id, false, chunk)...)
		if _, err := c.Receive(p.Now, b); err != nil {
			t.Fatalf("RFC9113_6.9_data_of_a_provoked_reset_must_credit_the_connection_window: request %d (after %d KiB of rejected DATA): %v",
				i+1, i*16, err)
		}
		app.poll()
		fs := limitFrames(t, c.PollTransmit(nil))
		if limitCount(fs, frame.TypeRSTStream, int64(id)) != 1 {
			t.Fatalf("stream %d: no RST_STREAM", id)
		}
		if limitCount(fs, frame.TypeWindowUpdate, 0) != 1 {
			t.Fatalf("RFC9113_6.9: %d bytes of DATA on reset stream %d not returned to the connection window (RecvWindow(0) = %d)",
				len(chunk), id, c.RecvWindow(0))
		}
	}
	limitNoAbuse(t, c, app.evs)
}

// ---- Glitch budget (CVE-2019-9513, -9518, unknown frames) ----

func TestLimitGlitches(t *testing.T) {
	glitches := []struct {
		name  string
		setup func(p *coretest.TestPeer)
		frame func(fb *coretest.FrameBuilder) []byte
	}{
		{"unknown_frame_type_RFC9113_5.5", nil, func(fb *coretest.FrameBuilder) []byte { return fb.Raw(0xfa, 0, 0, []byte("x")) }},
		{"PRIORITY_CVE-2019-9513", nil, func(fb *coretest.FrameBuilder) []byte { return fb.Priority(1, 0, false, 15) }},
		{"empty_DATA_without_END_STREAM_CVE-2019-9518", func(p *coretest.TestPeer) {
			p.WriteFrames(limitPost(p.FB, 1))
			p.WantEvent("request", core.EventRequest)
		}, func(fb *coretest.FrameBuilder) []byte { return fb.Data(1, false, nil) }},
	}
	limits := []struct {
		name        string
		cfg         core.Config
		burst, rate int
	}{
		{"lowered_burst50_10ps", core.Config{Limits: core.Limits{Glitch: core.Rate{Burst: 50, PerSecond: 10}}}, 50, 10},
		{"default_burst10000_330ps", core.Config{}, 10000, 330},
	}
	for _, g := range glitches {
		for _, lim := range limits {
			start := func(t *testing.T) (*coretest.TestPeer, []byte) {
				p := limitServer(t, lim.cfg)
				if g.setup != nil {
					g.setup(p)
				}
				return p, g.frame(p.FB)
			}
			t.Run(g.name+"/"+lim.name+"/burst_with_frozen_clock_passes_burst_plus_one_is_ENHANCE_YOUR_CALM", func(t *testing.T) {
				p, one := start(t)
				c := p.Conn
				b := bytes.Repeat(one, lim.burst)
				n, err := c.Receive(p.Now, b)
				if err != nil || n != len(b) {
					t.Fatalf("burst of %d: Receive = %d, %v", lim.burst, n, err)
				}
				limitNoAbuse(t, c, limitEvents(c))
				if out := c.PollTransmit(nil); len(out) != 0 {
					t.Fatalf("glitch frames produced output: %v", limitFrames(t, out)[0].String())
				}
				b = bytes.Repeat(one, 3)
				n, err = c.Receive(p.Now, b)
				if err == nil || n != len(one) {
					t.Fatalf("frame burst+1: Receive = %d, %v; want %d bytes and the connection closed", n, err, len(one))
				}
				limitWantAbuse(t, c, nil, nil, core.AbuseGlitches)
			})
			t.Run(g.name+"/"+lim.name+"/bucket_refills_PerSecond_with_the_clock", func(t *testing.T) {
				p, one := start(t)
				c := p.Conn
				limitFeedAll(t, c, p.Now, bytes.Repeat(one, lim.burst))
				p.Now = p.Now.Add(time.Second)
				limitFeedAll(t, c, p.Now, bytes.Repeat(one, lim.rate))
				limitNoAbuse(t, c, limitEvents(c))
				if _, err := c.Receive(p.Now, one); err == nil {
					t.Fatalf("glitch %d after a 1 s refill of %d did not trip", lim.rate+1, lim.rate)
				}
				limitWantAbuse(t, c, nil, nil, core.AbuseGlitches)
			})
			t.Run(g.name+"/"+lim.name+"/steady_rate_under_PerSecond_never_trips", func(t *testing.T) {
				p, one := start(t)
				c := p.Conn
				interval := time.Second/time.Duration(lim.rate) + time.Millisecond
				for i := 0; i < 3*lim.burst; i++ {
					limitFeedAll(t, c, p.Now, one)
					p.Now = p.Now.Add(interval)
				}
				limitNoAbuse(t, c, limitEvents(c))
			})
		}
	}
}

// ---- MaxPendingStreams ----

// limitPendingSetup makes the application hold mcs streams the peer reset
// (never released), then has the peer open pending streams that wait for a
// slot. It returns the next free stream ID.
func limitPendingSetup(t *testing.T, p *coretest.TestPeer, mcs, pending int) uint32 {
	t.Helper()
	c := p.Conn
	app := newLimitApp(t, c, false, false)
	id := uint32(1)
	for i := 0; i < mcs; i++ {
		limitFeedAll(t, c, p.Now, append(limitPost(p.FB, id), p.FB.RST(id, frame.ErrCodeCancel)...))
		id += 2
	}
	app.poll()
	if app.counts[core.EventRequest] != mcs || app.counts[core.EventStreamReset] != mcs {
		t.Fatalf("setup: %d requests, %d resets; want %d each", app.counts[core.EventRequest], app.counts[core.EventStreamReset], mcs)
	}
	for i := 0; i < pending; i++ {
		limitFeedAll(t, c, p.Now, limitPost(p.FB, id))
		id += 2
	}
	app.poll()
	if len(app.evs) != 2*mcs {
		t.Fatalf("DESIGN_5: a pending stream was surfaced while the application holds MaxConcurrentStreams: %+v", app.evs[2*mcs:])
	}
	if h, pd := c.HeldStreams(); h != mcs || pd != pending {
		t.Fatalf("HeldStreams = %d, %d; want %d, %d", h, pd, mcs, pending)
	}
	return id
}

func TestLimitPendingStreams(t *testing.T) {
	cfg := core.Config{MaxConcurrentStreams: 10, Limits: core.Limits{MaxPendingStreams: 3}}
	t.Run("lowered_MCS10_pending3/one_past_is_ENHANCE_YOUR_CALM_too_many_pending_streams", func(t *testing.T) {
		p := limitServer(t, cfg)
		id := limitPendingSetup(t, p, 10, 3)
		limitNoAbuse(t, p.Conn, nil)
		if _, err := p.Conn.Receive(p.Now, limitPost(p.FB, id)); err == nil {
			t.Fatal("pending stream 4 with MaxPendingStreams 3 did not fail")
		}
		g := limitWantAbuse(t, p.Conn, nil, nil, core.AbusePendingStreams)
		if g.LastStreamID != id {
			t.Fatalf("GOAWAY last-stream-id %d, want %d", g.LastStreamID, id)
		}
	})
	t.Run("lowered_MCS10_pending3/at_the_limit_pending_streams_are_surfaced_on_release", func(t *testing.T) {
		p := limitServer(t, cfg)
		limitPendingSetup(t, p, 10, 3)
		first := uint32(21) // the first pending stream
		p.Events = p.Events[:0]
		if err := p.Conn.ReleaseStream(1); err != nil {
			t.Fatal(err)
		}
		e := p.WantEvent("DESIGN_5: a released slot surfaces the oldest pending stream", core.EventRequest)
		if e.StreamID != first || e.Header(":method") != "POST" || e.EndStream {
			t.Fatalf("surfaced %+v, want POST on stream %d", e, first)
		}
		if h, pd := p.Conn.HeldStreams(); h != 10 || pd != 2 {
			t.Fatalf("HeldStreams = %d, %d; want 10, 2", h, pd)
		}
		p.WantIdle("release of a closed held stream sends nothing")
		p.Invariants()
	})
	// With the default 4 × MaxConcurrentStreams, pending streams are also
	// active streams, so the peer is refused (REFUSED_STREAM, RFC 9113
	// §5.1.2) at MaxConcurrentStreams pending, long before the pending cap.
	t.Run("default/pending_queue_bounded_by_MCS_with_REFUSED_STREAM", func(t *testing.T) {
		p := limitServer(t, core.Config{})
		id := limitPendingSetup(t, p, 100, 100)
		p.WriteFrames(limitPost(p.FB, id))
		p.WantRST("RFC9113_5.1.2 streams above MAX_CONCURRENT_STREAMS are refused", id, frame.ErrCodeRefusedStream)
		if h, pd := p.Conn.HeldStreams(); h != 100 || pd != 100 {
			t.Fatalf("HeldStreams = %d, %d; want 100, 100", h, pd)
		}
		limitNoAbuse(t, p.Conn, p.Events)
	})
}

// ---- MaxPings, MaxPendingSettings ----

func TestLimitMaxPings(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  core.Config
		max  int
	}{
		{"lowered_2", core.Config{Limits: core.Limits{MaxPings: 2}}, 2},
		{"default_16", core.Config{}, 16},
	} {
		t.Run(tc.name+"/one_past_is_ErrTooManyPings_and_sends_nothing", func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			for i := 0; i < tc.max; i++ {
				if err := p.Conn.Ping(p.Now, limitPingData(i)); err != nil {
					t.Fatalf("Ping %d of %d: %v", i+1, tc.max, err)
				}
			}
			if err := p.Conn.Ping(p.Now, limitPingData(tc.max)); !errors.Is(err, core.ErrTooManyPings) {
				t.Fatalf("Ping %d = %v, want ErrTooManyPings", tc.max+1, err)
			}
			for i := 0; i < tc.max; i++ {
				f := p.WantFrame("RFC9113_6.7 PING", frame.TypePing, coretest.WithoutFlags(frame.FlagPingAck))
				if f.PingData != limitPingData(i) {
					t.Fatalf("PING %d payload %x", i, f.PingData)
				}
			}
			p.WantIdle("the refused Ping sent nothing")
			p.WriteFrames(p.FB.Ping(true, limitPingData(0)))
			p.WantEvent("ACK of the first PING", core.EventPingAck)
			if err := p.Conn.Ping(p.Now, limitPingData(tc.max)); err != nil {
				t.Fatalf("Ping after an ACK freed a slot: %v", err)
			}
			p.WantFrame("the new PING", frame.TypePing, coretest.WithoutFlags(frame.FlagPingAck))
			p.Invariants()
		})
	}
}

func TestLimitMaxPendingSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  core.Config
		max  int
	}{
		{"lowered_2", core.Config{Limits: core.Limits{MaxPendingSettings: 2}}, 2},
		{"default_8", core.Config{}, 8},
	} {
		t.Run(tc.name+"/one_past_is_ErrTooManySettings_and_sends_nothing", func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			set := func(i int) error {
				return p.Conn.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingMaxConcurrentStreams, Val: uint32(50 + i)}})
			}
			for i := 0; i < tc.max; i++ {
				if err := set(i); err != nil {
					t.Fatalf("UpdateSettings %d of %d: %v", i+1, tc.max, err)
				}
			}
			if err := set(tc.max); !errors.Is(err, core.ErrTooManySettings) {
				t.Fatalf("UpdateSettings %d = %v, want ErrTooManySettings", tc.max+1, err)
			}
			for i := 0; i < tc.max; i++ {
				p.WantFrame("RFC9113_6.5 SETTINGS", frame.TypeSettings, coretest.WithoutFlags(frame.FlagSettingsAck))
			}
			p.WantIdle("the refused UpdateSettings sent nothing")
			p.WriteFrames(p.FB.SettingsAck())
			p.WantEvent("RFC9113_6.5.3 ACK of the oldest SETTINGS", core.EventSettingsAck)
			if got := p.Conn.LocalSettings().MaxConcurrentStreams; got != 50 {
				t.Fatalf("LocalSettings().MaxConcurrentStreams = %d after the first ACK, want 50", got)
			}
			if err := set(tc.max); err != nil {
				t.Fatalf("UpdateSettings after an ACK freed a slot: %v", err)
			}
			p.WantFrame("the new SETTINGS", frame.TypeSettings, coretest.WithoutFlags(frame.FlagSettingsAck))
			p.Invariants()
		})
	}
}

// ---- MaxResetStreams ----

// TestLimitMaxResetStreams: DATA the peer sent before it saw our
// RST_STREAM is ignored for the last MaxResetStreams streams we reset (RFC
// 9113 §5.1 "closed"); one past that, the oldest is forgotten and its DATA
// is a connection error STREAM_CLOSED, which §5.1 allows ("An endpoint MAY
// choose to limit the period over which it ignores frames and treat frames
// that arrive after this time as being in error").
func TestLimitMaxResetStreams(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  core.Config
		max  int
	}{
		{"lowered_3", core.Config{Limits: core.Limits{MaxResetStreams: 3}}, 3},
		{"default_1024", core.Config{}, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			c := p.Conn
			n := tc.max + 1
			for i := 0; i < n; i++ {
				id := uint32(2*i + 1)
				limitFeedAll(t, c, p.Now, limitPost(p.FB, id))
				evs := limitEvents(c)
				if len(evs) != 1 || evs[0].Kind != core.EventRequest {
					t.Fatalf("stream %d: events %+v", id, evs)
				}
				if err := c.ResetStream(id, frame.ErrCodeCancel); err != nil {
					t.Fatal(err)
				}
				if evs := limitEvents(c); len(evs) != 1 || evs[0].Kind != core.EventStreamReset || evs[0].Token != "local_reset" {
					t.Fatalf("stream %d: after ResetStream, events %+v", id, evs)
				}
				if i%100 == 99 {
					_ = c.PollTransmit(nil)
				}
			}
			fs := limitFrames(t, c.PollTransmit(nil))
			if limitCount(fs, frame.TypeRSTStream, int64(2*n-1)) != 1 {
				t.Fatal("no RST_STREAM for the last reset stream")
			}
			// The last max streams are remembered: their DATA is ignored.
			var b []byte
			for i := 1; i < n; i++ {
				b = append(b, p.FB.Data(uint32(2*i+1), false, []byte("late"))...)
			}
			limitFeedAll(t, c, p.Now, b)
			limitNoAbuse(t, c, limitEvents(c))
			if out := limitFrames(t, c.PollTransmit(nil)); limitCount(out, frame.TypeRSTStream, -1)+limitCount(out, frame.TypeGoAway, -1) != 0 {
				t.Fatal("RFC9113_5.1: DATA on a stream we reset within MaxResetStreams was not ignored")
			}
			// The oldest was forgotten.
			if _, err := c.Receive(p.Now, p.FB.Data(1, false, []byte("late"))); err == nil {
				t.Fatalf("DATA on stream 1, reset %d resets ago (MaxResetStreams %d), was ignored", n, tc.max)
			}
			limitWantGoAwayLast(t, c, nil, frame.ErrCodeStreamClosed, "frame_on_closed_stream")
		})
	}
}

// ---- StreamSendBuffer, ConnSendBuffer ----

func TestLimitSendBuffers(t *testing.T) {
	respondOn := func(t *testing.T, p *coretest.TestPeer, id uint32) {
		t.Helper()
		p.WriteFrames(limitPost(p.FB, id))
		p.WantEvent("request", core.EventRequest)
		if err := p.Conn.SendHeaders(id, []core.HeaderField{{Name: ":status", Value: "200"}}, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		cfg    core.Config
		stream int
	}{
		{"lowered_1000", core.Config{Limits: core.Limits{StreamSendBuffer: 1000}}, 1000},
		{"default_64KiB", core.Config{}, 64 << 10},
	} {
		t.Run(tc.name+"/StreamSendBuffer_exactly_fits_one_past_is_ErrSendBufferFull", func(t *testing.T) {
			p := limitServer(t, tc.cfg)
			respondOn(t, p, 1)
			respondOn(t, p, 3)
			if n, err := p.Conn.SendData(1, make([]byte, tc.stream), false); n != tc.stream || err != nil {
				t.Fatalf("SendData(limit) = %d, %v", n, err)
			}
			if n, err := p.Conn.SendData(3, make([]byte, tc.stream+1), false); n != tc.stream || !errors.Is(err, core.ErrSendBufferFull) {
				t.Fatalf("SendData(limit+1) = %d, %v; want %d, ErrSendBufferFull", n, err, tc.stream)
			}
			if b := p.Conn.Buffered(3); b != tc.stream {
				t.Fatalf("Buffered(3) = %d", b)
			}
			p.Invariants()
		})
	}
	t.Run("lowered_conn_1500/ConnSendBuffer_caps_across_streams", func(t *testing.T) {
		p := limitServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 1000, ConnSendBuffer: 1500}})
		respondOn(t, p, 1)
		respondOn(t, p, 3)
		if n, err := p.Conn.SendData(1, make([]byte, 1000), false); n != 1000 || err != nil {
			t.Fatalf("SendData(1) = %d, %v", n, err)
		}
		if n, err := p.Conn.SendData(3, make([]byte, 1000), false); n != 500 || !errors.Is(err, core.ErrSendBufferFull) {
			t.Fatalf("SendData(3) = %d, %v; want 500, ErrSendBufferFull", n, err)
		}
		if b := p.Conn.Buffered(0); b != 1500 {
			t.Fatalf("Buffered(0) = %d, want 1500", b)
		}
		p.Invariants()
	})
}

// ---- Abuse kinds ----

// TestLimitAbuseKindNames: the GOAWAY debug data is AbuseKind.String(),
// a stable name; each kind has its own.
func TestLimitAbuseKindNames(t *testing.T) {
	seen := map[string]core.AbuseKind{}
	for k := core.AbuseControlFlood; k <= core.AbuseHeaderBlockTimeout; k++ {
		s := k.String()
		if s == "" || s == fmt.Sprintf("abuse_%d", k) {
			t.Fatalf("AbuseKind %d has no name", k)
		}
		if o, dup := seen[s]; dup {
			t.Fatalf("AbuseKind %d and %d share the name %q", o, k, s)
		}
		seen[s] = k
	}
}

// limitReceiveUndrained offers b to c until it is consumed or Receive fails
// or stops taking input, without draining PollTransmit in between: a peer
// that never reads our output. (Receive yields at half a queue limit so
// that a driver may drain; offered the rest regardless, it goes on to the
// limit.) It returns the bytes consumed in all.
func limitReceiveUndrained(c *core.Conn, now time.Time, b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		n, err := c.Receive(now, b)
		total += n
		b = b[n:]
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}
