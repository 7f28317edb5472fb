package nethttp

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// trContinue watches a stream for "100 Continue" (RFC 9110 §10.1.1) through
// a stream handler, handing the stream back to the pull API at the first
// event that is not a 1xx other than 100.
//
// The handler runs on a connection goroutine, which must not block: it
// calls no trace hook itself. The 1xx it sees are queued (pending) and the
// hooks run from report, on the request's goroutines — the body's writer
// when 100 arrives (before the body is sent), RoundTrip's otherwise.
type trContinue struct {
	ch         chan bool // true: 100 came; false: a final response or the end came first
	handedBack chan struct{}
	notify     chan struct{} // capacity 1: a 1xx was queued for report
	trace      *httptrace.ClientTrace
	once       sync.Once

	mu      sync.Mutex
	pending []h2.Informational // received by the handler, not reported yet
	seen    int                // 1xx the handler received: resp.Informational[:seen]

	reportMu sync.Mutex // hooks run one at a time, in arrival order
}

func newTrContinue(trace *httptrace.ClientTrace) *trContinue {
	return &trContinue{ch: make(chan bool, 1), handedBack: make(chan struct{}), notify: make(chan struct{}, 1), trace: trace}
}

func (tc *trContinue) handle(s *h2.Stream, e h2.Event) {
	switch e.Kind {
	case core.EventGoAway:
		return
	case core.EventInformational:
		tc.mu.Lock()
		tc.seen++
		if tc.trace != nil {
			tc.pending = append(tc.pending, h2.Informational{Status: e.Status, Header: e.Headers})
		}
		tc.mu.Unlock()
		select {
		case tc.notify <- struct{}{}:
		default:
		}
		if e.Status != http.StatusContinue {
			return
		}
		tc.hand(s, true)
		return
	}
	tc.hand(s, false)
}

func (tc *trContinue) hand(s *h2.Stream, got100 bool) {
	tc.once.Do(func() {
		tc.ch <- got100
		s.SetHandler(nil)
		close(tc.handedBack)
	})
}

// report calls the trace hooks for the 1xx queued by the handler:
// Got1xxResponse for each, Got100Continue for a 100.
func (tc *trContinue) report() {
	if tc.trace == nil {
		return
	}
	tc.reportMu.Lock()
	defer tc.reportMu.Unlock()
	tc.mu.Lock()
	infos := tc.pending
	tc.pending = nil
	tc.mu.Unlock()
	for _, inf := range infos {
		if tc.trace.Got1xxResponse != nil {
			_ = tc.trace.Got1xxResponse(inf.Status, textproto.MIMEHeader(headerFromFields(inf.Header, false)))
		}
		if inf.Status == http.StatusContinue && tc.trace.Got100Continue != nil {
			tc.trace.Got100Continue()
		}
	}
}

// waitHandedBack waits, on RoundTrip's goroutine, for the handler to hand
// the stream back, reporting 1xx as they come. It reports false if ctx
// ends first.
func (tc *trContinue) waitHandedBack(ctx context.Context) bool {
	for {
		select {
		case <-tc.handedBack:
			tc.report()
			return true
		case <-tc.notify:
			tc.report()
		case <-ctx.Done():
			return false
		}
	}
}

// final reports the 1xx responses the handler did not see.
func (tc *trContinue) final(resp *h2.Response) {
	if tc.trace == nil {
		return
	}
	tc.report()
	if tc.trace.Got1xxResponse == nil {
		return
	}
	tc.reportMu.Lock()
	defer tc.reportMu.Unlock()
	tc.mu.Lock()
	seen := tc.seen
	tc.mu.Unlock()
	trReport1xx(tc.trace, resp.Informational[min(seen, len(resp.Informational)):])
}

// trReport1xx passes 1xx responses to the trace's Got1xxResponse.
func trReport1xx(trace *httptrace.ClientTrace, infos []h2.Informational) {
	for _, inf := range infos {
		_ = trace.Got1xxResponse(inf.Status, textproto.MIMEHeader(headerFromFields(inf.Header, false)))
	}
}

// wait blocks the body until 100 arrives (true, after its hooks ran), a
// final response does (false), the timeout passes (true) or ctx ends
// (false).
func (tc *trContinue) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case ok := <-tc.ch:
		if ok {
			tc.report() // Got100Continue before the body goes
		}
		return ok
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
