package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/h2proto/h2/core"
)

// demoMemory (`h2 demo -mem`) runs a client core and a server core against
// each other in memory, on a virtual clock with a fixed one-way latency, and
// prints every frame. It performs a GET, a POST whose body the server
// echoes, a response with trailers, a PING and a graceful shutdown, and
// fails if any result is not the expected one. Two runs print the same.
func demoMemory(out io.Writer, quiet bool, latency time.Duration) error {
	start := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	trace := out
	if quiet {
		trace = io.Discard
	}
	l, err := newLink(start, latency, trace)
	if err != nil {
		return err
	}
	l.server.handler = demoHandler
	if err := l.settle(); err != nil {
		return err
	}

	results := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
		wantTrailer              string
	}{
		{"GET /", "GET", "/", "", 200, "hello from h2proto\n", ""},
		{"POST /echo", "POST", "/echo", "ping pong", 200, "ping pong", ""},
		{"GET /trailers", "GET", "/trailers", "", 200, "body, then trailers\n", "x-checksum: 42"},
	}
	for _, r := range results {
		fmt.Fprintf(trace, "\n-- %s\n", r.name)
		resp, err := l.request(r.method, r.path, r.body)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		if resp.status != r.wantStatus || resp.body.String() != r.wantBody || !strings.Contains(resp.trailers, r.wantTrailer) {
			return fmt.Errorf("%s: got %d %q trailers %q", r.name, resp.status, resp.body.String(), resp.trailers)
		}
		fmt.Fprintf(out, "%-16s → %d, %d bytes%s\n", r.name, resp.status, resp.body.Len(), trailerNote(resp.trailers))
	}

	fmt.Fprintf(trace, "\n-- PING\n")
	rtt, err := l.ping()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-16s → RTT %v (virtual)\n", "PING", rtt)

	fmt.Fprintf(trace, "\n-- graceful shutdown (server)\n")
	if err := l.shutdown(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%-16s → both sides %v, %d frames exchanged\n", "GOAWAY", l.client.conn.Phase(), l.client.tr.frames+l.server.tr.frames)
	return nil
}

func trailerNote(t string) string {
	if t == "" {
		return ""
	}
	return ", trailers " + t
}

// demoHandler is the server application: it answers on the event stream.
func demoHandler(c *core.Conn, e core.Event, bodies map[uint32]*bytes.Buffer) {
	switch e.Kind {
	case core.EventRequest:
		switch e.Header(":path") {
		case "/echo":
			bodies[e.StreamID] = new(bytes.Buffer)
			_ = c.SendHeaders(e.StreamID, []core.HeaderField{{Name: ":status", Value: "200"}}, false)
		case "/trailers":
			_ = c.SendHeaders(e.StreamID, []core.HeaderField{{Name: ":status", Value: "200"}}, false)
			_, _ = c.SendData(e.StreamID, []byte("body, then trailers\n"), false)
			_ = c.SendTrailers(e.StreamID, []core.HeaderField{{Name: "x-checksum", Value: "42"}})
		default:
			_ = c.Respond(e.StreamID, 200, []core.HeaderField{{Name: "content-type", Value: "text/plain"}},
				[]byte("hello from h2proto\n"))
		}
	case core.EventData:
		if b := bodies[e.StreamID]; b != nil {
			// Echo each chunk as it arrives; end when the request ends.
			_, _ = c.SendData(e.StreamID, e.Data, e.EndStream)
			if e.EndStream {
				delete(bodies, e.StreamID)
			}
		}
	}
}

// endpoint is one side of the link.
type endpoint struct {
	conn    *core.Conn
	tr      *tracer
	handler func(*core.Conn, core.Event, map[uint32]*bytes.Buffer)
	bodies  map[uint32]*bytes.Buffer
	onEvent func(core.Event)
}

// link joins two cores with a fixed latency on a virtual clock: bytes sent
// at t arrive at t+latency.
type link struct {
	now            time.Time
	latency        time.Duration
	client, server *endpoint
	inflight       []packet
}

type packet struct {
	at   time.Time
	to   *endpoint
	data []byte
}

