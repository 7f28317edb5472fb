package fuzz

import (
	"bytes"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// FuzzServerConn feeds a server Conn a client preface and SETTINGS, then
// arbitrary bytes, in chunks and with clock moves chosen by plan, with an
// application (fzApp) that answers, consumes and releases as the contracts
// require. After every step it checks (fzEndpoint): no panic and no hang;
// CheckInvariants; the output parses as a well-formed frame sequence
// (fzWire) whose DATA stays within the credit the input granted (fzInput);
// the event contract (fzTracker); queued output bounded by 4× the input
// just consumed plus a constant; send buffers, receive windows, held and
// pending streams and unconsumed data within their configured bounds.
// Once the input is used up, the peer falls silent and the Conn's timers
// must close it, with a final GOAWAY carrying the code of any connection
// error it detected.
func FuzzServerConn(f *testing.F) {
	plans := fzSeedPlans()
	for i, conv := range fzServerConversations() {
		f.Add(conv, plans[i%len(plans)], uint8(i*37), uint8(i))
	}
	for i, rec := range traffic(f, "server") {
		frames := fzCap(fzFrames(rec), 256<<10)
		f.Add(append([]byte(coretest.ClientPreface), bytes.Join(frames, nil)...), []byte(nil), uint8(0), uint8(i))
		if len(frames) > 1 {
			// Without the recorded preface SETTINGS: the target sends its own.
			f.Add(bytes.Join(frames[1:], nil), plans[i%len(plans)], uint8(i), uint8(i))
			f.Add(bytes.Join(frames[1:min(len(frames), 8)], nil), []byte{0x00, 0x35, 0x3f}, uint8(0x1f), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, data, plan []byte, cfgSel, appSel uint8) {
		ep := newFzEndpoint(t, core.RoleServer, cfgSel, appSel)
		if !bytes.HasPrefix(data, []byte(coretest.ClientPreface)) {
			data = append(append([]byte(coretest.ClientPreface), frame.AppendSettings(nil, nil)...), data...)
		}
		ep.run(data, fzPlan{plan})
	})
}

// FuzzClientConn is FuzzServerConn for a client Conn: the application
// opens one to eight requests first (GET, HEAD, POST with a body, POST with
// trailers), then the Conn is fed a server preface (SETTINGS, added unless
// the input starts with one) and arbitrary bytes. The checks are those of
// FuzzServerConn.
func FuzzClientConn(f *testing.F) {
	plans := fzSeedPlans()
	for i, conv := range fzClientConversations() {
		f.Add(conv, plans[i%len(plans)], uint8(i*37), uint8(i*16+i))
	}
	for i, rec := range traffic(f, "client") {
		frames := fzCap(fzFrames(rec), 256<<10)
		opens := uint8(min(7, fzMaxStream(frames)/2)) << 4
		f.Add(bytes.Join(frames, nil), []byte(nil), uint8(0), opens)
		if len(frames) > 1 {
			f.Add(bytes.Join(frames[:min(len(frames), 8)], nil), plans[i%len(plans)], uint8(i), opens|uint8(i&0x0f))
		}
	}
	f.Fuzz(func(t *testing.T, data, plan []byte, cfgSel, appSel uint8) {
		ep := newFzEndpoint(t, core.RoleClient, cfgSel, appSel)
		for i := 0; i <= int(appSel>>4)%8; i++ {
			ep.app.open()
		}
		if fr, _, err := frame.Parse(data, frame.MaxMaxFrameSize); err != nil || fr.Type != frame.TypeSettings || fr.IsAck() {
			data = append(frame.AppendSettings(nil, nil), data...)
		}
		ep.run(data, fzPlan{plan})
	})
}

// fzMaxStream returns the highest stream ID among frames.
func fzMaxStream(frames [][]byte) int {
	m := 0
	for _, b := range frames {
		if h, err := frame.ParseHeader(b); err == nil {
			m = max(m, int(h.StreamID))
		}
	}
	return m
}

// fzSeedPlans are delivery plans for hand-built seeds: all at once, byte
// by byte, and mixed chunks with clock jumps and application actions.
func fzSeedPlans() [][]byte {
	return [][]byte{
		nil,
		bytes.Repeat([]byte{0x00}, 48),
		{0x04, 0x35, 0xf0, 0x0b, 0x3f, 0xf4, 0x2a, 0xf2, 0x3f, 0xf7, 0x1c},
		{0x05, 0x05, 0xf5, 0x08, 0xf1, 0x3c, 0xf3, 0x3d, 0xf6},
	}
}

// fzConversations builds byte streams, each with its own FrameBuilder so
// that its field blocks form one HPACK sequence.
func fzConversations(convs ...func(b *coretest.FrameBuilder) [][]byte) [][]byte {
	out := make([][]byte, len(convs))
	for i, conv := range convs {
		out[i] = bytes.Join(conv(coretest.NewFrameBuilder()), nil)
	}
	return out
}

// fzServerConversations are hand-built client byte streams (after the
// preface and SETTINGS the target adds): ordinary exchanges and each kind
// of mistake a client can make.
func fzServerConversations() [][]byte {
	type fb = coretest.FrameBuilder
	const eh, es = coretest.EndHeaders, coretest.EndStream
	post := coretest.Request("POST", "/up", "content-length", "5")
	big := bytes.Repeat([]byte("x"), 20000)
	return fzConversations(
		func(b *fb) [][]byte { return [][]byte{b.SettingsAck(), b.GET(1, "/")} },
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.Headers(1, eh, post...), b.Data(1, false, []byte("he")), b.Data(1, true, []byte("llo"))}
		},
		func(b *fb) [][]byte {
			blk := b.Block(coretest.Request("GET", "/split", "a", "b", "c", "d")...)
			return [][]byte{b.SettingsAck(), b.HeadersBlock(1, 0, blk[:3]), b.Continuation(1, false, blk[3:5]), b.Continuation(1, true, blk[5:])}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.GET(1, "/"), b.RST(1, frame.ErrCodeCancel), b.GET(3, "/"), b.Ping(false, [8]byte{1}),
				b.WindowUpdate(0, 1000), b.Priority(3, 1, true, 7), b.Raw(0x20, 0xff, 3, []byte("?"))}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.Headers(1, eh, coretest.Request("POST", "/")...), b.DataPadded(1, false, []byte("abc"), 9),
				b.Headers(1, es|eh, "x-trailer", "1")}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.GET(1, "/"), b.GET(3, "/"), b.GoAway(0, frame.ErrCodeNo, "bye")}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.GET(1, "/"), b.GET(3, "/"), b.GET(5, "/"), b.GET(7, "/"), b.GET(9, "/"),
				b.RST(3, 0), b.RST(5, 0)}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 10},
				frame.Setting{ID: frame.SettingHeaderTableSize, Val: 0}, frame.Setting{ID: frame.SettingMaxFrameSize, Val: 1 << 20}),
				b.SettingsAck(), b.GET(1, "/"), b.WindowUpdate(1, 100)}
		},
		func(b *fb) [][]byte { return [][]byte{b.SettingsAck(), b.Data(0, false, nil)} },
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.Headers(2, eh|es, coretest.Request("GET", "/")...)}
		},
		func(b *fb) [][]byte { return [][]byte{b.SettingsAck(), b.Continuation(1, true, nil)} },
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.GET(1, "/"), b.WindowUpdate(0, frame.MaxWindowSize)}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.Settings(frame.Setting{ID: frame.SettingEnablePush, Val: 2})}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.Headers(1, eh, ":method", "CONNECT", ":authority", "h:443"),
				b.Data(1, false, []byte("tunnel"))}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.Headers(1, eh, post...), b.Data(1, true, []byte("too long"))}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.Headers(1, eh|es, coretest.Request("HEAD", "/")...)}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.Headers(1, eh, coretest.Request("PUT", "/")...), b.Data(1, false, big[:16384]),
				b.Data(1, true, big[16384:])}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.SettingsAck(), b.GET(1, "/"), b.Ping(true, [8]byte{}), b.SettingsAck(), b.GET(1, "/")}
		},
	)
}

