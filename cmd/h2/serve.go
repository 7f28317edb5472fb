package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// helloBody is what "/" answers. h2spec needs a body of at least a few
// bytes on GET / for some of its flow-control cases.
const helloBody = "hello from h2proto\n"

// serve runs `h2 serve`: an HTTP/2 server over TLS (a throwaway
// self-signed certificate unless -cert/-key) or cleartext prior knowledge
// (-h2c), until SIGINT/SIGTERM, then a graceful shutdown. -record writes
// the bytes each connection receives to a file of its own (record.go).
func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8443", "address to listen on (HOST:PORT)")
	h2c := fs.Bool("h2c", false, "cleartext HTTP/2 with prior knowledge instead of TLS")
	certFile := fs.String("cert", "", "certificate file (PEM); default a throwaway self-signed one")
	keyFile := fs.String("key", "", "private key file (PEM) for -cert")
	dir := fs.String("dir", "", "serve the files under this directory")
	record := fs.String("record", "", "write the bytes each connection receives (after TLS) to `DIR`/PREFIX-N.bin, N counting from 1 in accept order (skipping existing files)")
	recordPrefix := fs.String("record-prefix", "conn", "file name `PREFIX` of the -record files")
	h3 := fs.Bool("h3", false, "HTTP/3 over QUIC (UDP, TLS 1.3) with adapters/h3 instead of HTTP/2")
	engine := fs.String("engine", "runtime", "HTTP/2 engine: runtime (a goroutine per connection) or gnet (the core on gnet event loops, with -h2c)")
	loops := fs.Int("loops", 0, "-engine gnet: number of event loops (0: one per CPU)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if (*certFile == "") != (*keyFile == "") {
		return errors.New("-cert and -key go together")
	}
	if err := serveFlagsAgree(*engine, *h3, *h2c, *record != "", *loops); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
	stopped := make(chan struct{})
	go func() { <-stop; close(stopped) }()
	if *h3 {
		return serveH3(*addr, *certFile, *keyFile, *dir, nil, stopped, stdout)
	}
	if *engine == "gnet" {
		ready := func(a net.Addr) {
			fmt.Fprintf(stdout, "h2 serve: listening on %s (h2c, prior knowledge; gnet event loops)\n", a)
		}
		return serveGnet(*addr, *dir, *loops, ready, stopped)
	}
	var rec *recorder
	if *record != "" {
		var err error
		if rec, err = newRecorder(*record, *recordPrefix, "h2 serve", stderr); err != nil {
			return err
		}
	}
	l, desc, err := listen(*addr, *h2c, *certFile, *keyFile)
	if err != nil {
		return err
	}
	if rec != nil {
		l = rec.listener(l)
		desc += ", recording to " + *record
	}
	srv := &h2.Server{Handler: &fileServer{dir: *dir}, Inline: true}
	fmt.Fprintf(stdout, "h2 serve: listening on %s (%s)\n", l.Addr(), desc)

	// Serve returns as soon as the listener closes; the streams in flight
	// finish (or the 5 s bound passes) before the process exits.
	return serveUntil(stopped, func() error { return srv.Serve(l) }, srv.Shutdown, h2.ErrServerClosed)
}

// serveUntil runs serve, the server of one of serve's engines, until it
// returns. Closing stop starts shutdown, bounded by 5 s (GOAWAY, streams in
// flight finish); serve's return of closed then counts as success, once
// the shutdown is over.
func serveUntil(stop <-chan struct{}, serve func() error, shutdown func(context.Context) error, closed error) error {
	done := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		select {
		case <-stop:
		case <-done: // serve failed on its own
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
	}()
	err := serve()
	close(done)
	<-drained
	if errors.Is(err, closed) {
		return nil
	}
	return err
}

// serveFlagsAgree rejects combinations of serve's flags that no server
// here implements, naming the conflict.
func serveFlagsAgree(engine string, h3, h2c, record bool, loops int) error {
	switch {
	case engine != "runtime" && engine != "gnet":
		return fmt.Errorf("-engine %q: want runtime or gnet", engine)
	case h3 && h2c:
		return errors.New("-h3 and -h2c: HTTP/3 always runs over TLS")
	case h3 && engine != "runtime":
		return errors.New("-h3 and -engine: the engines are HTTP/2's")
	case engine == "gnet" && !h2c:
		return errors.New("-engine gnet serves h2c only: add -h2c")
	case record && (h3 || engine == "gnet"):
		return errors.New("-record works with the runtime engine over HTTP/2 only")
	case loops < 0:
		return fmt.Errorf("-loops %d: want 0 or more", loops)
	case loops != 0 && engine != "gnet":
		return errors.New("-loops is for -engine gnet")
	}
	return nil
}

func listen(addr string, h2c bool, certFile, keyFile string) (net.Listener, string, error) {
	if h2c {
		l, err := tcp.Listen(addr, tcp.Config{})
		return l, "h2c, prior knowledge", err
	}
	var cert tls.Certificate
	var err error
	desc := "TLS, self-signed certificate"
	if certFile != "" {
		cert, err = h2tls.LoadKeyPair(certFile, keyFile)
		desc = "TLS, " + certFile
	} else {
		host, _, _ := net.SplitHostPort(addr)
		cert, err = h2tls.SelfSigned(host)
	}
	if err != nil {
		return nil, "", err
	}
	l, err := h2tls.Listen(addr, h2tls.ServerConfig(cert), tcp.Config{})
	return l, desc, err
}

