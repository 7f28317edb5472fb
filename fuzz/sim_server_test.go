package fuzz

import (
	"errors"
	"strconv"
	"time"

	"github.com/h2proto/h2/core"
)

// simServeMode is how the server answers a request, decided from its
// headers alone, as a real server would.
type simServeMode uint8

const (
	simServeEcho   simServeMode = iota // 200 at once, then each chunk echoed as it arrives
	simServeBuffer                     // the whole body collected, then echoed (Respond when it fits)
	simServeGen                        // a generated body of x-sim-size bytes
	simServeTunnel                     // CONNECT: 200, then echo as for simServeEcho
)

var simServeModeNames = [...]string{"echo", "buffer", "gen", "tunnel"}

// simServerState is the server app's progress on one stream.
type simServerState struct {
	mode     simServeMode
	seed     uint64 // gen: the response pattern
	size     int64  // gen: the response size
	trailers bool   // send response trailers
	info     bool   // send a 103 first
	cl       bool   // gen: declare content-length
	startAt  time.Time
	started  bool   // the final response headers are queued
	echo     []byte // received, not yet echoed
}

// serverRequest reads what to do from a new request's headers.
func (e *simEnd) serverRequest(st *simStream) {
	ss, h := &st.ss, st.headers
	switch {
	case simHeader(h, ":method") == "CONNECT":
		ss.mode = simServeTunnel
	case simHeader(h, ":path") == "/gen":
		ss.mode = simServeGen
		seed, _ := strconv.ParseUint(simHeader(h, "x-sim-seed"), 10, 64)
		ss.seed = simRespSeed(seed)
		ss.size, _ = strconv.ParseInt(simHeader(h, "x-sim-size"), 10, 64)
		ss.cl = simHeader(h, "x-sim-cl") == "1"
	case simHeader(h, "x-sim-mode") == "buffer":
		ss.mode = simServeBuffer
	}
	ss.trailers = simHeader(h, "x-sim-trailers") == "1" && ss.mode != simServeTunnel
	ss.info = simHeader(h, "x-sim-info") == "1"
	ss.startAt = e.w.now()
	if d, _ := strconv.ParseInt(simHeader(h, "x-sim-delay"), 10, 64); d > 0 {
		ss.startAt = ss.startAt.Add(time.Duration(d))
		e.w.wakeAt(time.Duration(d))
	}
}

// serverAct answers requests and releases the streams due for it.
func (e *simEnd) serverAct() bool {
	moved := e.runReleases()
	for i := 0; i < len(e.live) && !e.w.failed(); i++ {
		if st := e.live[i]; !st.ends[simServer].done {
			moved = e.serve(st) || moved
		}
	}
	return moved
}

// serve moves one response along: headers once the request allows, then
// the body in slices, then its end.
func (e *simEnd) serve(st *simStream) bool {
	ss, me := &st.ss, &st.ends[simServer]
	switch {
	case !ss.started:
		if e.w.now().Before(ss.startAt) || (ss.mode == simServeBuffer && !me.recvEnd) {
			return false
		}
		e.startResponse(st)
		return true
	case me.ended || me.blocked:
		return false
	}
	return e.sendResponseBody(st)
}

// startResponse sends a 103 when asked, then the final response's headers;
// a buffered echo without trailers may go out whole with Respond.
func (e *simEnd) startResponse(st *simStream) {
	ss, me, w := &st.ss, &st.ends[simServer], e.w
	if ss.info && me.infos == 0 {
		h := []core.HeaderField{{Name: ":status", Value: "103"}, {Name: "link", Value: "</sim.css>; rel=preload"}}
		err := e.core.SendHeaders(st.id, h, false)
		e.record(simEntry{op: "cmd", what: "informational", stream: st.id}, nil)
		if err != nil {
			e.fail("SendHeaders(103) on running stream %d: %v", st.id, err)
			return
		}
		me.infos++
	}
	fields := e.responseFields(st)
	if ss.mode == simServeBuffer && !ss.trailers && w.rng.IntN(2) == 0 && e.respond(st, fields) {
		return
	}
	end := ss.mode == simServeGen && ss.size == 0 && !ss.trailers
	h := append([]core.HeaderField{{Name: ":status", Value: "200"}}, fields...)
	err := e.core.SendHeaders(st.id, h, end)
	e.record(simEntry{op: "cmd", what: "respond_headers", stream: st.id, flags: simEndFlag(end)}, nil)
	if err != nil {
		e.fail("SendHeaders on running stream %d: %v", st.id, err)
		return
	}
	ss.started, me.status, me.fields, me.ended = true, 200, fields, end
	e.drain()
}

