package fuzz

import (
	"errors"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"github.com/h2proto/h2/transport/memory"
)

// The sim injects faults that legitimately end streams and connections.
// Every reset and every connection error must have a cause these functions
// can name from what the sim did; anything else is a failure, since both
// ends are well-behaved cores.

// simTimeoutGrace is how long after a disturbance (a stall, a timer jump,
// a congested slow link) a timeout is blamed on it: two keep-alive periods
// and some slack.
const simTimeoutGrace = 45 * time.Second

// excuseReset names the cause of a stream reset, or returns "".
func (e *simEnd) excuseReset(st *simStream, ev *core.Event) string {
	me, peer := &st.ends[e.side], &st.ends[1-e.side]
	switch {
	case !ev.Remote && ev.Token == "local_reset":
		if me.resetting {
			return "our reset"
		}
	case ev.Token == "connection_closed":
		return e.excuseLost(ev.Err)
	case ev.Remote && ev.Token == "peer_reset":
		switch {
		case ev.Code == frame.ErrCodeRefusedStream && ev.Retryable && !peer.known && st.early:
			// Opened on the assumed limit (Config.PeerMaxConcurrentStreams)
			// before the server's SETTINGS arrived. Later, the server
			// accepts up to the larger of its old and new limits until the
			// client acknowledges a change, so it never refuses a stream
			// the client was allowed to open.
			return "refused before the server's SETTINGS"
		case peer.appReset && peer.appResetCode == ev.Code:
			return "peer's reset"
		case peer.released && (ev.Code == frame.ErrCodeCancel || ev.Code == frame.ErrCodeNo):
			return "peer released"
		}
	case ev.Remote && ev.Token == "goaway_refused":
		if ev.Retryable {
			return "goaway"
		}
	}
	return ""
}

// excuseLost names why a connection ended under a running stream.
func (e *simEnd) excuseLost(err error) string {
	cn := e.conn
	switch {
	case cn.broken:
		return "broken"
	case cn.appClosed[simClient] || cn.appClosed[simServer]:
		return "app close"
	case errors.Is(err, core.ErrConnectionLost):
		// The peer closed first: only an error of its own excuses that.
		perr := cn.ends[1-e.side].core.Err()
		var ce *core.ConnError
		if perr == nil || (errors.As(perr, &ce) && ce.Token == "idle_timeout") {
			return ""
		}
		return cn.excuse(1-e.side, perr)
	case errors.Is(err, core.ErrClosed):
		return ""
	}
	return cn.excuse(e.side, err)
}

// excuse names why side's core ended the connection with err, or returns
// "" if nothing the sim did explains it.
func (cn *simConn) excuse(side simSide, err error) string {
	var ce *core.ConnError
	switch {
	case err == nil:
		return "clean"
	case errors.Is(err, memory.ErrBroken):
		if cn.broken {
			return "broken"
		}
	case errors.Is(err, core.ErrConnectionLost):
		return "transport ended"
	case errors.As(err, &ce):
		return cn.excuseConnError(side, ce)
	}
	return ""
}

func (cn *simConn) excuseConnError(side simSide, ce *core.ConnError) string {
	if ce.Remote {
		// The peer's GOAWAY carried an error: the peer must have one.
		var pe *core.ConnError
		if perr := cn.ends[1-side].core.Err(); errors.As(perr, &pe) && !pe.Remote && pe.Code == ce.Code {
			if why := cn.excuseConnError(1-side, pe); why != "" {
				return "peer " + why
			}
		}
		return ""
	}
	switch ce.Token {
	case "idle_timeout":
		return "idle"
	case "keepalive_timeout", "settings_ack_timeout", "preface_timeout", "header_block_timeout":
		if cn.disturbedSince(cn.w.now().Add(-simTimeoutGrace)) {
			return "timeout after a stall or a timer jump"
		}
	case "frame_on_closed_stream", "stream_id_not_increasing":
		// Frames that crossed our RST_STREAM are ignored only for
		// Timeouts.ResetGrace (RFC 9113 §5.1 allows the limit); a stall or
		// a timer jump can delay them past it. Once the stream is no longer
		// among the recently closed, HEADERS on it reads as an old stream
		// ID.
		if cn.disturbedSince(cn.w.now().Add(-simTimeoutGrace)) {
			return "frames on a reset stream delayed by a stall or a timer jump"
		}
	case "local_close":
		if cn.appClosed[side] {
			return "app close"
		}
	}
	return ""
}
