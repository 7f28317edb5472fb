package scenario_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/h2proto/h2/bench/attack/scenario"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// largeBody is the size of the large resource the test application serves.
const largeBody = 1 << 20

// app plays the server application on a core Conn the way the runtime
// does: it answers Options.Path at once, streams a large body for
// Options.LargePath as buffer room allows, and releases every stream the
// peer reset or made us reset.
type app struct {
	t       testing.TB
	c       *core.Conn
	large   string
	pending map[uint32]int // large-body bytes still to send
	chunk   []byte
	kinds   map[core.EventKind]int
	abuse   []core.AbuseKind
}

func newApp(t testing.TB, c *core.Conn, large string) *app {
	return &app{t: t, c: c, large: large, pending: map[uint32]int{}, chunk: make([]byte, 64<<10),
		kinds: map[core.EventKind]int{}}
}

func (a *app) poll() {
	for {
		e, ok := a.c.PollEvent()
		if !ok {
			return
		}
		a.kinds[e.Kind]++
		switch e.Kind {
		case core.EventRequest:
			if e.Header(":path") == a.large {
				if err := a.c.SendHeaders(e.StreamID, []core.HeaderField{{Name: ":status", Value: "200"}}, false); err != nil {
					a.t.Fatalf("SendHeaders(%d): %v", e.StreamID, err)
				}
				a.pending[e.StreamID] = largeBody
				a.send(e.StreamID)
				continue
			}
			if err := a.c.Respond(e.StreamID, 200, nil, []byte("hello")); err != nil && !errors.Is(err, core.ErrStreamClosed) {
				a.t.Fatalf("Respond(%d): %v", e.StreamID, err)
			}
		case core.EventWritable:
			a.send(e.StreamID)
		case core.EventStreamReset:
			delete(a.pending, e.StreamID)
			if e.Err == nil {
				_ = a.c.ReleaseStream(e.StreamID)
			}
		case core.EventStreamClosed:
			delete(a.pending, e.StreamID)
		case core.EventAbuse:
			a.abuse = append(a.abuse, e.Abuse)
		}
	}
}

// send queues as much of a large body as the send buffers take.
func (a *app) send(id uint32) {
	for a.pending[id] > 0 {
		p := a.chunk[:min(len(a.chunk), a.pending[id])]
		n, err := a.c.SendData(id, p, a.pending[id] == len(p))
		a.pending[id] -= n
		if err != nil {
			return // ErrSendBufferFull: EventWritable follows; or the stream ended
		}
	}
	delete(a.pending, id)
}

// result is what an in-memory run measured.
type result struct {
	outcome  scenario.Outcome
	code     frame.ErrCode
	debug    string
	abuse    core.AbuseKind // from EventAbuse
	firedAt  int            // frames fed when the connection began closing (0: never)
	frames   int            // frames the core consumed
	rsts     int            // RST_STREAM frames the core sent
	blocked  bool           // the core stopped taking input (backpressure)
	maxQueue int            // peak QueuedOutput
	maxMem   int            // peak accounted memory (-1: not measured)
	app      *app
	conn     *core.Conn
	statuses map[string]int // response :status values the core sent
	pingAcks int
	dec      *hpack.Decoder
	status   string
}

func (r *result) String() string {
	var b strings.Builder
	b.WriteString(string(r.outcome))
	if r.outcome == scenario.OutcomeGoAway || r.outcome == scenario.OutcomeRST {
		b.WriteString(" " + r.code.String())
	}
	if r.debug != "" {
		b.WriteString(" " + r.debug)
	}
	return b.String()
}

// run feeds a scenario's script into a fresh server core frame by frame on
// a frozen virtual clock, then advances the clock by wait (for the timer
// defences). The peer drains the core's output only if drain is set (a
// reading client); otherwise it never reads until the end.
func run(t testing.TB, sc *scenario.Scenario, cfg core.Config, o scenario.Options, drain bool, wait time.Duration) *result {
	t.Helper()
	now := coretest.Epoch
	c, err := core.NewServer(now, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := sc.Script(o)
	r := &result{app: newApp(t, c, s.Options.LargePath), conn: c, maxMem: -1, statuses: map[string]int{}}
	r.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			r.status = f.Value
		}
	})
	var out []byte
	observe := func() {
		r.maxQueue = max(r.maxQueue, c.QueuedOutput())
		if m := accounted(c); m >= 0 {
			r.maxMem = max(r.maxMem, m)
		}
	}
	take := func() {
		out = c.PollTransmit(out)
		r.app.poll()
		if drain {
			r.scan(t, out)
			out = out[:0]
		}
	}
	closing := func() bool { return c.Err() != nil || c.Phase() >= core.PhaseClosing }
