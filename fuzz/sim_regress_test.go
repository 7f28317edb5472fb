package fuzz

import (
	"strings"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// Reproducers of core bugs TestSim found, reduced to two cores: a
// coretest.Pair, or a small driver where the transport matters. A test is
// skipped while its bug is open; once fixed, it stays as a regression
// test.

// simRegressPair returns a connected pair with one GET on stream 1, seen
// by the server.
func simRegressPair(t *testing.T) (*coretest.Pair, uint32) {
	t.Helper()
	p, err := coretest.NewPair(1, core.Config{}, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p.Drive()
	req := []core.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "sim.test"}, {Name: ":path", Value: "/"}}
	id, err := p.Client.OpenStream(req, core.StreamOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Drive()
	return p, id
}

// A stream reset after a quiet spell: the client has received nothing for
// 11 s (less than Timeouts.KeepAlive, so no timer fired either) when it
// cancels a request, just as the server answers it. The response crosses
// the RST_STREAM, so the client must ignore it (RFC 9113 §5.1) for
// Timeouts.ResetGrace (10 s) after the reset. But ResetStream takes no
// time: the core dated the reset from its last input, 11 s earlier, the
// grace had already expired, and the response killed the connection with
// STREAM_CLOSED (frame_on_closed_stream). ReleaseStream had the same flaw.
// Fixed in 835bee3: a reset made by a command is dated by the next input.
func TestSimRegressResetGraceStaleClock(t *testing.T) {
	p, id := simRegressPair(t)
	p.Now = p.Now.Add(11 * time.Second) // quiet: no input reaches either core
	if err := p.Server.Respond(id, 200, nil, []byte("late answer")); err != nil {
		t.Fatal(err)
	}
	if err := p.Client.ResetStream(id, frame.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	if err := p.Client.Err(); err != nil {
		t.Fatalf("client: %v; a response crossing our RST_STREAM must be ignored", err)
	}
}

// Two dynamic table size updates: the client lowers
// SETTINGS_HEADER_TABLE_SIZE to 64 and raises it to 65536 again between
// two responses. RFC 7541 §4.2 has the server's encoder signal the
// smallest size, then the final one, at the start of its next field block,
// and the core's encoder (x/net hpack) does so. The client's decoder (x/net
// hpack) accepted a second update only while the table was empty; the entry
// the first response left (48 bytes) survives the resize to 64, so the
// valid block failed with COMPRESSION_ERROR (hpack_decoding). Fixed in
// 9f88e17: the core applies leading size updates before the decoder.
func TestSimRegressHpackTwoSizeUpdates(t *testing.T) {
	p, id := simRegressPair(t)
	small := []core.HeaderField{{Name: "x-sim-mode", Value: "tunnel"}} // 48 bytes in the table
	if err := p.Server.Respond(id, 200, small, nil); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	for _, size := range []uint32{64, 65536} {
		if err := p.Client.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingHeaderTableSize, Val: size}}); err != nil {
			t.Fatal(err)
		}
		p.Drive() // sent and acknowledged
	}
	req := []core.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "sim.test"}, {Name: ":path", Value: "/2"}}
	id2, err := p.Client.OpenStream(req, core.StreamOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Drive()
	if err := p.Server.Respond(id2, 200, small, nil); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	if err := p.Client.Err(); err != nil {
		t.Fatalf("client: %v", err)
	}
}

