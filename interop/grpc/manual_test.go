package grpcinterop

import (
	"context"
	"fmt"
	"sync"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// Manual flow control: an h2proto endpoint that receives with
// ManualConsume and a stream handler sees every DATA frame as it arrives,
// so it knows exactly how many bytes the peer has put in flight beyond
// what was consumed. The consumer returns credit only when the whole
// advertised window is used: the peer must then stop, and must resume
// once Consume sends WINDOW_UPDATE.

// inflightResult is what a meter measured over one stream.
type inflightResult struct {
	received    int // DATA payload bytes
	maxInflight int // largest received-consumed seen at any event
	stalls      int // times received-consumed reached exactly the window
	trailers    []h2.HeaderField
	err         error // a reset, or the wait's end
}

// meter counts a stream's received content from its event handler.
type meter struct {
	mu       sync.Mutex
	res      inflightResult
	consumed int
	end      bool
	wake     chan struct{}
}

func newMeter() *meter { return &meter{wake: make(chan struct{}, 1)} }

// onEvent runs on the connection's goroutine: it only counts.
func (m *meter) onEvent(s *h2.Stream, e h2.Event) {
	m.mu.Lock()
	switch e.Kind {
	case core.EventData:
		m.res.received += len(e.Data)
		m.end = m.end || e.EndStream
	case core.EventTrailers:
		m.res.trailers = e.Headers
		m.end = true
	case core.EventStreamClosed:
		m.end = true
	case core.EventStreamReset:
		m.res.err = e.StreamErr()
		if e.Err != nil {
			m.res.err = e.Err
		}
		m.end = true
	}
	m.res.maxInflight = max(m.res.maxInflight, m.res.received-m.consumed)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run consumes, a window at a time, until the stream's content ends.
func (m *meter) run(ctx context.Context, s *h2.Stream, window int) inflightResult {
	for {
		select {
		case <-m.wake:
		case <-ctx.Done():
			m.mu.Lock()
			defer m.mu.Unlock()
			m.res.err = fmt.Errorf("stalled at %d bytes received, %d consumed: %w", m.res.received, m.consumed, ctx.Err())
			return m.res
		}
		m.mu.Lock()
		inflight := m.res.received - m.consumed
		if inflight >= window || (m.end && inflight > 0) {
			if inflight == window {
				m.res.stalls++
			}
			m.consumed += inflight
			if err := s.Consume(inflight); err != nil && m.res.err == nil {
				m.res.err = err
			}
		}
		if m.end && m.consumed == m.res.received {
			defer m.mu.Unlock()
			return m.res
		}
		m.mu.Unlock()
	}
}

func checkInflight(t *testing.T, r inflightResult, window, want int) {
	t.Helper()
	t.Logf("received %d bytes, max in flight %d (window %d), %d stalls at a full window", r.received, r.maxInflight, window, r.stalls)
	if r.err != nil {
		t.Fatalf("stream: %v", r.err)
	}
	if r.maxInflight > window {
		t.Errorf("peer had %d unconsumed bytes in flight, over the %d-byte window", r.maxInflight, window)
	}
	if r.stalls == 0 {
		t.Errorf("the window never filled: flow control was not what limited the peer")
	}
	if r.received != want {
		t.Errorf("received %d bytes, want %d: streaming did not resume after Consume", r.received, want)
	}
}

// manualServerConfig makes an h2proto server advertise a stream window of
// window bytes and leave crediting to Stream.Consume.
func manualServerConfig(window int) func(*h2.Server) {
	return func(srv *h2.Server) {
		srv.ManualConsume = true
		srv.Config.InitialWindowSize = uint32(window)
	}
}

// manualSink is a gRPC client-streaming handler that meters the request
// body (see meter), reports it on res, and answers one message: the byte
// count, as decimal text, with status OK.
func manualSink(window int, res chan<- inflightResult) h2.Handler {
	return h2.HandlerFunc(func(s *h2.Stream) {
		ctx, cancel := context.WithTimeout(s.Context(), testTimeout)
		defer cancel()
		m := newMeter()
		s.SetHandler(m.onEvent)
		r := m.run(ctx, s, window)
		res <- r
		if r.err != nil {
			return
		}
		if s.WriteHeaders(200, []h2.HeaderField{{Name: "content-type", Value: "application/grpc"}}) != nil {
			return
		}
		if _, err := s.Write(AppendMessage(nil, fmt.Append(nil, r.received))); err != nil {
			return
		}
		_ = s.WriteTrailers([]h2.HeaderField{{Name: "grpc-status", Value: "0"}})
	})
}