feed:
	for i := range s.Rounds() {
		round, _ := s.Round(i)
		for _, f := range scenario.SplitFrames(round) {
			isFrame := string(f) != scenario.ClientPreface
			for len(f) > 0 {
				n, err := c.Receive(now, f)
				f = f[n:]
				r.app.poll()
				observe()
				if err != nil || closing() {
					break
				}
				if n == 0 {
					if !drain {
						r.blocked = true // the attacker's writes would block here
						break feed
					}
					take()
				}
			}
			if isFrame && len(f) == 0 {
				r.frames++
			}
			if drain && !closing() {
				take() // a reading client keeps up with every frame
			}
			if closing() {
				r.firedAt = r.frames
				break feed
			}
		}
		if drain {
			take()
		}
	}
	if wait > 0 && !closing() {
		end := now.Add(wait)
		for !closing() {
			next, ok := c.PollTimeout()
			if !ok || next.After(end) {
				break
			}
			now = next
			c.HandleTimeout(now)
			r.app.poll()
			observe()
			if drain {
				take()
			}
		}
	}
	take()
	observe()
	r.scan(t, out)
	if r.abuse == core.AbuseNone && len(r.app.abuse) > 0 {
		r.abuse = r.app.abuse[0]
	}
	switch {
	case r.outcome == scenario.OutcomeGoAway:
	case c.Phase() == core.PhaseClosed:
		r.outcome = scenario.OutcomeClosed
	case r.rsts > 0:
		r.outcome = scenario.OutcomeRST
	default:
		r.outcome = scenario.OutcomeOpen
	}
	if err := c.CheckInvariants(); err != nil {
		t.Fatalf("%s: %v", sc.Name, err)
	}
	return r
}

// scan records the GOAWAY and RST_STREAM frames in the core's output.
func (r *result) scan(t testing.TB, b []byte) {
	t.Helper()
	for len(b) > 0 {
		f, n, err := frame.Parse(b, frame.MaxMaxFrameSize)
		if err != nil {
			t.Fatalf("the core sent a malformed frame: %v", err)
		}
		b = b[n:]
		switch f.Type {
		case frame.TypeGoAway:
			if r.outcome != scenario.OutcomeGoAway {
				r.outcome, r.code, r.debug = scenario.OutcomeGoAway, f.ErrCode, string(bytes.Clone(f.Data))
			}
		case frame.TypeHeaders, frame.TypeContinuation:
			if _, err := r.dec.Write(f.Data); err != nil {
				t.Fatalf("the core sent a field block we cannot decode: %v", err)
			}
			if f.EndHeaders() {
				if err := r.dec.Close(); err != nil {
					t.Fatal(err)
				}
				if r.status != "" {
					r.statuses[r.status]++
				}
				r.status = ""
			}
		case frame.TypePing:
			if f.IsAck() {
				r.pingAcks++
			}
		case frame.TypeRSTStream:
			if r.rsts == 0 && r.outcome == "" {
				r.code = f.ErrCode
			}
			r.rsts++
		}
	}
}

// wellBehaved runs a GET on another core pair with the same server
// configuration, as another connection of the same server, and requires a
// complete 200 response.
func wellBehaved(t testing.TB, cfg core.Config) {
	t.Helper()
	p, err := coretest.NewPair(1, core.Config{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var status int
	var body []byte
	done := false
	p.OnEvent = func(side coretest.Side, e *core.Event) {
		switch {
		case side == coretest.Server && e.Kind == core.EventRequest:
			_ = p.Server.Respond(e.StreamID, 200, nil, []byte("hello"))
		case side == coretest.Client && e.Kind == core.EventResponse:
			status = e.Status
		case side == coretest.Client && e.Kind == core.EventData:
			body = append(body, e.Data...)
		case side == coretest.Client && e.Kind == core.EventStreamClosed:
			done = true
		}
	}
	p.Drive()
	req := []core.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"}}
	if _, err := p.Client.OpenStream(req, core.StreamOptions{EndStream: true}); err != nil {
		t.Fatal(err)
	}
	if err := p.DriveBounded(1000); err != nil {
		t.Fatal(err)
	}
	if !done || status != 200 || string(body) != "hello" {
		t.Fatalf("well-behaved client on another connection: done %v status %d body %q", done, status, body)
	}
}
