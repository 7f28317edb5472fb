package fuzz

import (
	"fmt"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// The checker of the event contract (fzTracker), shared by the connection
// fuzz targets.

// fzStreamEvents is what the application was told about one stream.
type fzStreamEvents struct {
	final    bool // request (server) or final response (client) reported
	ended    bool // the receive direction ended
	done     bool // terminal event reported
	released bool // the application let go of it: no more checks
}

// fzTracker checks the event contract of core/event.go for one Conn:
// stream events only for streams the application knows, in message order
// (1xx, response, data, trailers), nothing after END_STREAM or after the
// terminal event, exactly one terminal event per stream before
// EventClosed, EventClosed last and carrying Conn.Err, and EventAbuse only
// with an ENHANCE_YOUR_CALM connection error.
type fzTracker struct {
	role    core.Role
	streams map[uint32]*fzStreamEvents
	order   []uint32 // stream IDs in the order they became known
	closed  bool
}

func newFzTracker(role core.Role) *fzTracker {
	return &fzTracker{role: role, streams: make(map[uint32]*fzStreamEvents)}
}

// opened records a stream the application opened (client).
func (k *fzTracker) opened(id uint32) {
	k.streams[id] = &fzStreamEvents{}
	k.order = append(k.order, id)
}

// released records a stream the application released or reset itself,
// after which the core owes it nothing more.
func (k *fzTracker) released(id uint32) {
	if s := k.streams[id]; s != nil {
		s.released = true
	}
}

// live returns the known streams without a terminal event, oldest first.
func (k *fzTracker) live() []uint32 {
	var ids []uint32
	for _, id := range k.order {
		if s := k.streams[id]; !s.done && !s.released {
			ids = append(ids, id)
		}
	}
	return ids
}

func (k *fzTracker) check(c *core.Conn, e *core.Event) error {
	if k.closed {
		return fmt.Errorf("%v after EventClosed", e.Kind)
	}
	switch e.Kind {
	case core.EventRequest:
		if k.role != core.RoleServer || k.streams[e.StreamID] != nil {
			return fmt.Errorf("request on stream %d: not new, or not a server", e.StreamID)
		}
		k.streams[e.StreamID] = &fzStreamEvents{final: true, ended: e.EndStream}
		k.order = append(k.order, e.StreamID)
		return nil
	case core.EventClosed:
		return k.checkClosed(c, e)
	case core.EventAbuse:
		if ce, ok := c.Err().(*core.ConnError); !ok || ce.Code != frame.ErrCodeEnhanceYourCalm || ce.Remote {
			return fmt.Errorf("EventAbuse %v with Err %v", e.Abuse, c.Err())
		}
		return nil
	case core.EventInformational, core.EventResponse, core.EventData, core.EventTrailers,
		core.EventWritable, core.EventStreamReset, core.EventStreamClosed:
		s := k.streams[e.StreamID]
		switch {
		case s == nil:
			return fmt.Errorf("%v for unknown stream %d", e.Kind, e.StreamID)
		case s.released:
			return nil
		case s.done:
			return fmt.Errorf("%v on stream %d after its terminal event", e.Kind, e.StreamID)
		}
		return k.checkStream(s, e)
	}
	return nil
}

func (k *fzTracker) checkStream(s *fzStreamEvents, e *core.Event) error {
	bad := ""
	switch e.Kind {
	case core.EventInformational:
		if k.role != core.RoleClient || s.final {
			bad = "1xx after the final response"
		}
	case core.EventResponse:
		if k.role != core.RoleClient || s.final {
			bad = "second final response"
		}
		s.final, s.ended = true, e.EndStream
	case core.EventData:
		if !s.final || s.ended {
			bad = "data before the message head or after its end"
		}
		s.ended = e.EndStream
	case core.EventTrailers:
		if !s.final || s.ended || !e.EndStream {
			bad = "trailers out of place or without EndStream"
		}
		s.ended = true
	case core.EventStreamReset, core.EventStreamClosed:
		s.done = true
	}
	if bad != "" {
		return fmt.Errorf("stream %d: %s", e.StreamID, bad)
	}
	return nil
}

func (k *fzTracker) checkClosed(c *core.Conn, e *core.Event) error {
	k.closed = true
	if e.Err != c.Err() {
		return fmt.Errorf("EventClosed.Err %v, Conn.Err %v", e.Err, c.Err())
	}
	for _, id := range k.order {
		if s := k.streams[id]; !s.done && !s.released {
			return fmt.Errorf("stream %d got no terminal event before EventClosed", id)
		}
	}
	return nil
}

// fzLocalErr returns the connection error we detected ourselves, if any.
func fzLocalErr(c *core.Conn) *core.ConnError {
	if ce, ok := c.Err().(*core.ConnError); ok && !ce.Remote {
		return ce
	}
	return nil
}

// fzCheckClosedWire checks the end of a closed Conn's output: after a
// connection error we detected, the last frame is a GOAWAY carrying its
// code (RFC 9113 §5.4.1).
func fzCheckClosedWire(c *core.Conn, w *fzWire) error {
	if w.pending() != 0 {
		return fmt.Errorf("output ends inside a frame (%d bytes)", w.pending())
	}
	ce := fzLocalErr(c)
	if ce == nil {
		return nil
	}
	if w.last.Type != frame.TypeGoAway || w.last.ErrCode != ce.Code {
		return fmt.Errorf("closed by %v, but the last frame sent is %v", ce, w.last.String())
	}
	return nil
}
