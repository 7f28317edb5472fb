package fuzz

import (
	"errors"
	"slices"
	"strconv"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// The applications' commands. Each predicts the command's error from the
// model (the documented preconditions), runs it, requires the prediction,
// records what the Conn accepted, and polls the events it queued. Actions
// and the end of a check both use them.

// expect requires a command's error to be the predicted one.
func (m *propMachine) expect(what string, got, want error) {
	if !errors.Is(got, want) {
		m.t.Fatalf("%s: error %v, want %v", what, got, want)
	}
}

// openStream opens a client stream with a request for method, declaring
// length bytes of content (-1: no content-length field).
func (m *propMachine) openStream(method string, fields []core.HeaderField, opts core.StreamOptions, length int) {
	want := m.openErr()
	if want == nil && m.tooLarge(coretest.Client, propListSize(fields)) {
		want = core.ErrHeaderListTooLarge
	}
	id, err := m.p.Client.OpenStream(fields, opts)
	m.expect("OpenStream", err, want)
	if err != nil {
		m.t.Logf("  → %s", propOutcome(err))
		return
	}
	if id != m.nextID {
		m.t.Fatalf("OpenStream returned stream %d, want %d", id, m.nextID)
	}
	m.nextID += 2
	s := &modelStream{id: id, method: method, request: append([]core.HeaderField(nil), fields...)}
	s.end[coretest.Client] = modelEnd{known: true, manual: opts.ManualFlowControl}
	s.flow[coretest.Client].ended = opts.EndStream
	s.flow[coretest.Client].length = int64(length)
	s.flow[coretest.Server].length = -1
	m.streams[id] = s
	m.order = append(m.order, s)
	m.pollEvents()
}

// openErr predicts OpenStream's error.
func (m *propMachine) openErr() error {
	c := &m.conn[coretest.Client]
	switch {
	case !m.running(coretest.Client):
		return core.ErrClosed
	case c.goAwaySent:
		return core.ErrGoAwaySent
	case c.goAwayRecv:
		return core.ErrGoAwayReceived
	case m.activeClient() >= int(m.p.Client.PeerSettings().MaxConcurrentStreams):
		return core.ErrMaxStreams
	}
	return nil
}

// activeClient counts the client streams without their terminal event.
func (m *propMachine) activeClient() int {
	n := 0
	for _, s := range m.order {
		if s.end[coretest.Client].terminal == 0 {
			n++
		}
	}
	return n
}

// tooLarge reports whether a field list of size exceeds the peer's
// SETTINGS_MAX_HEADER_LIST_SIZE, so that side's Conn must refuse to send it.
func (m *propMachine) tooLarge(side coretest.Side, size uint64) bool {
	return size > uint64(m.p.Conn(side).PeerSettings().MaxHeaderListSize)
}

// sendErr predicts the error of SendData and SendTrailers on s before the
// content checks.
func (m *propMachine) sendErr(side coretest.Side, s *modelStream) error {
	switch {
	case !m.running(side):
		return core.ErrClosed
	case s.end[side].terminal != 0 || s.flow[side].ended:
		return core.ErrStreamClosed
	case side == coretest.Server && s.final == 0:
		return core.ErrInvalidStreamState
	}
	return nil
}

// room is how many bytes SendData may buffer on s now
// (Limits.StreamSendBuffer and Limits.ConnSendBuffer).
func (m *propMachine) room(side coretest.Side, s *modelStream) int {
	perStream, perConn := m.sendBuffers(side)
	c := m.p.Conn(side)
	return max(0, min(perStream-c.Buffered(s.id), perConn-c.Buffered(0)))
}

// sendBuffers returns side's Limits.StreamSendBuffer and
// Limits.ConnSendBuffer.
func (m *propMachine) sendBuffers(side coretest.Side) (perStream, perConn int) {
	l, def := propConfig(m.prof, side).Limits, core.DefaultConfig().Limits
	perStream, perConn = l.StreamSendBuffer, l.ConnSendBuffer
	if perStream == 0 {
		perStream = def.StreamSendBuffer
	}
	if perConn == 0 {
		perConn = def.ConnSendBuffer
	}
	return perStream, perConn
}

// The sizes Respond counts for the :status field and, as an upper bound,
// for the content-length field it adds (RFC 7541 §4.1: name, value, 32).
const (
	propStatusSize = uint64(len(":status") + 3 + 32)
	propLengthSize = uint64(len("content-length") + 19 + 32)
)

// respond sends r on s (server).
func (m *propMachine) respond(s *modelStream, r propResponse) {
	var want error
	if !m.running(coretest.Server) {
		want = core.ErrClosed
	}
	var err error
	if r.respond {
		noBody := s.method == "HEAD" || r.status == 204 || r.status == 304
		size := propListSize(r.fields) + propStatusSize
		if !noBody {
			size += propLengthSize // the content-length field Respond adds
		}
		switch {
		case want == nil && r.body > 0 && noBody:
			want = core.ErrBodyNotAllowed
		case want == nil && r.body > m.room(coretest.Server, s):
			want = core.ErrSendBufferFull
		case want == nil && m.tooLarge(coretest.Server, size):
			want = core.ErrHeaderListTooLarge
		}
		err = m.p.Server.Respond(s.id, r.status, r.fields, propPayload(s.id, coretest.Server, 0, r.body))
	} else {
		fields := append([]core.HeaderField{{Name: ":status", Value: strconv.Itoa(r.status)}}, r.fields...)
		if r.hasLength {
			fields = append(fields, propLengthField(r.length))
		}
		if want == nil && m.tooLarge(coretest.Server, propListSize(fields)) {
			want = core.ErrHeaderListTooLarge
		}
		err = m.p.Server.SendHeaders(s.id, fields, r.end)
	}
	m.t.Logf("  → %s", propOutcome(err))
	m.expect("respond", err, want)
	if err != nil {
		return
	}
	if r.status < 200 {
		s.infos = append(s.infos, r)
	} else {
		m.responded(s, r)
	}
	m.pollEvents()
}

// responded records the final response r on s: the fields the client must
// get (with the content-length field Respond adds) and the length the
// content must have.
func (m *propMachine) responded(s *modelStream, r propResponse) {
	noBody := s.method == "HEAD" || r.status == 204 || r.status == 304
	s.final, s.finalHdrs = r.status, r.fields
	f := &s.flow[coretest.Server]
	switch {
	case r.respond:
		f.sent, f.ended = int64(r.body), true
		if !noBody {
			s.finalHdrs = append(slices.Clip(r.fields), propLengthField(r.body))
		}
	case r.hasLength:
		f.ended = r.end
		s.finalHdrs = append(slices.Clip(r.fields), propLengthField(r.length))
		if !noBody {
			f.length = int64(r.length)
		}
	default:
		f.ended = r.end
	}
}

// sendData sends n bytes of content on s from side, with endStream.
func (m *propMachine) sendData(side coretest.Side, s *modelStream, n int, end bool) {
	f := &s.flow[side]
	want, wantN := m.sendErr(side, s), 0
	room := m.room(side, s)
	switch {
	case want == nil && side == coretest.Server && n > 0 && s.noBody():
		want = core.ErrBodyNotAllowed
	case want == nil && f.length >= 0 && (f.sent+int64(n) > f.length || end && f.sent+int64(n) != f.length):
		want = core.ErrContentLength
	case want == nil && n > room:
		want, wantN = core.ErrSendBufferFull, room
	case want == nil:
		wantN = n
	}
	got, err := m.p.Conn(side).SendData(s.id, propPayload(s.id, side, f.sent, n), end)
	m.t.Logf("  → accepted %d: %s", got, propOutcome(err))
	m.expect("SendData", err, want)
	if got != wantN {
		m.t.Fatalf("SendData accepted %d of %d bytes, want %d", got, n, wantN)
	}
	f.sent += int64(got)
	f.ended = f.ended || err == nil && end
	s.end[side].blocked = s.end[side].blocked || err == core.ErrSendBufferFull
	m.pollEvents()
}

// sendTrailers ends s from side with trailers.
func (m *propMachine) sendTrailers(side coretest.Side, s *modelStream, fields []core.HeaderField) {
	want := m.sendErr(side, s)
	switch f := &s.flow[side]; {
	case want == nil && f.length >= 0 && f.sent != f.length:
		want = core.ErrContentLength
	case want == nil && m.tooLarge(side, propListSize(fields)):
		want = core.ErrHeaderListTooLarge
	}
	err := m.p.Conn(side).SendTrailers(s.id, fields)
	m.t.Logf("  → %s", propOutcome(err))
	m.expect("SendTrailers", err, want)
	if err == nil {
		// No fields end the stream with END_STREAM, as SendTrailers documents.
		f := &s.flow[side]
		f.ended, f.hasTrailers, f.trailers = true, len(fields) > 0, append([]core.HeaderField(nil), fields...)
	}
	m.pollEvents()
}

// reset resets s from side with code. On a stream not yet ended the
// terminal local reset must follow at once.
func (m *propMachine) reset(side coretest.Side, s *modelStream, code core.ErrCode) {
	var want error
	if !m.running(side) {
		want = core.ErrClosed
	}
	err := m.p.Conn(side).ResetStream(s.id, code)
	m.t.Logf("  → %s", propOutcome(err))
	m.expect("ResetStream", err, want)
	end := &s.end[side]
	live := end.terminal == 0
	if err == nil {
		end.held = false
		if live {
			end.resetCode, end.resetPending = code, true
			end.rstCodes = append(end.rstCodes, code)
		}
	}
	m.pollEvents()
	if err == nil && live && end.terminal != core.EventStreamReset {
		m.t.Fatalf("%v: no terminal reset for stream %d after ResetStream", side, s.id)
	}
}

// consume returns n delivered bytes of s to side's windows.
func (m *propMachine) consume(side coretest.Side, s *modelStream, n int) {
	var want error
	if !m.running(side) {
		want = core.ErrClosed
	}
	err := m.p.Conn(side).Consume(s.id, n)
	m.expect("Consume", err, want)
	if err == nil {
		s.flow[1-side].unconsumed -= int64(n)
	}
	m.pollEvents()
}

// release lets the server application drop s: a stream reset under it, or
// a live one, which the core finishes off with no more events (recorded
// RST_STREAM codes: NO_ERROR after a complete response, else CANCEL) and
// whose unconsumed content it credits at once.
func (m *propMachine) release(s *modelStream) {
	end := &s.end[coretest.Server]
	err := m.p.Server.ReleaseStream(s.id)
	m.expect("ReleaseStream", err, nil)
	if end.terminal == 0 {
		end.released = true
		end.rstCodes = append(end.rstCodes, frame.ErrCodeNo, frame.ErrCodeCancel)
		s.flow[coretest.Client].unconsumed = 0
	}
	end.held = false
	m.pollEvents()
}

// updateSettings advertises changes from side.
func (m *propMachine) updateSettings(side coretest.Side, changes []frame.Setting) {
	c := &m.conn[side]
	var want error
	switch {
	case !m.running(side):
		want = core.ErrClosed
	case 1+c.updates-c.acks >= core.DefaultConfig().Limits.MaxPendingSettings:
		want = core.ErrTooManySettings
	}
	err := m.p.Conn(side).UpdateSettings(m.p.Now, changes)
	m.t.Logf("  → %s", propOutcome(err))
	m.expect("UpdateSettings", err, want)
	if err == nil {
		c.updates++
		for _, st := range changes {
			c.want.apply(st)
		}
		c.minList = min(c.minList, c.want.maxList)
	}
	m.pollEvents()
}

// ping sends a PING from side.
func (m *propMachine) ping(side coretest.Side, data [8]byte) {
	c := &m.conn[side]
	var want error
	switch {
	case !m.running(side):
		want = core.ErrClosed
	case len(c.pings) >= core.DefaultConfig().Limits.MaxPings:
		want = core.ErrTooManyPings
	}
	err := m.p.Conn(side).Ping(m.p.Now, data)
	m.t.Logf("  → %s", propOutcome(err))
	m.expect("Ping", err, want)
	if err == nil {
		c.pings = append(c.pings, data)
	}
	m.pollEvents()
}

// goAway starts a graceful shutdown from side.
func (m *propMachine) goAway(side coretest.Side) {
	var want error
	if !m.running(side) {
		want = core.ErrClosed
	}
	err := m.p.Conn(side).GoAway(m.p.Now)
	m.t.Logf("  → %s", propOutcome(err))
	m.expect("GoAway", err, want)
	if err == nil {
		m.conn[side].goAwaySent = true
	}
	m.pollEvents()
}

// closeConn ends the connection at side abruptly with code.
func (m *propMachine) closeConn(side coretest.Side, code core.ErrCode) {
	if c := &m.conn[side]; m.running(side) {
		c.closedByApp, c.closeCode = true, code
	}
	m.p.Conn(side).Close(m.p.Now, code, "props")
	m.pollEvents()
}

// loseTransport tells side its transport is gone.
func (m *propMachine) loseTransport(side coretest.Side) {
	if m.p.Conn(side).Phase() == core.PhaseClosed {
		return
	}
	m.conn[side].lost = true
	m.p.Conn(side).HandleTransportClosed(m.p.Now, nil)
	m.pollEvents()
}

// propOutcome describes a command's result for the script.
func propOutcome(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
