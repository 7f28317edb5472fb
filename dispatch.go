package h2

import (
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// dispatch routes one core event to the stream or connection state it
// concerns, copying what it keeps (the event's slices are borrowed). c.mu is
// held; callbacks are only scheduled (enqueue), never called here.
func (c *Conn) dispatch(e *core.Event) {
	switch e.Kind {
	case core.EventConnected:
		if !c.connected {
			c.connected = true
			close(c.connectedCh)
		}
		c.signalOpen()
	case core.EventSettings:
		c.signalOpen()
	case core.EventRequest:
		if c.srv == nil {
			return
		}
		s := newStream(c, e.StreamID, true)
		s.manual = c.srv.ManualConsume
		s.reqVal.Set(cloneFields(e.Headers), e.EndStream) // the stream outlives the event's loan
		s.req = &s.reqVal
		s.eof = e.EndStream
		c.streams[e.StreamID] = s
		c.enqueue(delivery{s: s, start: true})
	case core.EventInformational:
		s := c.streams[e.StreamID]
		if s == nil {
			return
		}
		if s.interim++; s.interim > c.opts.maxInformational() && !s.refused {
			// Each 1xx is kept for Response: a server sending them
			// without end would grow our memory without bound. Events
			// already received for the stream are dropped too; its end
			// becomes this reset.
			s.refused = true
			_ = c.core.ResetStream(s.id, frame.ErrCodeEnhanceYourCalm)
		}
		if !s.refused {
			s.push(e)
		}
	case core.EventResponse, core.EventData, core.EventTrailers:
		if s := c.streams[e.StreamID]; s != nil && !s.refused {
			s.push(e)
		}
	case core.EventStreamReset, core.EventStreamClosed:
		s := c.streams[e.StreamID]
		if s == nil {
			return
		}
		delete(c.streams, e.StreamID)
		if s.refused {
			e = &core.Event{Kind: core.EventStreamReset, StreamID: s.id, Code: frame.ErrCodeEnhanceYourCalm, Token: "too_many_informational"}
		}
		s.end(e)
		if s.server && e.Kind == core.EventStreamReset && (c.srv.Inline || s.handlerDone) {
			// Reset by the peer (or by a stream error it provoked): the
			// core holds the stream until the application lets go, and
			// the application has already returned.
			_ = c.core.ReleaseStream(s.id)
		}
		c.signalOpen()
	case core.EventWritable:
		if s := c.streams[e.StreamID]; s != nil {
			signal(s.wsig)
		}
	case core.EventGoAway:
		g := *e
		g.Data = []byte(string(e.Data))
		c.goaway = &g
		// Each open stream hears of two GOAWAYs at most — the two phases
		// of a graceful shutdown, the second with a lower last stream ID —
		// so that a peer cannot grow every stream's queue with GOAWAY
		// after GOAWAY. Conn.GoAway has the latest; streams a GOAWAY
		// refuses get their own reset.
		for _, s := range c.streams {
			if s.goaways == 0 || (s.goaways == 1 && g.LastStreamID < s.goawayLast) {
				s.goaways++
				s.goawayLast = g.LastStreamID
				s.push(&g)
			}
		}
		c.signalOpen()
	case core.EventPingAck:
		if ch, ok := c.pings[e.PingData]; ok {
			ch <- e.RTT
			delete(c.pings, e.PingData)
		}
	}
}
