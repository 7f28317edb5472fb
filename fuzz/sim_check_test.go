package fuzz

import (
	"bytes"
	"fmt"

	"github.com/h2proto/h2/core"
)

// onEvent traces, checks and dispatches one event. The checks hold every
// core to the event contract (core/event.go) and every byte received to
// what the peer's app sent.
func (e *simEnd) onEvent(ev *core.Event) {
	e.recordEvent(ev)
	if e.closed {
		e.fail("%v after EventClosed", ev.Kind)
		return
	}
	switch ev.Kind {
	case core.EventConnected:
		if e.connected {
			e.fail("second EventConnected")
		}
		e.connected = true
	case core.EventSettings:
		e.peerSettings = true
	case core.EventSettingsAck:
	case core.EventPingAck:
		e.onPingAck(ev)
	case core.EventGoAway:
		if e.goAwaySeen && ev.LastStreamID > e.goAwayLast {
			e.fail("GOAWAY last stream %d above the earlier %d", ev.LastStreamID, e.goAwayLast)
		}
		e.goAwaySeen, e.goAwayLast = true, ev.LastStreamID
	case core.EventAbuse:
		if ev.Abuse != core.AbuseHeaderBlockTimeout || !e.conn.disturbedSince(e.w.now().Add(-simTimeoutGrace)) {
			e.fail("abuse defence %v fired between two well-behaved peers", ev.Abuse)
		}
	case core.EventClosed:
		e.onClosed(ev)
	case core.EventRequest:
		e.onRequest(ev)
	default:
		e.onStreamEvent(ev)
	}
}

// recordEvent adds an event's key fields to the trace.
func (e *simEnd) recordEvent(ev *core.Event) {
	en := simEntry{op: "event", what: ev.Kind.String(), stream: ev.StreamID, code: uint32(ev.Code), detail: ev.Token}
	switch ev.Kind {
	case core.EventData:
		en.n = int64(len(ev.Data))
	case core.EventRequest, core.EventResponse, core.EventInformational, core.EventTrailers:
		en.n, en.code = int64(len(ev.Headers)), uint32(ev.Status)
	case core.EventGoAway:
		en.n = int64(ev.LastStreamID)
	case core.EventAbuse:
		en.detail = ev.Abuse.String()
	}
	if ev.Err != nil {
		en.detail += ": " + ev.Err.Error()
	}
	for _, f := range []struct {
		on  bool
		bit uint8
	}{{ev.EndStream, simFlagEnd}, {ev.Remote, simFlagRemote}, {ev.Retryable, simFlagRetryable}} {
		if f.on {
			en.flags |= f.bit
		}
	}
	e.record(en, nil)
}

func (e *simEnd) onPingAck(ev *core.Event) {
	for i, p := range e.pings {
		if p == ev.PingData {
			e.pings = append(e.pings[:i], e.pings[i+1:]...)
			return
		}
	}
	e.fail("PING ACK %x for a PING the app did not send", ev.PingData)
}

// onClosed checks the end of a connection: every stream the app knows got
// its terminal event first, and the reason is one a fault explains.
func (e *simEnd) onClosed(ev *core.Event) {
	e.closed = true
	if ev.Err != e.core.Err() {
		e.fail("EventClosed.Err %v differs from Err() %v", ev.Err, e.core.Err())
	}
	for _, st := range e.live {
		if me := &st.ends[e.side]; !me.done {
			e.fail("connection closed without a terminal event for stream %d", st.id)
		}
	}
	why := e.conn.excuse(e.side, ev.Err)
	if why == "" {
		e.fail("connection closed with an error no fault explains: %v", ev.Err)
	}
	e.w.stats.excuses["conn: "+why]++
}

