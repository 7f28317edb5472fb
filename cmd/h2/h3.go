package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/adapters/h3"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// serveH3 runs `h2 serve -h3`: the same handler as serve ("/" says
// hello, "/echo" streams the body back with its trailers, other paths
// come from dir) over HTTP/3 on the UDP address addr, with the
// certificate in certFile/keyFile or a throwaway self-signed one when
// both are empty. ready (if not nil) gets the bound address once the
// socket is open; closing stop starts a graceful shutdown (GOAWAY, 5 s
// for streams in flight), after which serveH3 returns nil.
func serveH3(addr, certFile, keyFile, dir string, ready func(net.Addr), stop <-chan struct{}, stdout io.Writer) error {
	if (certFile == "") != (keyFile == "") {
		return errors.New("-cert and -key go together")
	}
	var cert tls.Certificate
	var err error
	desc := "HTTP/3 over QUIC, self-signed certificate"
	if certFile != "" {
		cert, err = h2tls.LoadKeyPair(certFile, keyFile)
		desc = "HTTP/3 over QUIC, " + certFile
	} else {
		host, _, _ := net.SplitHostPort(addr)
		cert, err = h2tls.SelfSigned(host)
	}
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	defer pc.Close()
	srv := &h3.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Handler:   &h3FileServer{fileServer{dir: dir}},
	}
	fmt.Fprintf(stdout, "h2 serve: listening on %s (%s)\n", pc.LocalAddr(), desc)
	if ready != nil {
		ready(pc.LocalAddr())
	}
	return serveUntil(stop, func() error { return srv.Serve(pc) }, srv.Shutdown, h3.ErrServerClosed)
}

// h3FileServer is fileServer over HTTP/3: the same answers (serve.go),
// through the same serverStream methods. HTTP/3 handlers run on a
// goroutine each, so it may block.
type h3FileServer struct {
	fileServer
}

var _ serverStream = (*h3.Stream)(nil)

func (fsrv *h3FileServer) ServeH3(s *h3.Stream) {
	switch r := fsrv.route(s.Request()); r {
	case routeEcho:
		echo(s)
	case routeFile:
		fsrv.file(s)
	case routeConnect:
		// The adapter resets CONNECT before a handler sees it; should one
		// get here, answer without reading the tunnel: returning ends the
		// stream.
		answer(s, r)
	default:
		answer(s, r)
		drainBlocking(s) // the response ends once the request has
	}
}

// getH3 runs `h2 get -h3`: one request over HTTP/3 to rawURL (https://
// only: HTTP/3 always runs over TLS; the port defaults to 443), printing
// the 1xx heads, the response head, the body and the trailers as get
// does. method "" means GET, or POST with a body. body, when not nil, is
// sent as the request content (read to its end); insecure skips
// certificate verification; the body goes to bodyOut (get's -o file) or,
// when it is nil, to stdout. ctx bounds everything.
func getH3(ctx context.Context, rawURL, method string, headers []h2.HeaderField, body io.Reader, insecure bool, stdout, bodyOut io.Writer) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.Scheme != "https" {
		return fmt.Errorf("%q is not an https:// URL (HTTP/3 runs over TLS only)", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	if method == "" {
		method = "GET"
		if body != nil {
			method = "POST"
		}
	}
	c, err := h3.Dial(ctx, addr, &h3.ClientOptions{InsecureSkipVerify: insecure, ServerName: u.Hostname(), Authority: u.Host})
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Request(ctx, c.NewRequest(method, u.RequestURI(), headers...), &h3.RequestOptions{EndStream: body == nil})
	if err != nil {
		return err
	}
	if body != nil {
		go func() {
			if _, err := io.Copy(s, body); err != nil {
				_ = s.Cancel()
				return
			}
			_ = s.CloseWrite()
		}()
	}
	resp, err := s.Response(ctx)
	if err != nil {
		return err
	}
	for _, inf := range resp.Informational {
		printFields(stdout, inf.Header)
		fmt.Fprintln(stdout)
	}
	printFields(stdout, resp.Header)
	fmt.Fprintln(stdout)
	if bodyOut == nil {
		bodyOut = stdout
	}
	if _, err := io.Copy(bodyOut, s); err != nil {
		return err
	}
	if t := s.Trailers(); len(t) > 0 {
		fmt.Fprintln(stdout)
		printFields(stdout, t)
	}
	return nil
}
