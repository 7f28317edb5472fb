package fuzz

import (
	"slices"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// The model's checks of stream events: content in order and exactly once,
// ends as sent, and exactly one terminal event per stream, with a cause.

// onStreamEvent checks an event about one stream.
func (m *propMachine) onStreamEvent(side coretest.Side, e *core.Event) {
	s := m.streams[e.StreamID]
	if s == nil {
		m.t.Fatalf("%v: %v event on stream %d, never opened", side, e.Kind, e.StreamID)
	}
	if e.Kind == core.EventRequest {
		m.onRequest(side, s, e)
		return
	}
	end := &s.end[side]
	switch {
	case !end.known:
		m.t.Fatalf("%v: %v event on stream %d before the application knew it", side, e.Kind, s.id)
	case end.released:
		m.t.Fatalf("%v: %v event on stream %d after ReleaseStream", side, e.Kind, s.id)
	case end.terminal != 0:
		m.t.Fatalf("%v: %v event on stream %d after its terminal %v", side, e.Kind, s.id, end.terminal)
	}
	switch e.Kind {
	case core.EventInformational, core.EventResponse:
		m.onResponse(side, s, e)
	case core.EventData:
		m.onData(side, s, e)
	case core.EventTrailers:
		m.checkEnd(side, s, true, e.Headers)
	case core.EventStreamReset:
		m.onReset(side, s, e)
	case core.EventStreamClosed:
		m.onStreamClosed(side, s)
	case core.EventWritable:
		if !end.blocked {
			m.t.Fatalf("%v: EventWritable on stream %d, where SendData never returned ErrSendBufferFull", side, s.id)
		}
		end.blocked = false
	default:
		m.t.Fatalf("%v: unexpected %v event on stream %d", side, e.Kind, s.id)
	}
}

// onRequest checks a new request (server) against what the client sent.
func (m *propMachine) onRequest(side coretest.Side, s *modelStream, e *core.Event) {
	end := &s.end[coretest.Server]
	switch {
	case side != coretest.Server:
		m.t.Fatalf("client: EventRequest")
	case end.known:
		m.t.Fatalf("server: second EventRequest for stream %d", s.id)
	case s.refused:
		m.t.Fatalf("server: request %d arrived, yet the client was told it was refused by GOAWAY", s.id)
	case s.dropped:
		m.t.Fatalf("server: request %d arrived after its Conn reset it unannounced", s.id)
	}
	propSameFields(m.t, "server: request", s.id, e.Headers, s.request)
	end.known, end.manual = true, m.prof.server.ManualFlowControl
	if e.EndStream {
		m.checkEnd(side, s, false, nil)
	}
	if m.finishing {
		m.finishResponse(s)
	}
}

// onResponse checks an informational or final response (client).
func (m *propMachine) onResponse(side coretest.Side, s *modelStream, e *core.Event) {
	if side != coretest.Client || s.gotFinal {
		m.t.Fatalf("%v: %v on stream %d after the final response", side, e.Kind, s.id)
	}
	want := propResponse{status: s.final, fields: s.finalHdrs}
	if e.Kind == core.EventInformational {
		if s.infosGot >= len(s.infos) {
			m.t.Fatalf("client: informational %d on stream %d, never sent", e.Status, s.id)
		}
		want = s.infos[s.infosGot]
		s.infosGot++
	} else if s.infosGot != len(s.infos) {
		m.t.Fatalf("client: final response on stream %d after %d of %d informational ones", s.id, s.infosGot, len(s.infos))
	}
	if e.Status != want.status {
		m.t.Fatalf("client: status %d on stream %d, sent %d", e.Status, s.id, want.status)
	}
	var got []core.HeaderField
	for _, f := range e.Headers {
		if f.Name != ":status" {
			got = append(got, f)
		}
	}
	propSameFields(m.t, "client: response", s.id, got, want.fields)
	if e.Kind == core.EventResponse {
		s.gotFinal = true
		if e.EndStream {
			m.checkEnd(side, s, false, nil)
		}
	}
}

// onData checks delivered content: the next bytes of what the peer's Conn
// accepted, in order, nothing twice.
func (m *propMachine) onData(side coretest.Side, s *modelStream, e *core.Event) {
	f := &s.flow[1-side]
	switch {
	case side == coretest.Client && !s.gotFinal:
		m.t.Fatalf("client: DATA on stream %d before the final response", s.id)
	case f.recvEnd:
		m.t.Fatalf("%v: DATA on stream %d after its end", side, s.id)
	case f.recv+int64(len(e.Data)) > f.sent:
		m.t.Fatalf("%v: %d bytes on stream %d after %d, but only %d were sent", side, len(e.Data), s.id, f.recv, f.sent)
	}
	for i, b := range e.Data {
		if want := propByte(s.id, 1-side, f.recv+int64(i)); b != want {
			m.t.Fatalf("%v: stream %d byte %d is %#x, sent %#x", side, s.id, f.recv+int64(i), b, want)
		}
	}
	f.recv += int64(len(e.Data))
	if s.end[side].manual {
		f.unconsumed += int64(len(e.Data))
	}
	if e.EndStream {
		m.checkEnd(side, s, false, nil)
	}
	if m.finishing && f.unconsumed > 0 {
		m.consume(side, s, int(f.unconsumed))
	}
}

// checkEnd checks the end of the peer's direction of s as side sees it:
// by trailers (viaTrailers, with their fields) or END_STREAM.
func (m *propMachine) checkEnd(side coretest.Side, s *modelStream, viaTrailers bool, fields []core.HeaderField) {
	f := &s.flow[1-side]
	switch {
	case f.recvEnd:
		m.t.Fatalf("%v: stream %d ended twice", side, s.id)
	case !f.ended:
		m.t.Fatalf("%v: stream %d ended, but the peer never ended it", side, s.id)
	case f.recv != f.sent:
		m.t.Fatalf("%v: stream %d ended after %d of %d bytes", side, s.id, f.recv, f.sent)
	case viaTrailers != f.hasTrailers:
		m.t.Fatalf("%v: stream %d ended with trailers %v, sent %v (%v)", side, s.id, fields, f.trailers, f.hasTrailers)
	}
	if viaTrailers {
		propSameFields(m.t, side.String()+": trailers", s.id, fields, f.trailers)
	}
	f.recvEnd = true
}

// onStreamClosed checks a normal end: both directions ended.
func (m *propMachine) onStreamClosed(side coretest.Side, s *modelStream) {
	switch {
	case !s.flow[side].ended:
		m.t.Fatalf("%v: stream %d closed, but its application never ended its side", side, s.id)
	case !s.flow[1-side].recvEnd:
		m.t.Fatalf("%v: stream %d closed before the peer's side ended", side, s.id)
	}
	m.ended(side, s, core.EventStreamClosed)
}

// onReset checks a terminal reset against its possible causes: the
// connection ending, this application's ResetStream, the peer's (or the
// peer server's ReleaseStream), a GOAWAY that did not cover the stream, or
// trailers over a lowered header list size (trailersTooLarge, and
// waitingTrailersTooLarge for a request the server never announced).
// Between two correct peers nothing else resets a stream. A server
// application holds a stream reset under it until it releases it
// (EventStreamReset's contract).
func (m *propMachine) onReset(side coretest.Side, s *modelStream, e *core.Event) {
	end, peer := &s.end[side], &s.end[1-side]
	switch {
	case e.Err != nil:
		if m.running(side) {
			m.t.Fatalf("%v: stream %d reset with %v while the connection runs", side, s.id, e.Err)
		}
	case e.Remote && e.Token == "peer_reset":
		if !slices.Contains(peer.rstCodes, e.Code) && !m.waitingTrailersTooLarge(side, s, e) {
			m.t.Fatalf("%v: stream %d reset by the peer with %v, which it never sent (sent %v)", side, s.id, e.Code, peer.rstCodes)
		}
		if want := side == coretest.Client && e.Code == frame.ErrCodeRefusedStream; e.Retryable != want {
			m.t.Fatalf("%v: stream %d reset with %v: Retryable %v", side, s.id, e.Code, e.Retryable)
		}
	case e.Remote && e.Token == "goaway_refused":
		m.checkRefused(side, s, e)
	case !e.Remote && e.Token == "local_reset":
		if !end.resetPending || e.Code != end.resetCode || e.Retryable {
			m.t.Fatalf("%v: stream %d local reset %v (retryable %v), application reset it: %v with %v",
				side, s.id, e.Code, e.Retryable, end.resetPending, end.resetCode)
		}
	case m.trailersTooLarge(side, &s.flow[1-side], e):
		end.rstCodes = append(end.rstCodes, e.Code) // the peer gets this reset
	default:
		m.t.Fatalf("%v: stream %d reset between two correct peers: %v remote=%v token %q",
			side, s.id, e.Code, e.Remote, e.Token)
	}
	if side == coretest.Server && e.Err == nil && e.Token != "local_reset" {
		end.held = true
	}
	m.ended(side, s, core.EventStreamReset)
	if end.held && m.finishing {
		m.release(s)
	}
}

// trailersTooLarge recognises trailers larger than a
// SETTINGS_MAX_HEADER_LIST_SIZE that side lowered after the peer's
// SendTrailers accepted them: they wait for the content before them, the
// peer encodes them only then, and side resets the stream, as RFC 9113
// §10.5.1 allows ("advisory"; the sender "risks" it).
func (m *propMachine) trailersTooLarge(side coretest.Side, f *modelFlow, e *core.Event) bool {
	return !e.Remote && e.Code == frame.ErrCodeCancel && e.Token == "header_list_too_large" &&
		f.hasTrailers && f.recv == f.sent && propListSize(f.trailers) > uint64(m.conn[side].minList)
}

// waitingTrailersTooLarge recognises, on the client, the reset
// trailersTooLarge describes when the server application never knew the
// stream: the request waited behind Config.MaxConcurrentStreams held
// streams (core/doc.go) when its trailers arrived over the lowered
// SETTINGS_MAX_HEADER_LIST_SIZE. The server's Conn answers that stream
// error with RST_STREAM(CANCEL) as on any stream (RFC 9113 §5.4.2, §10.5.1),
// but reports nothing: the terminal event is owed only to streams the
// application knew. The stream is marked dropped, so that it can never be
// announced afterwards.
func (m *propMachine) waitingTrailersTooLarge(side coretest.Side, s *modelStream, e *core.Event) bool {
	f := &s.flow[coretest.Client]
	ok := side == coretest.Client && e.Code == frame.ErrCodeCancel && !s.end[coretest.Server].known &&
		f.hasTrailers && propListSize(f.trailers) > uint64(m.conn[coretest.Server].minList)
	s.dropped = s.dropped || ok
	return ok
}

// checkRefused checks a client stream refused by the server's GOAWAY: above
// the last stream ID received, and never seen by the server application.
func (m *propMachine) checkRefused(side coretest.Side, s *modelStream, e *core.Event) {
	c := &m.conn[side]
	switch {
	case side != coretest.Client:
		m.t.Fatalf("server: stream %d refused by GOAWAY", s.id)
	case !c.goAwayRecv || s.id <= c.lastRecv:
		m.t.Fatalf("client: stream %d refused, GOAWAY received %v with last stream %d", s.id, c.goAwayRecv, c.lastRecv)
	case s.end[coretest.Server].known:
		m.t.Fatalf("client: stream %d refused by GOAWAY after the server application got it", s.id)
	case e.Code != frame.ErrCodeRefusedStream || !e.Retryable:
		m.t.Fatalf("client: stream %d refused with %v, retryable %v", s.id, e.Code, e.Retryable)
	}
	s.refused = true
}

// ended records side's terminal event for s.
func (m *propMachine) ended(side coretest.Side, s *modelStream, kind core.EventKind) {
	end := &s.end[side]
	end.terminal, end.resetPending = kind, false
	s.flow[1-side].unconsumed = 0 // returned to the connection by the core
}