// responseFields builds the final response's regular fields: the mode, a
// content-length for a generated body when asked, and a padding field as
// long as the request's, when the client's SETTINGS_MAX_HEADER_LIST_SIZE
// leaves room (a long field block needs CONTINUATION frames).
func (e *simEnd) responseFields(st *simStream) []core.HeaderField {
	ss := &st.ss
	fields := []core.HeaderField{{Name: "x-sim-mode", Value: simServeModeNames[ss.mode]}}
	if ss.mode == simServeGen && ss.cl {
		fields = append(fields, core.HeaderField{Name: "content-length", Value: strconv.FormatInt(ss.size, 10)})
	}
	if n := len(simHeader(st.headers, "x-sim-pad")); n > 0 && uint64(n)+512 < uint64(e.core.PeerSettings().MaxHeaderListSize) {
		fields = append(fields, core.HeaderField{Name: "x-sim-pad", Value: e.w.pat.pad(uint64(st.id), n)})
	}
	return fields
}

// respond sends a buffered echo with Respond, reporting false (nothing
// sent) when it does not fit the send buffers.
func (e *simEnd) respond(st *simStream, fields []core.HeaderField) bool {
	ss, me := &st.ss, &st.ends[simServer]
	err := e.core.Respond(st.id, 200, fields, ss.echo)
	e.record(simEntry{op: "cmd", what: "respond", stream: st.id, n: int64(len(ss.echo))}, nil)
	switch {
	case errors.Is(err, core.ErrSendBufferFull):
		return false
	case err != nil:
		e.fail("Respond on running stream %d: %v", st.id, err)
		return true
	}
	ss.started, me.status, me.fields, me.responded, me.ended = true, 200, fields, true, true
	me.sent = int64(len(ss.echo))
	ss.echo = nil
	e.drain()
	return true
}

// sendResponseBody sends generated or echoed content in random slices and
// ends the response once there is nothing more to send.
func (e *simEnd) sendResponseBody(st *simStream) bool {
	ss, me, w := &st.ss, &st.ends[simServer], e.w
	complete := ss.mode == simServeGen || me.recvEnd // no more content will come
	moved := false
	for i := 0; i < simSendsPerAct; i++ {
		data := ss.echo
		if ss.mode == simServeGen {
			data = w.pat.at(ss.seed, me.sent, int(min(ss.size-me.sent, simPatternLen)))
		}
		if len(data) == 0 {
			break
		}
		n := min(len(data), 1+w.rng.IntN(max(w.plan.serverSlice, len(data)/8)))
		end := complete && n == len(data) && !ss.trailers && w.rng.IntN(4) != 0
		m, err := e.core.SendData(st.id, data[:n], end)
		e.record(simEntry{op: "cmd", what: "send_data", stream: st.id, n: int64(m), flags: simEndFlag(end)}, nil)
		me.sent += int64(m)
		if ss.mode != simServeGen {
			ss.echo = ss.echo[m:]
		}
		moved = true
		if !e.sendOK(st, err) {
			return moved
		}
		me.ended = end
		if e.drain(); me.done || me.ended {
			return moved
		}
	}
	left := len(ss.echo) > 0 || (ss.mode == simServeGen && me.sent < ss.size)
	if complete && !left && !me.blocked {
		e.finishBody(st, ss.trailers, simTrailers("resp", ss.seed, me.sent))
		moved = true
	}
	return moved
}

// serverData collects content to echo and schedules its Consume when the
// connection uses manual flow control.
func (e *simEnd) serverData(st *simStream, data []byte) {
	if st.ss.mode != simServeGen {
		st.ss.echo = append(st.ss.echo, data...)
	}
	if e.cfg.ManualFlowControl && len(data) > 0 {
		e.scheduleConsume(st.id, len(data), e.consumeDelay)
	}
}

// serverTerminal schedules the ReleaseStream a reset stream needs: the
// server app holds a stream reset by the peer (or by a stream error the
// peer caused) until it releases it (core/event.go).
func (e *simEnd) serverTerminal(st *simStream, ev *core.Event) {
	if ev == nil || ev.Err != nil || (ev.Token == "local_reset" && !ev.Remote) {
		return
	}
	e.releases.push(e.w.now().Add(e.releaseDelay), st.id)
	e.w.wakeAt(e.releaseDelay)
}

// runReleases makes the ReleaseStream calls that are due.
func (e *simEnd) runReleases() bool {
	moved := false
	for {
		id, ok := e.releases.pop(e.w.now())
		if !ok {
			return moved
		}
		err := e.core.ReleaseStream(id)
		e.record(simEntry{op: "cmd", what: "release", stream: id}, nil)
		if err != nil {
			e.fail("ReleaseStream(%d) after its reset: %v", id, err)
		}
		e.drain()
		moved = true
	}
}
