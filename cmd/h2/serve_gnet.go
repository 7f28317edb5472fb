package main

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	h2gnet "github.com/h2proto/h2/adapters/gnet"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// serveGnet runs `h2 serve -h2c -engine gnet`: the same answers as serve's
// fileServer ("/" says hello, "/echo" streams the request body back with
// its trailers, other paths come from dir), from the sans-IO core driven
// directly on gnet's event loops (package h2gnet) instead of the goroutine
// runtime. Cleartext prior knowledge (h2c) only. loops is the number of
// event loops (0: one per CPU). ready, if not nil, is called once with the
// listening address. When stop is closed (or receives) the server shuts
// down gracefully (GOAWAY, streams in flight finish, at most 5 s) and
// serveGnet returns nil; it returns an error if the server cannot start or
// fails.
func serveGnet(addr, dir string, loops int, ready func(net.Addr), stop <-chan struct{}) error {
	fsrv := &gnetFileServer{dir: dir, slots: make(chan struct{}, gnetFileSlots)}
	srv := &h2gnet.Server{Handler: fsrv, Loops: loops, Ready: ready}
	return serveUntil(stop, func() error { return srv.ListenAndServe(addr) }, srv.Shutdown, h2gnet.ErrServerClosed)
}

// gnetFileServer is fileServer for h2gnet: "/" and errors are answered on
// the event loop, "/echo" streams on the loop as the body arrives, files are
// read by a goroutine holding a Detached stream (disk reads would stall the
// loop).
type gnetFileServer struct {
	dir string
	// slots bounds the file goroutines past the request body at once
	// (gnetFileSlots): each holds an open file and a read buffer.
	slots chan struct{}
}

// gnetFileSlots is how many files are served at once, server-wide. A
// file's goroutine holds a gnetFileBuf buffer and a descriptor while it
// waits for the peer's flow-control window, and a peer may keep windows
// shut on every stream it opens: the bound keeps that at 64 × 64 KiB
// (4 MiB) however many streams the connections open. Further file
// requests wait (they are not refused) for a slot; a stream whose peer
// never opens its window holds its slot until the stream or the
// connection ends.
const gnetFileSlots = 64

// gnetFileBuf is the read buffer of a file goroutine: the stream's send
// buffer (core.Limits.StreamSendBuffer, 64 KiB by default), so that one
// Detached.Write fills it and waits for no more than the peer's window.
const gnetFileBuf = 64 << 10

func (fsrv *gnetFileServer) ServeH2(s h2gnet.Stream, req *h2gnet.Request) {
	switch {
	case req.Method == "CONNECT":
		_ = s.Respond(405, textPlain, []byte("CONNECT is not served here\n"))
	case req.Path == "/echo":
		gnetEcho(s)
	case req.Path == "/" || fsrv.dir == "":
		status := 200
		if req.Path != "/" {
			status = 404
		}
		headers, content := textPlain, gnetBodies[status]
		if req.Method == "HEAD" {
			headers, content = gnetHelloHead[status], nil
		}
		respondAtEnd(s, req, status, headers, content)
	default:
		d, err := s.Detach()
		if err != nil {
			_ = s.Reset(frame.ErrCodeInternal)
			return
		}
		go fsrv.file(d)
	}
}

// gnetHelloHead holds the HEAD answers' fields, built once.
var gnetHelloHead = map[int][]h2gnet.HeaderField{
	200: {textPlain[0], {Name: "content-length", Value: strconv.Itoa(len(helloBody))}},
	404: {textPlain[0], {Name: "content-length", Value: strconv.Itoa(len("not found\n"))}},
}

// gnetBodies holds the answers' bodies, built once.
var gnetBodies = map[int][]byte{200: []byte(helloBody), 404: []byte("not found\n")}