// Trailers on a stream above a final GOAWAY's last stream ID: the client
// opens stream 3 and ends it with trailers — two HEADERS frames — while
// the server's final GOAWAY(last=1) is on its way. The server ignores the
// first HEADERS, as RFC 9113 §6.8 says ("the sender will ignore frames
// sent on streams initiated by the receiver if the stream has an
// identifier higher than the included last stream identifier"), and
// ignored DATA there too, but treated the trailers as a stream ID going
// backwards: connection error PROTOCOL_ERROR (stream_id_not_increasing).
// Fixed in b34a740.
func TestSimRegressTrailersAboveGoAway(t *testing.T) {
	p, _ := simRegressPair(t)
	if err := p.Server.GoAway(p.Now); err != nil {
		t.Fatal(err)
	}
	p.Now = p.Now.Add(2 * time.Second) // Timeouts.GoAwayDrain: the final GOAWAY(1) goes out
	p.Server.HandleTimeout(p.Now)
	_ = p.Server.PollTransmit(nil) // on the wire, not yet at the client
	req := []core.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "sim.test"}, {Name: ":path", Value: "/"}}
	id, err := p.Client.OpenStream(req, core.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Client.SendTrailers(id, []core.HeaderField{{Name: "x-sum", Value: "0"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Server.Receive(p.Now, p.Client.PollTransmit(nil)); err != nil {
		t.Fatalf("server: %v; frames on stream %d, above the GOAWAY's last stream 1, must be ignored", err, id)
	}
}

// A graceful close while a request's field block is still arriving: the
// server has the HEADERS frame of stream 1 but not yet its CONTINUATION
// (a header list over 16 KiB, on a slow link) when its GoAway drain ends.
// It counted no stream, so it sent its final GOAWAY with last stream ID
// 1 — telling the client stream 1 may have been processed, so it must not
// be retried — and closed at once. The client's request was lost
// ("connection lost", not retryable), though the server never processed
// it; the idle timeout closed the same way. The server must finish the
// block (the stream is open from its HEADERS, RFC 9113 §5.1) or leave it
// out of the last stream ID (§6.8). Fixed in e020baa: the close waits for
// the block.
func TestSimRegressGoAwayDuringHeaderBlock(t *testing.T) {
	p, err := coretest.NewPair(1, core.Config{}, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p.Drive()
	req := []core.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "sim.test"}, {Name: ":path", Value: "/"},
		{Name: "x-pad", Value: strings.Repeat("p", 40<<10)}} // HEADERS + CONTINUATION
	id, err := p.Client.OpenStream(req, core.StreamOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	out := p.Client.PollTransmit(nil)
	h, err := frame.ParseHeader(out)
	if err != nil || h.Type != frame.TypeHeaders {
		t.Fatalf("first frame %+v, %v; want HEADERS", h, err)
	}
	if _, err := p.Server.Receive(p.Now, out[:frame.HeaderLen+int(h.Length)]); err != nil {
		t.Fatal(err)
	}
	if err := p.Server.GoAway(p.Now); err != nil {
		t.Fatal(err)
	}
	p.Now = p.Now.Add(2 * time.Second) // past Timeouts.GoAwayDrain
	p.Server.HandleTimeout(p.Now)
	if _, err := p.Client.Receive(p.Now, p.Server.PollTransmit(nil)); err != nil {
		t.Fatal(err)
	}
	if p.Server.Phase() < core.PhaseClosing {
		return // the server waits for the rest of the block: fine
	}
	p.Client.HandleTransportClosed(p.Now, nil) // the server hung up
	for {
		ev, ok := p.Client.PollEvent()
		if !ok {
			t.Fatalf("stream %d got no terminal event", id)
		}
		if ev.Kind == core.EventStreamReset && ev.StreamID == id {
			if !ev.Retryable {
				t.Fatalf("stream %d, never processed by the server, was reset without Retryable (%s, err %v)", id, ev.Token, ev.Err)
			}
			return
		}
	}
}

// Mutual back-pressure: Receive stops consuming while the core's queued
// output is above Limits.OutputHighWater, "so that a peer cannot make us
// buffer replies faster than it reads them". But the queue also held what
// the application itself sent — here request and response HEADERS. Two
// peers driven like the runtime (package h2) — a writer takes what
// PollTransmit has only once its previous write went out, into a
// transport that holds a few KiB until the peer reads — each ended up with
// their own HEADERS above the mark while their transport was full: the
// client stopped reading because its requests could not leave, they could
// not leave because the server stopped reading, and the server stopped
// reading because its responses could not leave. Nothing moved again;
// keep-alive ended the connection 30 s later. Found by TestSim (seeds 1945
// and 2731 at -sim.steps=1000). Fixed in 683ec80: a client's own requests
// no longer stop its input.
func TestSimRegressMutualBackPressure(t *testing.T) {
	var cfg core.Config
	cfg.Limits.OutputHighWater = 8 << 10
	d := newSimRegressWire(t, cfg, 4<<10)
	d.serve = func(c *core.Conn, ev core.Event) {
		if ev.Kind == core.EventRequest {
			_ = c.Respond(ev.StreamID, 200, []core.HeaderField{{Name: "x-pad", Value: simRegressPad(ev.StreamID, 8<<10)}}, nil)
		}
	}
	const requests = 16
	for i := range requests {
		req := []core.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
			{Name: ":authority", Value: "sim.test"}, {Name: ":path", Value: "/"},
			{Name: "x-pad", Value: simRegressPad(uint32(i), 8<<10)}}
		if _, err := d.conns[0].OpenStream(req, core.StreamOptions{EndStream: true}); err != nil {
			t.Fatal(err)
		}
		d.step() // the client's app keeps sending while the network is busy
	}
	for range 1000 {
		d.step()
	}
	if d.responses != requests {
		t.Fatalf("%d of %d responses arrived; client wants input %v (queued %d), server %v (queued %d)",
			d.responses, requests, d.conns[0].WantsInput(), d.conns[0].QueuedOutput(),
			d.conns[1].WantsInput(), d.conns[1].QueuedOutput())
	}
}

// simRegressWire connects a client (conns[0]) and a server (conns[1])
// through a transport that holds at most capacity bytes each way until the
// other side reads them. Each side's writer takes everything PollTransmit
// has, but only once it has put its previous batch on the wire, as the
// runtime's writer does.
type simRegressWire struct {
	t         *testing.T
	conns     [2]*core.Conn
	batch     [2][]byte // taken from PollTransmit, not yet on the wire
	wire      [2][]byte // on the wire from side i, not yet read
	capacity  int
	serve     func(*core.Conn, core.Event) // the server app
	responses int                          // EventResponse on the client
}

func newSimRegressWire(t *testing.T, cfg core.Config, capacity int) *simRegressWire {
	t.Helper()
	d := &simRegressWire{t: t, capacity: capacity}
	var err error
	if d.conns[0], err = core.NewClient(coretest.Epoch, cfg); err != nil {
		t.Fatal(err)
	}
	if d.conns[1], err = core.NewServer(coretest.Epoch, cfg); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		d.step()
	}
	return d
}

// step gives each side a turn: read, run the app, write.
func (d *simRegressWire) step() {
	for i, c := range d.conns {
		if in := d.wire[1-i]; len(in) > 0 {
			n, _ := c.Receive(coretest.Epoch, in)
			d.poll(c)
			d.wire[1-i] = in[n:]
		}
		if len(d.batch[i]) == 0 {
			d.batch[i] = c.PollTransmit(nil)
			d.poll(c)
		}
		k := min(len(d.batch[i]), d.capacity-len(d.wire[i]))
		d.wire[i] = append(d.wire[i], d.batch[i][:k]...)
		d.batch[i] = d.batch[i][k:]
	}
}

func (d *simRegressWire) poll(c *core.Conn) {
	for {
		ev, ok := c.PollEvent()
		if !ok {
			return
		}
		switch {
		case ev.Kind == core.EventResponse:
			d.responses++
		case c == d.conns[1] && d.serve != nil:
			d.serve(c, ev)
		}
	}
}

// simRegressPad is an n-byte field value that HPACK cannot shrink much.
func simRegressPad(seed uint32, n int) string {
	b := make([]byte, n)
	x := seed*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[x%36]
	}
	return string(b)
}

