// Package h2gnet serves HTTP/2 with the sans-IO core (package core) driven
// directly on gnet's event loops (github.com/panjf2000/gnet/v2): no
// goroutine per connection and none per request. A handful of goroutines
// serve any number of connections: gnet's acceptor and its event loops
// (Server.Loops), on Linux one goroutine waiting for blocked sockets to
// drain, and a short-lived timer callback per loop when a deadline passes.
// Goroutines of the application's own exist only for streams it detaches.
//
// Only cleartext HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3) is
// served: no TLS, no ALPN, no HTTP/1.1 Upgrade. The package builds on Unix
// systems only (gnet's epoll/kqueue engines and a half-close via
// golang.org/x/sys/unix).
//
// # Threading model
//
// Each connection belongs to one event loop for its whole life, and
// everything about it runs there: reading the socket, core.Conn.Receive,
// the core's events, the handler, the commands it calls, PollTransmit and
// the writes, the core's timers. Time enters the core as an argument, read
// with time.Now on the loop.
//
//   - Handler.ServeH2 runs on the loop for every new request, with a
//     Stream (a value naming the connection and stream) and the borrowed
//     request head. It must not block: a blocked handler stalls every
//     connection of its loop.
//   - Stream's methods (Respond, WriteHeaders, Write, CloseWrite,
//     WriteTrailers, Reset, OnEvent, Consume, Detach) may be called only on
//     that loop: inside ServeH2 or a callback registered with OnEvent. They
//     never block; Write takes what the send buffer holds and reports
//     core.ErrSendBufferFull, and an EventWritable follows when there is
//     room.
//   - OnEvent callbacks run on the loop with the request body (EventData,
//     whose bytes are borrowed for the call), trailers, EventWritable and
//     one terminal event (EventStreamClosed or EventStreamReset).
//   - Stream.Detach hands a stream to any goroutine: the *Detached handle's
//     calls are queued to the connection, the loop is woken (gnet's
//     Conn.Wake) and applies them in order, and each call returns the
//     command's result. Detached.Write blocks while flow control holds the
//     body back; Read delivers the request body, credited to the peer's
//     window only as it is read. Close releases the stream. From Detach
//     on, the Stream's methods fail with ErrAlreadyDetached.
//   - A Detached handle must not be used on an event loop (in ServeH2 or
//     a callback): its calls wait for the connection's loop, so there they
//     would wait for ever. Such a call on the connection's own loop fails
//     with ErrOnLoop; on another loop it stalls that loop meanwhile.
//
// After every input — bytes, a timer, a Detached command — the adapter
// drains the core in the documented order (events, then PollTransmit, then
// events again, until both are empty) and gathers the output of all of it
// into one write per round, so a batch of requests that arrived together
// leaves in one system call.
//
// # Flow control and back-pressure
//
// Response bodies are queued in the core (core.Limits.StreamSendBuffer,
// ConnSendBuffer) and leave as the peer's windows open (RFC 9113 §6.9).
// Output goes to gnet, which writes what the socket takes and keeps the
// rest; once that rest passes Server.MaxWriteBuffer the adapter stops
// taking output from the core, so the core's buffers stay full and
// handlers are held back by EventWritable (inline) or a blocking Write
// (detached). gnet has no "written out" event, so the adapter watches a
// blocked connection's socket for writability with an epoll set of its own
// (Linux), or polls it from its loop's timer (Server.WritePoll), until its
// buffer drains. A peer that stops reading cannot hold a connection for
// ever: one blocked for Server.WriteTimeout is closed, and one whose
// session is over (GOAWAY sent, or an error) is closed Server.CloseTimeout
// later whatever is still unwritten.
// Request bodies are credited to the peer only when a handler has used
// them (after its EventData callback returns, on Consume with
// SetManualConsume, or as a Detached handle reads), so a slow handler
// bounds what the peer may send to one stream window.
//
// # Not supported
//
// TLS and the HTTP/1.1 Upgrade to h2c; client connections (serve only);
// a stream-level io.Reader/io.Writer on the loop (inline handlers are
// event-driven by design); deadlines on Detached calls (a Write blocked by
// a peer that never opens its window waits for the connection's end).
package h2gnet