// fzClientConversations are hand-built server byte streams for a client
// that opened streams 1, 3, … (the target adds SETTINGS unless the input
// starts with it).
func fzClientConversations() [][]byte {
	type fb = coretest.FrameBuilder
	const eh, es = coretest.EndHeaders, coretest.EndStream
	hello := []byte("hello")
	ok := coretest.Response("200", "content-length", "5")
	return fzConversations(
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(), b.SettingsAck(), b.Headers(1, eh, ok...), b.Data(1, true, hello)}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(), b.Headers(1, eh, coretest.Response("103")...), b.Headers(1, eh|es, coretest.Response("204")...)}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(), b.Headers(1, eh, coretest.Response("200")...), b.Data(1, false, hello),
				b.Headers(1, eh|es, "x-t", "1")}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(), b.RST(1, frame.ErrCodeRefusedStream), b.GoAway(1, frame.ErrCodeProtocol, "no")}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(frame.Setting{ID: frame.SettingMaxConcurrentStreams, Val: 1},
				frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1}), b.WindowUpdate(1, 5000), b.WindowUpdate(0, 100000)}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(), b.Raw(frame.TypePushPromise, eh, 1, []byte{0, 0, 0, 2})}
		},
		func(b *fb) [][]byte {
			blk := b.Block(coretest.Response("200", "x-long", "abcdefgh")...)
			return [][]byte{b.Settings(), b.HeadersBlock(1, 0, blk[:2]), b.Continuation(1, true, blk[2:]), b.Data(1, true, nil)}
		},
		func(b *fb) [][]byte { return [][]byte{b.Settings(), b.Data(1, false, hello)} },
		func(b *fb) [][]byte { return [][]byte{b.Settings(), b.Headers(3, eh, ok...)} },
		func(b *fb) [][]byte { return [][]byte{b.Settings(), b.Headers(1, eh|es, ok...)} },
		func(b *fb) [][]byte { return [][]byte{b.Settings(frame.Setting{ID: frame.SettingEnablePush, Val: 1})} },
		func(b *fb) [][]byte { return [][]byte{b.SettingsAck()} },
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(), b.GoAway(0, frame.ErrCodeNo, ""), b.Ping(false, [8]byte{9})}
		},
		func(b *fb) [][]byte {
			return [][]byte{b.Settings(frame.Setting{ID: frame.SettingHeaderTableSize, Val: 0}), b.SettingsAck(),
				b.Headers(1, eh, ok...), b.Data(1, false, hello[:2]), b.Data(1, true, hello[2:])}
		},
	)
}

