package fuzz

import (
	"errors"

	"github.com/h2proto/h2/core"
)

// simSendsPerAct bounds the SendData calls an app makes on one stream per
// turn, so that streams interleave.
const simSendsPerAct = 4

// simMaxRetries bounds how often a client sends a request again after a
// Retryable reset.
const simMaxRetries = 2

// simClientApp is a client app: workloads waiting for a stream, and the
// connection it opens them on (it dials a new one when that one can take
// no more streams).
type simClientApp struct {
	w     *simWorld
	idx   int
	conn  *simConn   // current connection, nil before the first dial
	dials int        // connections opened
	queue []*simWork // workloads waiting for a stream
}

// simClientState is a client app's progress on one stream.
type simClientState struct {
	chunkEnd int64 // bidi, CONNECT: where the current round trip's chunk ends
}

// maintain dials a new connection when work waits and the current one can
// take no new streams (closed, or after a GOAWAY). Only the safety phase
// dials, at most plan.maxConns times per client.
func (c *simClientApp) maintain() bool {
	w := c.w
	if len(c.queue) == 0 || (c.conn != nil && c.conn.ends[simClient].usable()) {
		return false
	}
	if w.phase != simSafety || c.dials >= w.plan.maxConns {
		return false
	}
	c.conn = w.dial(c)
	c.dials++
	return true
}

// usable reports whether a client end may still open streams.
func (e *simEnd) usable() bool {
	return !e.closed && e.core.Phase() < core.PhaseGoAwaySent
}

// clientAct opens waiting workloads (safety phase only) and moves every
// running stream along.
func (e *simEnd) clientAct() bool {
	c, w := e.conn.client, e.w
	moved := false
	if e.conn == c.conn && w.phase == simSafety {
		for len(c.queue) > 0 && len(e.live) < w.plan.maxInflight && e.core.CanOpenStream() {
			k := c.queue[0]
			c.queue = c.queue[1:]
			e.open(k)
			moved = true
		}
	}
	for i := 0; i < len(e.live) && !w.failed(); i++ {
		if st := e.live[i]; !st.ends[simClient].done {
			moved = e.progress(st) || moved
		}
	}
	return moved
}

// open starts a workload on a new stream.
func (e *simEnd) open(k *simWork) {
	h := k.request(e.w.pat)
	id, err := e.core.OpenStream(h, core.StreamOptions{EndStream: k.kind == simGet, ManualFlowControl: k.manual})
	e.record(simEntry{op: "cmd", what: "open", stream: id, n: k.size, detail: k.kind.String()}, nil)
	if errors.Is(err, core.ErrHeaderListTooLarge) {
		return // the server's churned SETTINGS_MAX_HEADER_LIST_SIZE refuses it
	}
	if err != nil {
		e.fail("OpenStream after CanOpenStream: %v", err)
		return
	}
	st := &simStream{conn: e.conn, id: id, work: k, headers: h, early: !e.peerSettings}
	st.ends[simClient].known = true
	st.ends[simClient].ended = k.kind == simGet
	e.conn.streams[id] = st
	e.live = append(e.live, st)
	e.w.streams = append(e.w.streams, st)
	e.w.stats.streams++
	e.drain()
}

// progress sends the next part of a request body: POST as fast as the
// buffers allow; bidi and CONNECT one chunk per round trip, CONNECT only
// once the tunnel is open.
func (e *simEnd) progress(st *simStream) bool {
	me, k := &st.ends[simClient], st.work
	if me.ended || me.blocked {
		return false
	}
	switch k.kind {
	case simPost:
		return e.sendBody(st, k.size)
	case simBidi, simConnect:
		if (k.kind == simConnect && !me.gotHeaders) || st.ends[simClient].recv < me.sent {
			return false
		}
		if st.cs.chunkEnd == me.sent && me.sent < k.size {
			st.cs.chunkEnd = min(k.size, me.sent+1+int64(e.w.rng.IntN(k.chunkMax)))
		}
		return e.sendBody(st, st.cs.chunkEnd)
	}
	return false
}

// sendBody sends request content up to limit in random slices, then ends
// the request once the whole body is out. It stops at ErrSendBufferFull
// until EventWritable.
func (e *simEnd) sendBody(st *simStream, limit int64) bool {
	me, k, w := &st.ends[simClient], st.work, e.w
	moved := false
	for i := 0; i < simSendsPerAct && me.sent < limit; i++ {
		n := int(min(limit-me.sent, int64(1+w.rng.IntN(k.sliceMax))))
		end := me.sent+int64(n) == k.size && !k.reqTrailers && w.rng.IntN(4) != 0
		m, err := e.core.SendData(st.id, w.pat.at(k.seed, me.sent, n), end)
		e.record(simEntry{op: "cmd", what: "send_data", stream: st.id, n: int64(m), flags: simEndFlag(end)}, nil)
		me.sent += int64(m)
		moved = true
		if !e.sendOK(st, err) {
			return moved
		}
		me.ended = end
		if e.drain(); me.done || me.ended {
			return moved
		}
	}
	if me.sent == k.size && !me.blocked {
		e.finishBody(st, k.reqTrailers, simTrailers("req", k.seed, me.sent))
		moved = true
	}
	return moved
}

// sendOK handles a SendData error: ErrSendBufferFull blocks the stream
// until EventWritable; anything else on a stream the app believes running
// is a failure. It reports whether the app may go on sending.
func (e *simEnd) sendOK(st *simStream, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, core.ErrSendBufferFull):
		st.ends[e.side].blocked = true
	default:
		e.fail("SendData on running stream %d: %v", st.id, err)
	}
	e.drain()
	return false
}

// finishBody ends the side's content: with trailers, or an empty DATA
// frame carrying END_STREAM.
func (e *simEnd) finishBody(st *simStream, withTrailers bool, trailers []core.HeaderField) {
	me := &st.ends[e.side]
	if withTrailers {
		err := e.core.SendTrailers(st.id, trailers)
		e.record(simEntry{op: "cmd", what: "send_trailers", stream: st.id}, nil)
		if err != nil {
			e.fail("SendTrailers on running stream %d: %v", st.id, err)
			return
		}
		me.trailers = trailers
	} else {
		_, err := e.core.SendData(st.id, nil, true)
		e.record(simEntry{op: "cmd", what: "send_end", stream: st.id}, nil)
		if err != nil {
			e.fail("SendData(END_STREAM) on running stream %d: %v", st.id, err)
			return
		}
	}
	me.ended = true
	e.drain()
}

// clientData schedules the Consume of a manual-flow-control stream's data.
func (e *simEnd) clientData(st *simStream, n int) {
	if st.work.manual && n > 0 {
		e.scheduleConsume(st.id, n, st.work.consumeDelay)
	}
}

// clientTerminal sends a request again after a Retryable reset, during the
// safety phase, a bounded number of times.
func (e *simEnd) clientTerminal(st *simStream, ev *core.Event) {
	c, w := e.conn.client, e.w
	if ev == nil || !ev.Retryable || w.phase != simSafety || st.work.retries >= simMaxRetries {
		return
	}
	k := *st.work
	k.retries++
	c.queue = append(c.queue, &k)
	w.stats.retried++
}

func simEndFlag(end bool) uint8 {
	if end {
		return simFlagEnd
	}
	return 0
}