// onRequest checks a new server stream against what the client opened.
func (e *simEnd) onRequest(ev *core.Event) {
	st := e.conn.streams[ev.StreamID]
	switch {
	case e.side != simServer:
		e.fail("EventRequest on a client")
	case st == nil:
		e.fail("request on stream %d, which the client never opened", ev.StreamID)
	case st.ends[simServer].known:
		e.fail("second EventRequest for stream %d", ev.StreamID)
	case st.retryable:
		e.fail("request on stream %d, which the client was told to retry", ev.StreamID)
	case !simFieldsEqual(ev.Headers, st.headers):
		e.fail("request fields of stream %d: got %v, sent %v", ev.StreamID, ev.Headers, st.headers)
	}
	if e.w.failed() {
		return
	}
	me, peer := &st.ends[simServer], &st.ends[simClient]
	me.known, me.gotHeaders = true, true
	if ev.EndStream {
		me.recvEnd = true
		if !peer.ended || peer.sent != 0 || peer.trailers != nil {
			e.fail("request of stream %d reported without content, but the client sent %d bytes (ended=%v)", st.id, peer.sent, peer.ended)
		}
	}
	e.live = append(e.live, st)
	e.serverRequest(st)
}

// onStreamEvent checks and applies an event of a stream the app runs.
func (e *simEnd) onStreamEvent(ev *core.Event) {
	st := e.conn.streams[ev.StreamID]
	if st == nil || !st.ends[e.side].known {
		e.fail("%v on stream %d, which the app does not know", ev.Kind, ev.StreamID)
		return
	}
	if me := &st.ends[e.side]; me.done {
		e.fail("%v on stream %d after its end (%s)", ev.Kind, ev.StreamID, me.outcome)
		return
	}
	switch ev.Kind {
	case core.EventInformational, core.EventResponse:
		e.onResponse(st, ev)
	case core.EventData:
		e.onData(st, ev)
	case core.EventTrailers:
		e.onTrailers(st, ev)
	case core.EventWritable:
		if me := &st.ends[e.side]; !me.blocked {
			e.fail("EventWritable on stream %d, which SendData did not block", st.id)
		}
		st.ends[e.side].blocked = false
	case core.EventStreamClosed:
		e.onStreamClosed(st)
	case core.EventStreamReset:
		e.onStreamReset(st, ev)
	default:
		e.fail("unexpected %v on stream %d", ev.Kind, st.id)
	}
}

// onResponse checks a response against what the server's app sent.
func (e *simEnd) onResponse(st *simStream, ev *core.Event) {
	me, peer := &st.ends[simClient], &st.ends[simServer]
	if e.side != simClient || me.gotHeaders {
		e.fail("%v on stream %d: not a client waiting for a response", ev.Kind, st.id)
		return
	}
	if ev.Kind == core.EventInformational {
		me.infos++
		if ev.Status != 103 || me.infos > peer.infos {
			e.fail("informational %d #%d on stream %d; the server sent %d", ev.Status, me.infos, st.id, peer.infos)
		}
		return
	}
	want := peer.fields
	if peer.responded {
		want = append(append([]core.HeaderField(nil), want...), core.HeaderField{Name: "content-length", Value: fmt.Sprint(peer.sent)})
	}
	got := ev.Headers
	if len(got) > 0 && got[0].Name == ":status" {
		got = got[1:]
	}
	switch {
	case ev.Status != peer.status:
		e.fail("response status %d on stream %d; the server sent %d", ev.Status, st.id, peer.status)
	case !simFieldsEqual(got, want):
		e.fail("response fields of stream %d: got %v, want %v", st.id, got, want)
	case me.infos != peer.infos:
		e.fail("final response on stream %d after %d informational of %d", st.id, me.infos, peer.infos)
	}
	me.gotHeaders = true
	if ev.EndStream {
		e.onEnd(st, false)
	}
}

