package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// demo runs `h2 demo`: a real server and client over loopback TLS (ALPN h2,
// a throwaway self-signed certificate the client is told to trust),
// exchanging a GET, a POST echoed back, a response with trailers, a PING
// and a graceful shutdown, with the client's frame trace. -mem runs the
// same exchange between two bare cores in memory on a virtual clock.
func demo(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	quiet := fs.Bool("q", false, "print only the results, not the frame trace")
	mem := fs.Bool("mem", false, "run two cores in memory on a virtual clock instead of over loopback TLS")
	latency := fs.Duration("latency", 10*time.Millisecond, "with -mem: one-way latency of the in-memory link (virtual time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *mem {
		return demoMemory(out, *quiet, *latency)
	}
	return demoTLS(out, *quiet)
}

func demoTLS(out io.Writer, quiet bool) error {
	out = &lockedWriter{w: out} // the trace comes from the connection's goroutines
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cert, err := h2tls.SelfSigned("127.0.0.1")
	if err != nil {
		return err
	}
	l, err := h2tls.Listen("127.0.0.1:0", h2tls.ServerConfig(cert), tcp.Config{})
	if err != nil {
		return err
	}
	srv := &h2.Server{Handler: demoServer{&fileServer{}}, Inline: true}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	addr := l.Addr().String()
	fmt.Fprintf(out, "server: listening on %s (TLS, self-signed certificate)\n", addr)

	cfg := h2tls.ClientConfig(h2tls.ClientOptions{ServerName: "127.0.0.1", RootCAs: h2tls.CertPool(cert)})
	tc, err := h2tls.Dial(ctx, addr, cfg, tcp.Config{})
	if err != nil {
		return err
	}
	st := tc.ConnectionState()
	fmt.Fprintf(out, "client: connected, %s, ALPN %q, certificate verified\n", tlsVersion(st.Version), st.NegotiatedProtocol)
	trace := out
	if quiet {
		trace = io.Discard
	}
	c, err := h2.NewClientConn(newTraceConn(tc, trace), &h2.ClientOptions{Authority: addr, Scheme: "https"})
	if err != nil {
		return err
	}
	if err := c.WaitConnected(ctx); err != nil {
		return err
	}

	for _, r := range []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
		wantTrailer              string
	}{
		{"GET /", "GET", "/", "", 200, helloBody, ""},
		{"POST /echo", "POST", "/echo", "ping pong", 200, "ping pong", ""},
		{"GET /trailers", "GET", "/trailers", "", 200, "body, then trailers\n", "x-checksum: 42"},
	} {
		status, body, trailers, err := demoRequest(ctx, c, r.method, r.path, r.body)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		if status != r.wantStatus || body != r.wantBody || !strings.Contains(trailers, r.wantTrailer) {
			return fmt.Errorf("%s: got %d %q trailers %q", r.name, status, body, trailers)
		}
		fmt.Fprintf(out, "%-16s → %d, %d bytes%s\n", r.name, status, len(body), trailerNote(trailers))
	}
	rtt, err := c.Ping(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-16s → RTT %v\n", "PING", rtt.Round(time.Microsecond))
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-served; err != h2.ErrServerClosed {
		return err
	}
	<-c.Done()
	fmt.Fprintf(out, "%-16s → server shut down gracefully, client connection closed (err=%v)\n", "GOAWAY", c.Err())
	return nil
}

func demoRequest(ctx context.Context, c *h2.Conn, method, path, body string) (int, string, string, error) {
	s, err := c.Request(ctx, c.NewRequest(method, path), &h2.RequestOptions{EndStream: body == ""})
	if err != nil {
		return 0, "", "", err
	}
	if body != "" {
		if _, err := s.Write([]byte(body)); err != nil {
			return 0, "", "", err
		}
		if err := s.CloseWrite(); err != nil {
			return 0, "", "", err
		}
	}
	resp, err := s.Response(ctx)
	if err != nil {
		return 0, "", "", err
	}
	got, err := s.ReadAll()
	if err != nil {
		return 0, "", "", err
	}
	var tr []string
	for _, f := range s.Trailers() {
		tr = append(tr, f.Name+": "+f.Value)
	}
	return resp.Status, string(got), strings.Join(tr, ", "), nil
}

// demoServer adds /trailers to the built-in handler.
type demoServer struct{ next h2.Handler }

func (d demoServer) ServeH2(s *h2.Stream) {
	if s.Request().Path != "/trailers" {
		d.next.ServeH2(s)
		return
	}
	if err := s.WriteHeaders(200, textPlain); err != nil {
		return
	}
	_, _ = s.TryWrite([]byte("body, then trailers\n"))
	_ = s.WriteTrailers([]h2.HeaderField{{Name: "x-checksum", Value: "42"}})
	drain(s)
}

func tlsVersion(v uint16) string {
	switch v {
	case 0x0304:
		return "TLS 1.3"
	case 0x0303:
		return "TLS 1.2"
	}
	return fmt.Sprintf("TLS version %#x", v)
}