// fileServer is the built-in handler: "/" says hello, "/echo" streams the
// request body back (and its trailers), other paths come from dir, and
// CONNECT gets 405. Over HTTP/2 it runs inline: answers that need no
// waiting go out at once, the rest get a goroutine; request bodies it does
// not use are drained. h3FileServer (h3.go) serves the same answers over
// HTTP/3: both go through serverStream.
type fileServer struct {
	dir string
}

// serverStream is what fileServer's answers use of a server stream; both
// *h2.Stream and *h3.Stream (adapters/h3) have these methods.
type serverStream interface {
	Request() *h2.Request
	Respond(status int, headers []h2.HeaderField, body []byte) error
	WriteHeaders(status int, headers []h2.HeaderField) error
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	CloseWrite() error
	WriteTrailers(trailers []h2.HeaderField) error
	Trailers() []h2.HeaderField
	Reset(code core.ErrCode) error
}

var _ serverStream = (*h2.Stream)(nil)

var textPlain = []h2.HeaderField{{Name: "content-type", Value: "text/plain; charset=utf-8"}}

// route is how fileServer answers a request.
type route int

const (
	routeConnect route = iota // 405: no tunnels here
	routeEcho                 // "/echo": the body back, then its trailers
	routeHello                // "/": hello; any other path without a dir: 404
	routeFile                 // a file under dir
)

func (fsrv *fileServer) route(req *h2.Request) route {
	switch {
	case req.Method == "CONNECT":
		return routeConnect
	case req.Path == "/echo":
		return routeEcho
	case req.Path == "/" || fsrv.dir == "":
		return routeHello
	}
	return routeFile
}

func (fsrv *fileServer) ServeH2(s *h2.Stream) {
	switch r := fsrv.route(s.Request()); r {
	case routeEcho:
		go echo(s)
	case routeFile:
		go fsrv.file(s)
	default:
		answer(s, r)
		drain(s)
	}
}

// answer sends the answers that need no waiting: routeConnect's 405 and
// routeHello's page (or 404). It does not touch the request body.
func answer(s serverStream, r route) {
	req := s.Request()
	if r == routeConnect {
		_ = s.Respond(405, textPlain, []byte("CONNECT is not served here\n"))
		return
	}
	status, body := 200, helloBody
	if req.Path != "/" {
		status, body = 404, "not found\n"
	}
	if req.Method == "HEAD" {
		_ = s.Respond(status, append(textPlain[:1:1], h2.HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))}), nil)
	} else {
		_ = s.Respond(status, textPlain, []byte(body))
	}
}

// drain discards the rest of the request body without a goroutine: the
// stream's events go to a handler that ignores them (each EventData is
// credited back when it returns).
func drain(s *h2.Stream) {
	s.SetHandler(func(*h2.Stream, h2.Event) {})
}

// echo streams the request body back, then its trailers; it blocks.
func echo(s serverStream) {
	if err := s.WriteHeaders(200, []h2.HeaderField{{Name: "content-type", Value: "application/octet-stream"}}); err != nil {
		return
	}
	if _, err := io.Copy(s, s); err != nil {
		_ = s.Reset(frame.ErrCodeInternal)
		return
	}
	if t := s.Trailers(); len(t) > 0 {
		_ = s.WriteTrailers(t)
		return
	}
	_ = s.CloseWrite()
}

// file answers with a file under dir (GET and HEAD); it blocks.
func (fsrv *fileServer) file(s serverStream) {
	drainBlocking(s)
	f, hdr, size, status, msg := openFile(fsrv.dir, s.Request().Method, s.Request().Path)
	if f == nil {
		_ = s.Respond(status, textPlain, []byte(msg))
		return
	}
	defer f.Close()
	if s.Request().Method == "HEAD" || size == 0 {
		_ = s.Respond(200, hdr, nil)
		return
	}
	if err := s.WriteHeaders(200, hdr); err != nil {
		return
	}
	// Send exactly the size announced; a file that changed meanwhile (or a
	// sysfs file, whose size Stat cannot know) resets the stream rather
	// than leaving the client waiting.
	n, err := io.Copy(s, io.LimitReader(f, size))
	if err != nil || n != size || s.CloseWrite() != nil {
		_ = s.Reset(frame.ErrCodeInternal)
	}
}

// openFile finds what a GET or HEAD of target (a :path, query ignored)
// names under dir, for every engine's file handler: the open file, the
// response fields (content-type from the extension, content-length) and
// its size; or, with f nil, the status and text to answer instead (405 for
// another method, 404 for a missing file or a directory, 500 when dir
// cannot be opened). Paths cannot leave dir (os.Root). The caller closes f.
func openFile(dir, method, target string) (f *os.File, hdr []h2.HeaderField, size int64, status int, msg string) {
	if method != "GET" && method != "HEAD" {
		return nil, nil, 0, 405, "method not allowed\n"
	}
	if i := strings.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, 0, 500, "cannot open the directory\n"
	}
	defer root.Close()
	name := strings.TrimPrefix(path.Clean("/"+target), "/")
	f, err = root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, nil, 0, 404, "not found\n"
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		_ = f.Close()
		return nil, nil, 0, 404, "not found\n"
	}
	ctype := mime.TypeByExtension(filepath.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	hdr = []h2.HeaderField{
		{Name: "content-type", Value: ctype},
		{Name: "content-length", Value: strconv.FormatInt(st.Size(), 10)},
	}
	return f, hdr, st.Size(), 0, ""
}

// drainBlocking reads the request body to its end (a GET's is empty).
func drainBlocking(s io.Reader) {
	_, _ = io.Copy(io.Discard, s)
}