// Consume after ReleaseStream: a server in manual flow control receives
// a request body, queues its response, and releases the stream while the
// response is still queued (so the stream stays open to send it). Since
// 3c95143 ReleaseStream credits the content not yet consumed; the app's
// Consume of bytes it was delivered before the release then failed with
// ErrConsumeTooMuch ("consumed more than was delivered"), which is false.
// Fixed in d62a64c: Consume on a released stream is a no-op, as on a
// closed one.
func TestSimRegressConsumeAfterRelease(t *testing.T) {
	var srv core.Config
	srv.ManualFlowControl = true
	p, err := coretest.NewPair(1, core.Config{}, srv)
	if err != nil {
		t.Fatal(err)
	}
	p.Drive()
	req := []core.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "sim.test"}, {Name: ":path", Value: "/"}}
	id, err := p.Client.OpenStream(req, core.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.SendData(id, []byte("hello"), false); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	var got int
	for _, ev := range p.Events(coretest.Server, core.EventData) {
		got += len(ev.Data)
	}
	if got != 5 {
		t.Fatalf("server got %d bytes, want 5", got)
	}
	if err := p.Server.Respond(id, 200, nil, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := p.Server.ReleaseStream(id); err != nil { // the response is still queued
		t.Fatal(err)
	}
	if err := p.Server.Consume(id, got); err != nil {
		t.Fatalf("Consume(%d, %d) of delivered bytes after ReleaseStream: %v", id, got, err)
	}
}