func newLink(start time.Time, latency time.Duration, trace io.Writer) (*link, error) {
	cc, err := core.NewClient(start, core.Config{})
	if err != nil {
		return nil, err
	}
	sc, err := core.NewServer(start, core.Config{})
	if err != nil {
		return nil, err
	}
	return &link{
		now: start, latency: latency,
		client: &endpoint{conn: cc, tr: newTracer(trace, start, "client → server", true), bodies: map[uint32]*bytes.Buffer{}},
		server: &endpoint{conn: sc, tr: newTracer(trace, start, "server → client", false), bodies: map[uint32]*bytes.Buffer{}},
	}, nil
}

// flush polls events and output of one endpoint, in the documented order,
// until both are empty (PollTransmit can queue events too).
func (l *link) flush(ep *endpoint) {
	for {
		polled := false
		for e, ok := ep.conn.PollEvent(); ok; e, ok = ep.conn.PollEvent() {
			polled = true
			if ep.handler != nil {
				ep.handler(ep.conn, e, ep.bodies)
			}
			if ep.onEvent != nil {
				ep.onEvent(e)
			}
		}
		out := ep.conn.PollTransmit(nil)
		if len(out) > 0 {
			ep.tr.observe(l.now, out)
			to := l.server
			if ep == l.server {
				to = l.client
			}
			l.inflight = append(l.inflight, packet{at: l.now.Add(l.latency), to: to, data: out})
		}
		if !polled && len(out) == 0 {
			return
		}
	}
}

// settle runs the link until no byte is in flight and no timer is due
// before the next delivery.
func (l *link) settle() error {
	for i := 0; i < 100000; i++ {
		l.flush(l.client)
		l.flush(l.server)
		if len(l.inflight) == 0 {
			return nil
		}
		p := l.inflight[0]
		l.inflight = l.inflight[1:]
		if p.at.After(l.now) {
			l.now = p.at
		}
		p.to.conn.HandleTimeout(l.now)
		for data := p.data; len(data) > 0; {
			n, err := p.to.conn.Receive(l.now, data)
			data = data[n:]
			l.flush(p.to)
			if err != nil {
				break
			}
		}
	}
	return errors.New("link did not settle")
}

type response struct {
	status   int
	body     bytes.Buffer
	trailers string
	done     bool
	err      error
}

func (l *link) request(method, path, body string) (*response, error) {
	hdrs := []core.HeaderField{
		{Name: ":method", Value: method}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "demo.h2proto"}, {Name: ":path", Value: path},
	}
	id, err := l.client.conn.OpenStream(hdrs, core.StreamOptions{EndStream: body == ""})
	if err != nil {
		return nil, err
	}
	if body != "" {
		if _, err := l.client.conn.SendData(id, []byte(body), true); err != nil {
			return nil, err
		}
	}
	resp := &response{}
	l.client.onEvent = func(e core.Event) {
		if e.StreamID != id {
			return
		}
		switch e.Kind {
		case core.EventResponse:
			resp.status = e.Status
		case core.EventData:
			resp.body.Write(e.Data)
		case core.EventTrailers:
			for _, f := range e.Headers {
				resp.trailers += f.Name + ": " + f.Value
			}
		case core.EventStreamClosed:
			resp.done = true
		case core.EventStreamReset:
			resp.done, resp.err = true, e.StreamErr()
		}
	}
	defer func() { l.client.onEvent = nil }()
	if err := l.settle(); err != nil {
		return nil, err
	}
	if !resp.done {
		return nil, errors.New("stream did not finish")
	}
	return resp, resp.err
}

func (l *link) ping() (time.Duration, error) {
	var rtt time.Duration
	l.client.onEvent = func(e core.Event) {
		if e.Kind == core.EventPingAck {
			rtt = e.RTT
		}
	}
	defer func() { l.client.onEvent = nil }()
	if err := l.client.conn.Ping(l.now, [8]byte{'h', '2', 'p', 'r', 'o', 't', 'o', '!'}); err != nil {
		return 0, err
	}
	if err := l.settle(); err != nil {
		return 0, err
	}
	if rtt == 0 {
		return 0, errors.New("no PING ACK")
	}
	return rtt, nil
}

func (l *link) shutdown() error {
	if err := l.server.conn.GoAway(l.now); err != nil {
		return err
	}
	if err := l.settle(); err != nil {
		return err
	}
	if p := l.server.conn.Phase(); p != core.PhaseClosed {
		return fmt.Errorf("server in phase %v after shutdown", p)
	}
	if p := l.client.conn.Phase(); p != core.PhaseClosed {
		return fmt.Errorf("client in phase %v after shutdown", p)
	}
	return nil
}
