// Package h2 is h2proto's runtime: it drives the sans-IO protocol core
// (package core, RFC 9113) over real connections — TCP with prior knowledge
// (h2c), TLS with ALPN "h2", or any net.Conn such as transport/memory's
// pipes — and gives clients and servers a stream API.
//
// # Shape
//
// One connection is one core.Conn, guarded by a mutex, and two goroutines:
// a reader feeding core.Conn.Receive and a writer draining
// core.Conn.PollTransmit, which coalesces every frame queued since its last
// write into one write. One timer follows core.Conn.PollTimeout. The
// runtime starts no goroutine per request: a server Handler runs on its own
// goroutine by default, or inline on the connection's goroutine
// (Server.Inline) for answers that need no waiting.
//
// # Client
//
//	c, err := h2.Dial(ctx, "example.com:443", nil) // TLS, ALPN h2
//	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
//	resp, err := s.Response(ctx) // status, fields, 1xx before it
//	body, err := s.ReadAll()     // then s.Trailers()
//
// A request body is written with s.Write (blocking while flow control holds
// it back; TryWrite does not block and returns core.ErrSendBufferFull) and
// ended with s.CloseWrite or s.WriteTrailers. s.Cancel, or cancelling the
// request's context, resets the stream.
//
// # Server
//
//	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
//		_ = s.Respond(200, nil, []byte("hello\n"))
//	})}
//	err := srv.Serve(listener) // or srv.ServeConn(conn) for one connection
//
// Shutdown sends the two-phase GOAWAY (RFC 9113 §6.8): streams already
// started finish, new ones are refused as safe to retry.
//
// # Events and handlers
//
// Every stream queues its events in order until the application takes them.
// The pull methods (Response, Read, Trailers) take them one by one;
// SetHandler routes them to a callback instead, first replaying those that
// arrived before it was set; DrainEvents hands them over in one batch. A
// peer's GOAWAY reaches each open stream as an event, and the end of the
// connection ends each stream with exactly one terminal event
// (core.EventStreamClosed or core.EventStreamReset).
//
// # Flow control
//
// Received content is credited back to the peer (RFC 9113 §6.9) as the
// application reads it — so a slow reader slows the peer, and the runtime
// never buffers more than a window per stream — or only when the application
// calls Stream.Consume (RequestOptions.ManualConsume, Server.ManualConsume).
//
// # Errors
//
// Connection errors are *core.ConnError (our GOAWAY or the peer's), stream
// resets *core.StreamError, transport failures the transport's error; API
// misuse returns the core's sentinels (core.ErrSendBufferFull,
// core.ErrStreamClosed, …) or this package's (ErrHandlerSet, …).
package h2
