package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// headerFlags collects repeated -H 'name: value' flags.
type headerFlags []h2.HeaderField

func (h *headerFlags) String() string { return fmt.Sprint(*h) }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q is not 'name: value'", v)
	}
	*h = append(*h, h2.HeaderField{Name: strings.ToLower(strings.TrimSpace(name)), Value: strings.TrimSpace(value)})
	return nil
}

// get runs `h2 get`: one request, printing the status, headers, body and
// trailers; -v adds a frame trace of both directions.
func get(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "print every frame sent and received")
	insecure := fs.Bool("k", false, "do not verify the server's certificate")
	h2c := fs.Bool("h2c", false, "cleartext HTTP/2 with prior knowledge (implied by http://)")
	data := fs.String("d", "", "request body: a string, @file, or - for stdin (makes the method POST)")
	method := fs.String("X", "", "request method (default GET, or POST with -d)")
	out := fs.String("o", "", "write the body to this file instead of stdout")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	record := fs.String("record", "", "write the bytes received from the server (after TLS) to `DIR`/PREFIX-N.bin, N the next free number from 1")
	recordPrefix := fs.String("record-prefix", "conn", "file name `PREFIX` of the -record file")
	h3 := fs.Bool("h3", false, "HTTP/3 over QUIC with adapters/h3 (https:// only; no -v, -h2c or -record)")
	var hdrs headerFlags
	fs.Var(&hdrs, "H", "extra request header 'name: value' (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: h2 get [-v] [-k] [-h2c|-h3] [-d @file|-] [-H 'name: value'] [-record DIR] URL")
	}
	if *h3 {
		if *verbose || *h2c || *record != "" {
			return errors.New("-h3 does not go with -v, -h2c or -record (they are HTTP/2's)")
		}
		return getOverH3(fs.Arg(0), *method, hdrs, *data, *out, *insecure, *timeout, stdin, stdout)
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http:// or https:// URL", fs.Arg(0))
	}
	cleartext := *h2c || u.Scheme == "http"
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[bool]string{true: "80", false: "443"}[cleartext])
	}
	body, err := requestBody(*data, stdin)
	if err != nil {
		return err
	}
	m := *method
	if m == "" {
		m = "GET"
		if body != nil {
			m = "POST"
		}
	}

	var rec *recorder
	if *record != "" {
		if rec, err = newRecorder(*record, *recordPrefix, "h2 get", stderr); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	nc, err := dialFor(ctx, addr, u.Hostname(), cleartext, *insecure)
	if err != nil {
		return err
	}
	if rec != nil {
		nc = rec.wrap(nc)
	}
	if *verbose {
		// The trace (from the connection's goroutines) and the response
		// share stdout.
		stdout = &lockedWriter{w: stdout}
		nc = newTraceConn(nc, stdout)
	}
	scheme := "https"
	if cleartext {
		scheme = "http"
	}
	c, err := h2.NewClientConn(nc, &h2.ClientOptions{Authority: u.Host, Scheme: scheme})
	if err != nil {
		_ = nc.Close()
		return err
	}
	defer func() {
		_ = c.Shutdown(ctx)
	}()
	if err := c.WaitConnected(ctx); err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	path := u.RequestURI()
	s, err := c.Request(ctx, c.NewRequest(m, path, hdrs...), &h2.RequestOptions{EndStream: body == nil})
	if err != nil {
		return err
	}
	if body != nil {
		go func() {
			defer body.Close()
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
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if _, err := io.Copy(w, s); err != nil {
		return err
	}
	if t := s.Trailers(); len(t) > 0 {
		fmt.Fprintln(stdout)
		printFields(stdout, t)
	}
	return nil
}

// getOverH3 is get's -h3 path: the same request, response and output
// through getH3.
func getOverH3(rawURL, method string, hdrs []h2.HeaderField, data, out string, insecure bool,
	timeout time.Duration, stdin io.Reader, stdout io.Writer) error {
	body, err := requestBody(data, stdin)
	if err != nil {
		return err
	}
	var in io.Reader
	if body != nil {
		defer body.Close()
		in = body
	}
	var bodyOut io.Writer
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		bodyOut = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return getH3(ctx, rawURL, method, hdrs, in, insecure, stdout, bodyOut)
}

func printFields(w io.Writer, fs []h2.HeaderField) {
	for _, f := range fs {
		fmt.Fprintf(w, "%s: %s\n", f.Name, f.Value)
	}
}

// requestBody opens the -d argument: nil for none, "-" for stdin, "@file"
// for a file, else the string itself.
func requestBody(d string, stdin io.Reader) (io.ReadCloser, error) {
	switch {
	case d == "":
		return nil, nil
	case d == "-":
		return io.NopCloser(stdin), nil
	case strings.HasPrefix(d, "@"):
		return os.Open(d[1:])
	}
	return io.NopCloser(strings.NewReader(d)), nil
}

// dialFor dials h2c or TLS. It does the TLS handshake itself (rather than
// h2.Dial) so that -v can trace the HTTP/2 bytes inside TLS.
func dialFor(ctx context.Context, addr, host string, cleartext, insecure bool) (net.Conn, error) {
	if cleartext {
		nc, err := tcp.Dial(ctx, addr, tcp.Config{})
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		return nc, nil
	}
	cfg := h2tls.ClientConfig(h2tls.ClientOptions{ServerName: host, InsecureSkipVerify: insecure})
	tc, err := h2tls.Dial(ctx, addr, cfg, tcp.Config{})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return tc, nil
}

// traceConn prints the frames crossing a connection in both directions.
type traceConn struct {
	net.Conn
	mu      *sync.Mutex
	in, out *tracer
}

func newTraceConn(nc net.Conn, w io.Writer) net.Conn {
	start := time.Now()
	return &traceConn{
		Conn: nc,
		mu:   new(sync.Mutex),
		in:   newTracer(w, start, "recv", false),
		out:  newTracer(w, start, "send", true),
	}
}

func (t *traceConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.mu.Lock()
		t.in.observe(time.Now(), p[:n])
		t.mu.Unlock()
	}
	return n, err
}

func (t *traceConn) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.out.observe(time.Now(), p)
	t.mu.Unlock()
	return t.Conn.Write(p)
}

// ConnectionState keeps the TLS state visible through the wrapper.
func (t *traceConn) ConnectionState() tls.ConnectionState {
	if tc, ok := t.Conn.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