// onData checks content: it must continue what the peer's app sent.
func (e *simEnd) onData(st *simStream, ev *core.Event) {
	me, peer := &st.ends[e.side], &st.ends[1-e.side]
	if !me.gotHeaders || me.recvEnd {
		e.fail("DATA on stream %d before its headers or after its end", st.id)
		return
	}
	seed := st.work.seed
	if e.side == simClient {
		seed = st.work.bodySeed()
	}
	n := int64(len(ev.Data))
	if me.recv+n > peer.sent {
		e.fail("stream %d: received %d bytes, the peer sent only %d", st.id, me.recv+n, peer.sent)
		return
	}
	if want := e.w.pat.at(seed, me.recv, len(ev.Data)); !bytes.Equal(ev.Data, want) {
		i := 0
		for i < len(want) && want[i] == ev.Data[i] {
			i++
		}
		e.fail("stream %d: content differs at offset %d", st.id, me.recv+int64(i))
		return
	}
	me.recv += n
	e.w.stats.bytes += n
	e.appData(st, ev.Data)
	if ev.EndStream {
		e.onEnd(st, false)
	}
}

func (e *simEnd) onTrailers(st *simStream, ev *core.Event) {
	me, peer := &st.ends[e.side], &st.ends[1-e.side]
	switch {
	case !me.gotHeaders || me.recvEnd:
		e.fail("trailers on stream %d before its headers or after its end", st.id)
	case !simFieldsEqual(ev.Headers, peer.trailers):
		e.fail("trailers of stream %d: got %v, sent %v", st.id, ev.Headers, peer.trailers)
	}
	e.onEnd(st, true)
}

// onEnd applies a received END_STREAM: everything the peer sent arrived.
func (e *simEnd) onEnd(st *simStream, trailers bool) {
	me, peer := &st.ends[e.side], &st.ends[1-e.side]
	me.recvEnd, me.gotTrailers = true, trailers
	switch {
	case !peer.ended:
		e.fail("END_STREAM on stream %d, which the peer's app did not end", st.id)
	case me.recv != peer.sent:
		e.fail("stream %d ended after %d bytes; the peer sent %d", st.id, me.recv, peer.sent)
	case trailers != (peer.trailers != nil):
		e.fail("stream %d ended with trailers=%v; the peer sent trailers=%v", st.id, trailers, peer.trailers != nil)
	}
}

func (e *simEnd) onStreamClosed(st *simStream) {
	me := &st.ends[e.side]
	me.done, me.outcome = true, "closed"
	e.w.stats.closed++
	if !me.ended || !me.recvEnd {
		e.fail("stream %d closed normally, yet sent end=%v received end=%v", st.id, me.ended, me.recvEnd)
	}
	e.appTerminal(st, nil)
}

// onStreamReset checks that a reset has a cause the sim can name.
func (e *simEnd) onStreamReset(st *simStream, ev *core.Event) {
	me := &st.ends[e.side]
	me.done = true
	me.outcome = fmt.Sprintf("reset %v (%s) remote=%v retryable=%v", ev.Code, ev.Token, ev.Remote, ev.Retryable)
	e.w.stats.reset++
	why := e.excuseReset(st, ev)
	if why == "" {
		e.fail("stream %d: %s, err=%v, and no fault explains it", st.id, me.outcome, ev.Err)
	}
	e.w.stats.excuses["stream: "+why]++
	if ev.Retryable {
		st.retryable = true
		if e.side != simClient || st.ends[simServer].known {
			e.fail("stream %d reset as retryable, but the server's app saw it", st.id)
		}
	}
	e.appTerminal(st, ev)
}

// checkWorld runs the checks that look at the whole world after a step.
func (w *simWorld) checkWorld() {
	if w.extraCheck != nil {
		if err := w.extraCheck(w); err != nil {
			w.fail(-1, simClient, "%v", err)
		}
	}
}

// reportUnfinished fails with every stream the liveness phase left
// running.
func (w *simWorld) reportUnfinished() {
	var left []*simStream
	for _, st := range w.streams {
		if !st.finished() {
			left = append(left, st)
		}
	}
	w.fail(-1, simClient, "liveness: %d streams unfinished (bounds %d iterations, %v)",
		len(left), simLivenessIters, simLivenessTime)
	for _, st := range left[:min(len(left), simMaxFailures-1)] {
		w.fail(st.conn.idx, simClient, "liveness: stream did not finish: %s", st.describe())
	}
}
