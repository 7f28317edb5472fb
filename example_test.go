package h2_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/memory"
	"github.com/h2proto/h2/transport/tcp"
)

// A server and a client over loopback TCP with prior knowledge (h2c).
func Example() {
	l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
	if err != nil {
		log.Fatal(err)
	}
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		_ = s.Respond(200, []h2.HeaderField{{Name: "content-type", Value: "text/plain"}}, []byte("hello\n"))
	})}
	go func() { _ = srv.Serve(l) }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := h2.Dial(ctx, l.Addr().String(), &h2.ClientOptions{H2C: true})
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := s.ReadAll()
	fmt.Printf("%d %s %q\n", resp.Status, resp.Get("content-type"), body)

	_ = srv.Shutdown(ctx) // two-phase GOAWAY; the client's connection ends
	<-c.Done()
	fmt.Println("client connection closed:", c.Err())
	// Output:
	// 200 text/plain "hello\n"
	// client connection closed: <nil>
}

// A server whose handler streams the request body back, with the request's
// trailers, over an in-memory pipe.
func ExampleServer() {
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		if err := s.WriteHeaders(200, nil); err != nil {
			return
		}
		if _, err := io.Copy(s, s); err != nil {
			return
		}
		_ = s.WriteTrailers(s.Trailers())
	})}
	l := memory.Listen(memory.Config{Seed: 1, MaxChunk: 7}) // reads cut into 1..7 bytes
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := l.Dial(ctx)
	if err != nil {
		log.Fatal(err)
	}
	c, err := h2.NewClientConn(nc, &h2.ClientOptions{Authority: "example.test"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	s, err := c.Request(ctx, c.NewRequest("POST", "/echo"), nil)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = s.Write([]byte("ping "))
	_, _ = s.Write([]byte("pong"))
	_ = s.WriteTrailers([]h2.HeaderField{{Name: "x-sum", Value: "9"}})
	body, err := s.ReadAll()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q trailers %v\n", body, s.Trailers())
	// Output:
	// "ping pong" trailers [header field "x-sum" = "9"]
}

// Events routed to a per-stream handler, with those that arrived before it
// was set replayed in order.
func ExampleStream_SetHandler() {
	srv := &h2.Server{Inline: true, Handler: h2.HandlerFunc(func(s *h2.Stream) {
		_ = s.Respond(200, nil, []byte("hello"))
	})}
	l := memory.Listen(memory.Config{})
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, _ := l.Dial(ctx)
	c, _ := h2.NewClientConn(nc, nil)
	defer c.Close()
	s, _ := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	<-s.Done() // every event is queued by now

	done := make(chan struct{})
	s.SetHandler(func(_ *h2.Stream, e h2.Event) {
		switch e.Kind {
		case core.EventData:
			fmt.Printf("data %q end=%v\n", e.Data, e.EndStream)
		default:
			fmt.Println(e.Kind)
		}
		if e.Kind == core.EventStreamClosed {
			close(done)
		}
	})
	<-done
	// Output:
	// response
	// data "hello" end=true
	// stream_closed
}

// Testing a handler on virtual time: over a transport/memory listener
// sharing the server's Clock, the server's 60-second idle timeout fires when
// the test advances the clock, in microseconds of real time. The runtime's
// goroutines still run concurrently, so the test moves time only at a point
// where both sides are quiet; see docs/testing.md.
func ExampleServer_virtualClock() {
	clk := memory.NewClock(time.Time{})
	quiet := core.Timeouts{KeepAlive: -1} // no PINGs: only the idle timer runs
	srv := &h2.Server{
		Inline:  true, // the handler has returned before the server reads on
		Handler: h2.HandlerFunc(func(s *h2.Stream) { _ = s.Respond(204, nil, nil) }),
		Options: h2.Options{Clock: clk, Config: core.Config{Timeouts: quiet}},
	}
	l := memory.Listen(memory.Config{Clock: clk, Seed: 7, MaxChunk: 5})
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := l.Dial(ctx)
	if err != nil {
		log.Fatal(err)
	}
	quiet.Idle = -1 // the client keeps the connection for ever
	c, err := h2.NewClientConn(nc, &h2.ClientOptions{
		Options: h2.Options{Clock: clk, Config: core.Config{Timeouts: quiet}},
	})
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status", resp.Status)
	<-s.Done()
	// Time must jump only when both sides are quiet: once a PING is
	// answered, everything sent before it (SETTINGS acknowledgements, the
	// end of the stream) has been processed on both sides.
	if _, err := c.Ping(ctx); err != nil {
		log.Fatal(err)
	}

	clk.Advance(time.Minute) // the server has been idle for 60 s
	<-c.Done()
	fmt.Println("client connection closed:", c.Err(), "after", clk.Now().Sub(memory.Epoch))
	// Output:
	// status 204
	// client connection closed: <nil> after 1m0s
}
