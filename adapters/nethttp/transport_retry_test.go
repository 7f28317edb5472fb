package nethttp_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/h2proto/h2/adapters/nethttp"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// A trAction is what the scripted server does with a request.
type trAction int

const (
	trRespond     trAction = iota // 200, echoing the request body
	trRefuse                      // RST_STREAM(REFUSED_STREAM)
	trGoAway                      // GOAWAY with a last stream ID below the request
	trInternal                    // RST_STREAM(INTERNAL_ERROR): may have been processed
	trHeadersOnly                 // 200 in a HEADERS frame that ends the stream, no content-length
)

// trRawServer is a scripted HTTP/2 server (h2c): for the n'th request it
// receives (from 1, over all connections) it does policy(n).
type trRawServer struct {
	t      *testing.T
	ln     net.Listener
	policy func(n int32) trAction
	hits   atomic.Int32 // HEADERS received
	conns  atomic.Int32
	wg     sync.WaitGroup
}

func trStartRaw(t *testing.T, policy func(n int32) trAction) *trRawServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &trRawServer{t: t, ln: ln, policy: policy}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { _ = ln.Close(); s.wg.Wait() })
	return s
}

func (s *trRawServer) url() string { return "http://" + s.ln.Addr().String() }

func (s *trRawServer) serve(c net.Conn) {
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // bound the connection by the test's life
		select {
		case <-stop:
		case <-s.t.Context().Done():
			_ = c.Close()
		}
	}()
	pre := make([]byte, len(coretest.ClientPreface))
	if _, err := io.ReadFull(c, pre); err != nil || string(pre) != coretest.ClientPreface {
		return
	}
	fb := coretest.NewFrameBuilder()
	if _, err := c.Write(fb.Settings()); err != nil {
		return
	}
	bodies := map[uint32]*bytes.Buffer{}
	var buf []byte
	tmp := make([]byte, 32<<10)
	respond := func(id uint32) []byte {
		out := fb.Headers(id, coretest.EndHeaders, ":status", "200")
		return append(out, fb.Data(id, true, bodies[id].Bytes())...)
	}
	for {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		var out []byte
		for {
			f, m, perr := frame.Parse(buf, 1<<24-1)
			if perr != nil {
				break
			}
			buf = buf[m:]
			switch f.Type {
			case frame.TypeSettings:
				if !f.IsAck() {
					out = append(out, fb.SettingsAck()...)
				}
			case frame.TypeHeaders:
				switch s.policy(s.hits.Add(1)) {
				case trRefuse:
					out = append(out, fb.RST(f.StreamID, frame.ErrCodeRefusedStream)...)
				case trInternal:
					out = append(out, fb.RST(f.StreamID, frame.ErrCodeInternal)...)
				case trHeadersOnly:
					out = append(out, fb.Headers(f.StreamID, coretest.EndHeaders|coretest.EndStream, ":status", "200")...)
				case trGoAway:
					out = append(out, fb.GoAway(max(f.StreamID, 2)-2, frame.ErrCodeNo, "going")...)
				default:
					bodies[f.StreamID] = new(bytes.Buffer)
					if f.EndStream() {
						out = append(out, respond(f.StreamID)...)
					}
				}
			case frame.TypeData:
				if b := bodies[f.StreamID]; b != nil {
					b.Write(f.Data)
					if len(f.Data) > 0 {
						out = append(out, fb.WindowUpdate(0, uint32(len(f.Data)))...)
					}
					if f.EndStream() {
						out = append(out, respond(f.StreamID)...)
					}
				}
			}
		}
		if len(out) > 0 {
			if _, werr := c.Write(out); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// trGet sends a request through a fresh Transport.
func trRetryDo(t *testing.T, s *trRawServer, method string, body io.Reader) (string, error) {
	t.Helper()
	tr := &nethttp.Transport{AllowHTTP: true}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(testCtx(t), method, s.url()+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// trOpaqueBody is a request body without GetBody: it cannot be replayed.
type trOpaqueBody struct{ r io.Reader }

func (b *trOpaqueBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *trOpaqueBody) Close() error               { return nil }

// TestTransportRetry: a request is sent again only when the server provably
// did not process it, at most three times, and only if its body can be
// replayed. The server counts the requests it received.
func TestTransportRetry(t *testing.T) {
	first := func(a trAction) func(int32) trAction {
		return func(n int32) trAction {
			if n == 1 {
				return a
			}
			return trRespond
		}
	}
	t.Run("REFUSED_STREAM_is_retried", func(t *testing.T) {
		s := trStartRaw(t, first(trRefuse))
		if body, err := trRetryDo(t, s, "GET", nil); err != nil || body != "" {
			t.Fatalf("GET: %q, %v", body, err)
		}
		if n := s.hits.Load(); n != 2 {
			t.Errorf("server received %d requests, want 2", n)
		}
	})
	t.Run("REFUSED_STREAM_POST_with_GetBody_is_retried_with_its_body", func(t *testing.T) {
		s := trStartRaw(t, first(trRefuse))
		body, err := trRetryDo(t, s, "POST", strings.NewReader("payload")) // NewRequest sets GetBody
		if err != nil || body != "payload" {
			t.Fatalf("POST: %q, %v", body, err)
		}
		if n := s.hits.Load(); n != 2 {
			t.Errorf("server received %d requests, want 2", n)
		}
	})
	t.Run("REFUSED_STREAM_POST_without_GetBody_is_not_retried", func(t *testing.T) {
		s := trStartRaw(t, first(trRefuse))
		_, err := trRetryDo(t, s, "POST", &trOpaqueBody{strings.NewReader("payload")})
		var se *core.StreamError
		if !errors.As(err, &se) || !se.Retryable {
			t.Fatalf("POST: %v, want the retryable REFUSED_STREAM reset (the body cannot be replayed)", err)
		}
		if n := s.hits.Load(); n != 1 {
			t.Errorf("server received %d requests, want 1", n)
		}
	})
	t.Run("GOAWAY_below_the_stream_is_retried_on_a_new_connection", func(t *testing.T) {
		s := trStartRaw(t, first(trGoAway))
		if _, err := trRetryDo(t, s, "GET", nil); err != nil {
			t.Fatalf("GET: %v", err)
		}
		if n, c := s.hits.Load(), s.conns.Load(); n != 2 || c != 2 {
			t.Errorf("server received %d requests on %d connections, want 2 on 2", n, c)
		}
	})
	t.Run("INTERNAL_ERROR_is_not_retried", func(t *testing.T) {
		s := trStartRaw(t, first(trInternal))
		_, err := trRetryDo(t, s, "GET", nil)
		var se *core.StreamError
		if !errors.As(err, &se) || se.Retryable || se.Code != frame.ErrCodeInternal {
			t.Fatalf("GET: %v, want the INTERNAL_ERROR reset", err)
		}
		if n := s.hits.Load(); n != 1 {
			t.Errorf("server received %d requests, want 1", n)
		}
	})
	t.Run("attempts_are_bounded", func(t *testing.T) {
		s := trStartRaw(t, func(int32) trAction { return trRefuse })
		_, err := trRetryDo(t, s, "GET", nil)
		var se *core.StreamError
		if !errors.As(err, &se) || se.Code != frame.ErrCodeRefusedStream {
			t.Fatalf("GET: %v, want REFUSED_STREAM after the last attempt", err)
		}
		if n := s.hits.Load(); n != 3 {
			t.Errorf("server received %d requests, want 3", n)
		}
	})
}

// TestTransportHeadersOnlyResponseLength: a response whose HEADERS end the
// stream has no content, so its ContentLength is 0 (as Go's HTTP/2 client
// reports it), not -1, even without a content-length field.
func TestTransportHeadersOnlyResponseLength(t *testing.T) {
	s := trStartRaw(t, func(int32) trAction { return trHeadersOnly })
	c := &http.Client{Transport: &nethttp.Transport{AllowHTTP: true}}
	req, err := http.NewRequestWithContext(testCtx(t), "GET", s.url()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != 200 || res.ContentLength != 0 || len(body) != 0 || err != nil {
		t.Fatalf("status %d, ContentLength %d, body %q, %v; want 200, 0, empty", res.StatusCode, res.ContentLength, body, err)
	}
}
