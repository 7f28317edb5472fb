package nethttp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2proto/h2/adapters/nethttp"
)

// trCountingBody counts the reads of a request body.
type trCountingBody struct {
	r     io.Reader
	reads atomic.Int32
}

func (b *trCountingBody) Read(p []byte) (int, error) {
	b.reads.Add(1)
	return b.r.Read(p)
}

func (b *trCountingBody) Close() error { return nil }

// TestTransportExpectContinue: a request with "Expect: 100-continue" sends
// its body once the server's 100 arrives (RFC 9110 §10.1.1), not at all if
// a final response comes first, and after ExpectContinueTimeout from a
// server that sends no 100.
func TestTransportExpectContinue(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/reject" {
			w.WriteHeader(http.StatusExpectationFailed)
			return
		}
		_, _ = io.Copy(w, r.Body) // the first Read sends 100
	})
	s := trH2CServer(t, h)
	tr := &nethttp.Transport{AllowHTTP: true, ExpectContinueTimeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)

	do := func(t *testing.T, url string, body *trCountingBody, trace *httptrace.ClientTrace) (int, string) {
		t.Helper()
		ctx := testCtx(t)
		if trace != nil {
			ctx = httptrace.WithClientTrace(ctx, trace)
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", url, body)
		req.Header.Set("Expect", "100-continue")
		start := time.Now()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v: the body waited for the timeout", d)
		}
		return resp.StatusCode, string(b)
	}

	t.Run("100_then_body", func(t *testing.T) {
		var got100, wait100 atomic.Int32
		var infos []int
		trace := &httptrace.ClientTrace{
			Wait100Continue: func() { wait100.Add(1) },
			Got100Continue:  func() { got100.Add(1) },
			Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
				infos = append(infos, code)
				return nil
			},
		}
		body := &trCountingBody{r: strings.NewReader("payload")}
		status, got := do(t, s.url+"/echo", body, trace)
		if status != 200 || got != "payload" {
			t.Errorf("status %d, body %q", status, got)
		}
		if got100.Load() != 1 || wait100.Load() != 1 || len(infos) != 1 || infos[0] != 100 {
			t.Errorf("trace: Wait100Continue %d, Got100Continue %d, Got1xxResponse %v; want 1, 1, [100]", wait100.Load(), got100.Load(), infos)
		}
	})
	t.Run("final_response_first_body_not_sent", func(t *testing.T) {
		body := &trCountingBody{r: strings.NewReader("payload")}
		status, _ := do(t, s.url+"/reject", body, nil)
		if status != http.StatusExpectationFailed {
			t.Errorf("status %d, want 417", status)
		}
		if n := body.reads.Load(); n != 0 {
			t.Errorf("the body was read %d times; want not sent", n)
		}
	})
	t.Run("no_100_body_sent_after_timeout", func(t *testing.T) {
		raw := trStartRaw(t, func(int32) trAction { return trRespond }) // never sends 100
		tr := &nethttp.Transport{AllowHTTP: true, ExpectContinueTimeout: 20 * time.Millisecond}
		t.Cleanup(tr.CloseIdleConnections)
		req, _ := http.NewRequestWithContext(testCtx(t), "POST", raw.url()+"/", strings.NewReader("late body"))
		req.Header.Set("Expect", "100-continue")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "late body" {
			t.Errorf("body %q, %v", b, err)
		}
	})
}

// TestTransportEarlyHints: a 103 (Early Hints) before the final response is
// skipped by the response and reported to httptrace's Got1xxResponse.
func TestTransportEarlyHints(t *testing.T) {
	s := trH2CServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		_, _ = io.WriteString(w, "page")
	}))
	tr := &nethttp.Transport{AllowHTTP: true}
	t.Cleanup(tr.CloseIdleConnections)
	var codes []int
	var link string
	ctx := httptrace.WithClientTrace(testCtx(t), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			codes = append(codes, code)
			link = h.Get("Link")
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "page" {
		t.Errorf("response %d %q", resp.StatusCode, b)
	}
	if len(codes) != 1 || codes[0] != 103 || link != "</style.css>; rel=preload" {
		t.Errorf("Got1xxResponse: %v %q; want [103] with the Link", codes, link)
	}
}

// TestTransportTraceHooksOffConnGoroutine: the trace hooks of an
// expect-continue request (Got1xxResponse, Got100Continue) run on the
// request's goroutines, not on the connection's: a hook that blocks holds
// up its own request only, and another request on the same connection
// completes meanwhile. Got100Continue still runs before the body is sent.
func TestTransportTraceHooksOffConnGoroutine(t *testing.T) {
	s := trH2CServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body) // the first Read sends 100
	}))
	tr := &nethttp.Transport{AllowHTTP: true, ExpectContinueTimeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	get := func() error {
		req, _ := http.NewRequestWithContext(testCtx(t), "GET", s.url, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return err
	}
	if err := get(); err != nil { // the connection the others share
		t.Fatal(err)
	}

	inHook, release := make(chan struct{}), make(chan struct{})
	var sentBeforeHook atomic.Bool
	body := &trCountingBody{r: strings.NewReader("payload")}
	trace := &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			if code == http.StatusContinue {
				sentBeforeHook.Store(body.reads.Load() > 0)
				close(inHook)
				select {
				case <-release:
				case <-time.After(testTimeout): // only if the test failed
				}
			}
			return nil
		},
	}
	slow := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(testCtx(t), trace), "POST", s.url, body)
		req.Header.Set("Expect", "100-continue")
		resp, err := tr.RoundTrip(req)
		if err == nil {
			var b []byte
			b, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err == nil && string(b) != "payload" {
				err = errors.New("echo " + string(b))
			}
		}
		slow <- err
	}()
	testWait(t, inHook, "the hook to run")
	other := make(chan error, 1)
	go func() { other <- get() }()
	select {
	case err := <-other:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second): // only detects the stall
		t.Error("a request on the same connection stalled while a trace hook blocked")
	}
	close(release)
	if err := testWait(t, slow, "the expect-continue request"); err != nil {
		t.Error(err)
	}
	if sentBeforeHook.Load() {
		t.Error("the body was read before Got1xxResponse(100) returned")
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}
