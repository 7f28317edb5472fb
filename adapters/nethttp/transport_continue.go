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
type trContinue struct {
	ch         chan bool // true: 100 came; false: a final response or the end came first
	handedBack chan struct{}
	trace      *httptrace.ClientTrace
	once       sync.Once
	seen       int // 1xx delivered to trace.Got1xxResponse
}

func (tc *trContinue) handle(s *h2.Stream, e h2.Event) {
	switch e.Kind {
	case core.EventGoAway:
		return
	case core.EventInformational:
		if tc.trace != nil && tc.trace.Got1xxResponse != nil {
			tc.seen++
			_ = tc.trace.Got1xxResponse(e.Status, textproto.MIMEHeader(trHeader(e.Headers)))
		}
		if e.Status != http.StatusContinue {
			return
		}
		if tc.trace != nil && tc.trace.Got100Continue != nil {
			tc.trace.Got100Continue()
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

// final reports the 1xx responses the handler did not see.
func (tc *trContinue) final(resp *h2.Response) {
	if tc.trace == nil || tc.trace.Got1xxResponse == nil {
		return
	}
	trReport1xx(tc.trace, resp.Informational[min(tc.seen, len(resp.Informational)):])
}

// trReport1xx passes 1xx responses to the trace's Got1xxResponse.
func trReport1xx(trace *httptrace.ClientTrace, infos []h2.Informational) {
	for _, inf := range infos {
		_ = trace.Got1xxResponse(inf.Status, textproto.MIMEHeader(trHeader(inf.Header)))
	}
}

// wait blocks the body until 100 arrives (true), a final response does
// (false), the timeout passes (true) or ctx ends (false).
func (tc *trContinue) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case ok := <-tc.ch:
		return ok
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