// fzApp plays the application above a fuzzed Conn. Its choices depend only
// on its selector and stream IDs, so that runs replay exactly.
//
// Server: a request is answered at once with Respond, or with SendHeaders
// and a body streamed through SendData, or reset, or answered once it
// ends, or released unanswered. Client: streams are GET, HEAD, POST with a
// body, or POST with trailers. Both consume data (at once or, for some
// selectors, only on an action) on manual flow-control streams, release
// reset server streams, and resume bodies on EventWritable.
type fzApp struct {
	ep        *fzEndpoint
	sel       uint8
	manual    map[uint32]bool
	owed      map[uint32]int64 // delivered on manual streams, not consumed
	owedTotal int64
	body      map[uint32]int  // content still to send
	trailers  map[uint32]bool // end the body with trailers
	waiting   map[uint32]bool // server: respond when the request ends
	opened    int
	acts      int
}

func newFzApp(ep *fzEndpoint, sel uint8) *fzApp {
	return &fzApp{ep: ep, sel: sel, manual: map[uint32]bool{}, owed: map[uint32]int64{},
		body: map[uint32]int{}, trailers: map[uint32]bool{}, waiting: map[uint32]bool{}}
}

func (a *fzApp) on(e *core.Event) {
	id := e.StreamID
	switch e.Kind {
	case core.EventRequest:
		a.manual[id] = a.ep.cfg.ManualFlowControl
		a.request(id, e.EndStream)
	case core.EventData:
		a.data(id, len(e.Data))
		if e.EndStream && a.waiting[id] {
			a.respond(id)
		}
	case core.EventTrailers:
		if a.waiting[id] {
			a.respond(id)
		}
	case core.EventWritable:
		a.pump(id)
	case core.EventStreamReset, core.EventStreamClosed:
		a.forget(id)
		if a.ep.c.Role() == core.RoleServer {
			if err := a.ep.c.ReleaseStream(id); err != nil {
				a.ep.t.Fatalf("ReleaseStream(%d) after its terminal event: %v", id, err)
			}
		} else if a.sel&0x40 != 0 {
			a.open()
		}
	}
}

func (a *fzApp) request(id uint32, ended bool) {
	c := a.ep.c
	switch (id/2 + uint32(a.sel)) % 5 {
	case 0:
		a.respond(id)
	case 1:
		if c.SendHeaders(id, []core.HeaderField{{Name: ":status", Value: "200"}}, false) == nil {
			a.body[id] = 3000 + int(id)%5000
			a.pump(id)
		}
	case 2:
		_ = c.ResetStream(id, frame.ErrCodeCancel)
	case 3:
		if ended {
			a.respond(id)
		} else {
			a.waiting[id] = true
		}
	default:
		_ = c.ReleaseStream(id)
		a.ep.track.released(id)
		a.forget(id)
	}
}

