package h2_test

import (
	"errors"
	"io"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// rtTunnelServer answers CONNECT (and extended CONNECT) with 200 and echoes
// the tunnel's bytes until the client closes its side. It reports each
// request it saw.
func rtTunnelServer(seen chan<- *h2.Request) *h2.Server {
	return &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		seen <- s.Request()
		if s.Request().Method != "CONNECT" {
			_ = s.Respond(405, nil, nil)
			return
		}
		if s.WriteHeaders(200, nil) != nil {
			return
		}
		buf := make([]byte, 4096)
		for {
			n, err := s.Read(buf)
			if n > 0 {
				if _, werr := s.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err == io.EOF {
				_ = s.CloseWrite()
				<-s.Done()
				return
			}
			if err != nil {
				return
			}
		}
	})}
}

// rtTunnelExchange writes messages through a tunnel and reads each echo,
// then closes the client's side and expects the server's end.
func rtTunnelExchange(t *testing.T, s *h2.Stream) {
	t.Helper()
	ctx := rtCtx(t)
	resp, err := s.Response(ctx)
	if err != nil || resp.Status != 200 {
		t.Fatalf("tunnel response %v, %v", resp, err)
	}
	for _, msg := range [][]byte{[]byte("hello tunnel"), rtPattern(10, 70<<10), []byte("x")} {
		if _, err := s.WriteContext(ctx, msg); err != nil {
			t.Fatal(err)
		}
		got, err := rtReadFull(t, ctx, s, len(msg))
		if err != nil || string(got) != string(msg) {
			t.Fatalf("echo of %d bytes: got %d, %v", len(msg), len(got), err)
		}
	}
	if err := s.WriteTrailers([]h2.HeaderField{{Name: "x-t", Value: "1"}}); !errors.Is(err, core.ErrTunnelTrailers) {
		t.Errorf("WriteTrailers on a tunnel: %v, want core.ErrTunnelTrailers", err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if rest, err := rtReadAll(t, ctx, s); err != nil || len(rest) != 0 {
		t.Errorf("tunnel end: %q, %v; want a clean io.EOF", rest, err)
	}
	rtDone(t, ctx, s.Done(), "tunnel stream to close")
	if err := s.Err(); err != nil {
		t.Errorf("tunnel Err: %v", err)
	}
}

// TestRuntimeConnectTunnel: CONNECT (RFC 9113 §8.5) built by
// NewRequest("CONNECT", "") carries only :method and :authority; the
// server answers 200 and the stream becomes a two-way byte tunnel.
func TestRuntimeConnectTunnel(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			seen := make(chan *h2.Request, 1)
			env := rtStart(t, kind, rtTunnelServer(seen), &h2.ClientOptions{Authority: "tunnel.example:443"})
			c := env.client
			ctx := rtCtx(t)
			hdr := c.NewRequest("CONNECT", "")
			if len(hdr) != 2 || hdr[0].Name != ":method" || hdr[1].Name != ":authority" {
				t.Fatalf("NewRequest(CONNECT) = %v, want :method and :authority only", hdr)
			}
			s, err := c.Request(ctx, hdr, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := rtWait(t, ctx, seen, "the CONNECT request")
			if req.Method != "CONNECT" || req.Authority != "tunnel.example:443" || req.Path != "" || req.Scheme != "" || req.Protocol != "" {
				t.Errorf("server saw %+v", req)
			}
			rtTunnelExchange(t, s)
		})
	}
}

// TestRuntimeConnectExtended: with EnableConnectProtocol on the server
// (RFC 8441), a CONNECT with :protocol websocket, :scheme, :path and
// :authority opens a tunnel and the server sees the protocol.
func TestRuntimeConnectExtended(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			seen := make(chan *h2.Request, 1)
			srv := rtTunnelServer(seen)
			srv.Options = h2.Options{Config: core.Config{EnableConnectProtocol: true}}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			if !c.PeerSettings().EnableConnectProtocol {
				t.Fatal("the client did not see SETTINGS_ENABLE_CONNECT_PROTOCOL")
			}
			scheme := "http"
			s, err := c.Request(ctx, []h2.HeaderField{
				{Name: ":method", Value: "CONNECT"},
				{Name: ":protocol", Value: "websocket"},
				{Name: ":scheme", Value: scheme},
				{Name: ":path", Value: "/chat"},
				{Name: ":authority", Value: "example.test"},
				{Name: "sec-websocket-version", Value: "13"},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := rtWait(t, ctx, seen, "the extended CONNECT")
			if req.Method != "CONNECT" || req.Protocol != "websocket" || req.Path != "/chat" ||
				req.Scheme != scheme || req.Authority != "example.test" || req.Get("sec-websocket-version") != "13" {
				t.Errorf("server saw %+v", req)
			}
			rtTunnelExchange(t, s)
		})
	}
}

// TestRuntimeConnectExtendedDisabled: without the server's setting, an
// extended CONNECT is refused locally with core.ErrExtendedConnectDisabled.
func TestRuntimeConnectExtendedDisabled(t *testing.T) {
	seen := make(chan *h2.Request, 1)
	env := rtStart(t, rtOverPipe, rtTunnelServer(seen), nil) // waits for the server's SETTINGS
	c := env.client
	ctx := rtCtx(t)
	if c.PeerSettings().EnableConnectProtocol {
		t.Fatal("server advertised extended CONNECT by default")
	}
	_, err := c.Request(ctx, []h2.HeaderField{
		{Name: ":method", Value: "CONNECT"},
		{Name: ":protocol", Value: "websocket"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/chat"},
		{Name: ":authority", Value: "example.test"},
	}, nil)
	if !errors.Is(err, core.ErrExtendedConnectDisabled) {
		t.Fatalf("extended CONNECT without the setting: %v, want core.ErrExtendedConnectDisabled", err)
	}
	// The connection is unharmed.
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := s.Response(ctx); err != nil || resp.Status != 405 {
		t.Errorf("GET after the refusal: %v, %v", resp, err)
	}
}
