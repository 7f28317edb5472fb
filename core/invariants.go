package core

import (
	"fmt"

	"github.com/h2proto/h2/core/frame"
)

// CheckInvariants recomputes every counter the connection maintains
// incrementally from the stream table and compares: active and held stream
// counts, buffered bytes, the scheduler queue, the pending queue, window
// bounds and stream-ID rules. It returns the first disagreement, or nil. It
// is meant for tests and fuzzing (run it after every step); it is O(streams).
func (c *Conn) CheckInvariants() error {
	var activeLocal, activePeer, held, pending, buffered, tracked int
	for s := c.all.head; s != nil; s = s.allNext {
		tracked++
		if c.streams[s.id] != s {
			return fmt.Errorf("stream %d: in the creation list but not the map", s.id)
		}
		if s.local == c.peerParity(s.id) {
			return fmt.Errorf("stream %d: local=%v has the wrong parity", s.id, s.local)
		}
		if s.local && s.id >= c.nextLocalID || !s.local && s.id > c.lastPeerID {
			return fmt.Errorf("stream %d: identifier not yet used", s.id)
		}
		switch s.state {
		case StateOpen, StateHalfClosedLocal, StateHalfClosedRemote:
			if s.local {
				activeLocal++
			} else {
				activePeer++
			}
		case StateClosed:
			if !s.held {
				return fmt.Errorf("stream %d: closed and not held, yet tracked", s.id)
			}
		default:
			return fmt.Errorf("stream %d: tracked in state %v", s.id, s.state)
		}
		if s.held {
			held++
		}
		if s.pending {
			pending++
			if s.surfaced || s.held {
				return fmt.Errorf("stream %d: pending yet surfaced or held", s.id)
			}
		}
		if s.off < 0 || s.off > len(s.buf) {
			return fmt.Errorf("stream %d: send offset %d outside buffer of %d", s.id, s.off, len(s.buf))
		}
		buffered += s.buffered()
		if s.inSched && !s.hasOutput() {
			return fmt.Errorf("stream %d: scheduled with nothing to send", s.id)
		}
		if s.hasOutput() && !canSend(s.state) {
			return fmt.Errorf("stream %d: output queued in state %v", s.id, s.state)
		}
		if s.out.avail > frame.MaxWindowSize {
			return fmt.Errorf("stream %d: send window %d above 2^31-1", s.id, s.out.avail)
		}
		if err := s.in.check(); err != nil {
			return fmt.Errorf("stream %d: receive window: %v", s.id, err)
		}
		if s.unconsumed < 0 || (!s.manual && s.unconsumed != 0) {
			return fmt.Errorf("stream %d: unconsumed %d (manual=%v)", s.id, s.unconsumed, s.manual)
		}
	}
	switch {
	case tracked != len(c.streams):
		return fmt.Errorf("map holds %d streams, creation list %d", len(c.streams), tracked)
	case activeLocal != c.activeLocal || activePeer != c.activePeer:
		return fmt.Errorf("active streams: counted local %d peer %d, recorded %d %d",
			activeLocal, activePeer, c.activeLocal, c.activePeer)
	case held != c.held:
		return fmt.Errorf("held streams: counted %d, recorded %d", held, c.held)
	case buffered != c.sendBuffered:
		return fmt.Errorf("buffered bytes: counted %d, recorded %d", buffered, c.sendBuffered)
	case c.sendBuffered > c.cfg.Limits.ConnSendBuffer:
		return fmt.Errorf("buffered bytes %d above Limits.ConnSendBuffer", c.sendBuffered)
	case c.connOut.avail > frame.MaxWindowSize:
		return fmt.Errorf("connection send window %d above 2^31-1", c.connOut.avail)
	case c.closed && len(c.streams) != 0:
		return fmt.Errorf("closed with %d streams tracked", len(c.streams))
	case c.hb.active && c.closing:
		return fmt.Errorf("header block open while closing")
	}
	if m := c.recomputeMemory(); m != c.mem {
		return fmt.Errorf("memory counters: recomputed %+v, recorded %+v", m, c.mem)
	}
	if err := c.connIn.check(); err != nil {
		return fmt.Errorf("connection receive window: %v", err)
	}
	livePending := 0
	for i := c.pending.head; i < len(c.pending.ids); i++ {
		if s := c.streams[c.pending.ids[i]]; s != nil && s.pending {
			livePending++
		}
	}
	if livePending != pending || c.pending.len() != pending {
		return fmt.Errorf("pending queue holds %d (%d live), streams pending %d", c.pending.len(), livePending, pending)
	}
	n := 0
	var prev *stream
	for s := c.sched.head; s != nil; s = s.next {
		if !s.inSched || s.prev != prev || c.streams[s.id] != s {
			return fmt.Errorf("scheduler queue broken at stream %d", s.id)
		}
		prev = s
		if n++; n > len(c.streams) {
			return fmt.Errorf("scheduler queue has a cycle")
		}
	}
	if n != c.sched.n || prev != c.sched.tail {
		return fmt.Errorf("scheduler queue: walked %d, recorded %d", n, c.sched.n)
	}
	return nil
}

// check verifies a receive window's bounds.
func (f *inflow) check() error {
	if f.unacked < 0 || f.avail+f.unacked > f.target || f.target > frame.MaxWindowSize {
		return fmt.Errorf("avail %d + unacked %d > target %d", f.avail, f.unacked, f.target)
	}
	return nil
}