func (a *fzApp) respond(id uint32) {
	delete(a.waiting, id)
	body := fzPattern(id, 0, int(id*37)%2000)
	err := a.ep.c.Respond(id, 200, []core.HeaderField{{Name: "x-fz", Value: "1"}}, body)
	switch err {
	case core.ErrBodyNotAllowed:
		_ = a.ep.c.Respond(id, 200, nil, nil)
	case core.ErrSendBufferFull:
		if a.ep.c.SendHeaders(id, []core.HeaderField{{Name: ":status", Value: "200"}}, false) == nil {
			a.body[id] = len(body)
			a.pump(id)
		}
	}
}

// data accounts n delivered bytes on a stream in manual flow control.
func (a *fzApp) data(id uint32, n int) {
	if !a.manual[id] || n == 0 {
		return
	}
	if a.sel&0x20 != 0 {
		a.owed[id] += int64(n)
		a.owedTotal += int64(n)
		return
	}
	if err := a.ep.c.Consume(id, n); err != nil && err != core.ErrClosed {
		a.ep.t.Fatalf("Consume(%d, %d): %v", id, n, err)
	}
}

// pump sends what is left of a stream's body, then its end.
func (a *fzApp) pump(id uint32) {
	c := a.ep.c
	for a.body[id] > 0 {
		n := min(a.body[id], 4096)
		last := n == a.body[id] && !a.trailers[id]
		sent, err := c.SendData(id, fzPattern(id, 0, n), last)
		a.body[id] -= sent
		if err == core.ErrBodyNotAllowed {
			a.body[id] = 0
			_, _ = c.SendData(id, nil, true)
		}
		if err != nil {
			return
		}
	}
	if a.trailers[id] {
		delete(a.trailers, id)
		_ = c.SendTrailers(id, []core.HeaderField{{Name: "x-trailer", Value: "fz"}})
	}
}

// open starts a client request.
func (a *fzApp) open() {
	if a.opened >= 8 {
		return
	}
	kind := (a.opened + int(a.sel)) % 4
	a.opened++
	method := [4]string{"GET", "POST", "HEAD", "POST"}[kind]
	opts := core.StreamOptions{EndStream: kind%2 == 0, ManualFlowControl: a.sel&1 != 0}
	id, err := a.ep.c.OpenStream(fzFields(coretest.Request(method, "/fz")...), opts)
	if err != nil {
		return
	}
	a.ep.track.opened(id)
	a.manual[id] = opts.ManualFlowControl
	if kind == 1 || kind == 3 {
		a.body[id] = 500 + 2500*(kind/3)
		a.trailers[id] = kind == 3
		a.pump(id)
	}
}

func (a *fzApp) forget(id uint32) {
	a.owedTotal -= a.owed[id]
	delete(a.owed, id)
	delete(a.body, id)
	delete(a.trailers, id)
	delete(a.waiting, id)
}

// act performs an application action chosen by a plan byte.
func (a *fzApp) act(code int) {
	c, now := a.ep.c, a.ep.now
	a.acts++
	live := a.ep.track.live()
	switch code {
	case 0:
		_ = c.Ping(now, [8]byte{'f', 'z', byte(a.acts)})
	case 1:
		_ = c.GoAway(now)
	case 2:
		v := [4]uint32{0, 1, 65535, 1 << 20}[a.acts%4]
		if c.UpdateSettings(now, []frame.Setting{{ID: frame.SettingInitialWindowSize, Val: v}}) == nil {
			a.ep.maxInit = max(a.ep.maxInit, int64(v))
		}
	case 3:
		_ = c.UpdateSettings(now, []frame.Setting{
			{ID: frame.SettingHeaderTableSize, Val: [3]uint32{0, 100, 8192}[a.acts%3]},
			{ID: frame.SettingMaxFrameSize, Val: 1 << 16},
		})
	case 4:
		for _, id := range live {
			if n := a.owed[id]; n > 0 {
				a.owed[id], a.owedTotal = 0, a.owedTotal-n
				_ = c.Consume(id, int(n))
			}
		}
	case 5:
		if len(live) > 0 {
			_ = c.ResetStream(live[0], frame.ErrCodeCancel)
		}
	case 6:
		c.Close(now, frame.ErrCodeProtocol, "fz")
	case 7:
		if c.Role() == core.RoleClient {
			a.open()
		} else if len(live) > 0 {
			_ = c.ReleaseStream(live[0])
			a.ep.track.released(live[0])
			a.forget(live[0])
		}
	}
}