// respondAtEnd answers once the request has been received in full (at
// once for a request without content), dropping its body, where
// fileServer answers at once and drains: a peer that goes on to send a
// malformed frame on the stream then sees the stream error it provoked
// rather than an answer (h2spec checks for the former, and the event loop
// answers fast enough to race it). headers and body are shared, never
// changed, so they stay valid until then.
func respondAtEnd(s h2gnet.Stream, req *h2gnet.Request, status int, headers []h2gnet.HeaderField, body []byte) {
	if req.EndStream {
		_ = s.Respond(status, headers, body)
		return
	}
	_ = s.OnEvent(func(s h2gnet.Stream, e *h2gnet.Event) {
		if e.Kind == core.EventTrailers || (e.Kind == core.EventData && e.EndStream) {
			_ = s.Respond(status, headers, body)
		}
	})
}

var octetStream = []h2gnet.HeaderField{{Name: "content-type", Value: "application/octet-stream"}}

// gnetEcho streams the request body back on the loop. Received content is
// credited to the peer only once it is in the response's send buffer, so
// what the buffer cannot take yet (kept in stash) holds the peer back, and
// the stash never exceeds one stream window.
func gnetEcho(s h2gnet.Stream) {
	if s.WriteHeaders(200, octetStream, false) != nil || s.SetManualConsume() != nil {
		_ = s.Reset(frame.ErrCodeInternal)
		return
	}
	var (
		stash    []byte
		trailers []h2gnet.HeaderField
		ended    bool
		done     bool
	)
	send := func(s h2gnet.Stream, p []byte) {
		if done {
			return
		}
		n, err := s.Write(p)
		_ = s.Consume(n)
		if err != nil && !errors.Is(err, core.ErrSendBufferFull) {
			done = true
			_ = s.Reset(frame.ErrCodeInternal)
			return
		}
		stash = append(stash[:0], p[n:]...)
		if len(stash) > 0 || !ended {
			return
		}
		done = true
		if len(trailers) > 0 {
			_ = s.WriteTrailers(trailers)
		} else {
			_ = s.CloseWrite()
		}
	}
	_ = s.OnEvent(func(s h2gnet.Stream, e *h2gnet.Event) {
		switch e.Kind {
		case core.EventData:
			ended = e.EndStream
			if len(stash) > 0 { // wait for EventWritable, keeping order
				stash = append(stash, e.Data...)
				return
			}
			send(s, e.Data)
		case core.EventTrailers:
			ended = true
			for _, f := range e.Headers { // borrowed: copy
				trailers = append(trailers, h2gnet.HeaderField{Name: strings.Clone(f.Name), Value: strings.Clone(f.Value)})
			}
			if len(stash) == 0 {
				send(s, nil)
			}
		case core.EventWritable:
			send(s, stash)
		}
	})
}

// gnetFileBufs holds the file goroutines' read buffers (gnetFileBuf).
var gnetFileBufs = sync.Pool{New: func() any { b := make([]byte, gnetFileBuf); return &b }}

// file serves a file under fsrv.dir from its own goroutine, as
// fileServer.file does, once one of the server's slots is free.
func (fsrv *gnetFileServer) file(d *h2gnet.Detached) {
	defer d.Close()
	_, _ = io.Copy(io.Discard, d)
	fsrv.slots <- struct{}{}
	defer func() { <-fsrv.slots }()
	req := d.Request()
	f, hdr, size, status, msg := openFile(fsrv.dir, req.Method, req.Path)
	if f == nil {
		_ = d.Respond(status, textPlain, []byte(msg))
		return
	}
	defer f.Close()
	if req.Method == "HEAD" || size == 0 {
		_ = d.Respond(200, hdr, nil)
		return
	}
	if err := d.WriteHeaders(200, hdr, false); err != nil {
		return
	}
	// Exactly the size announced, else a reset (see fileServer.file).
	buf := gnetFileBufs.Get().(*[]byte)
	defer gnetFileBufs.Put(buf)
	n, err := io.CopyBuffer(d, io.LimitReader(f, size), *buf)
	if err != nil || n != size || d.CloseWrite() != nil {
		_ = d.Reset(frame.ErrCodeInternal)
	}
}
