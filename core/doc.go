// Package core is h2proto's HTTP/2 protocol core (RFC 9113, with RFC 7541
// HPACK: its own encoder, golang.org/x/net/http2/hpack's decoder): a
// deterministic state machine with no I/O. Bytes, commands and the current time go in; bytes,
// events and the next deadline come out. It starts no goroutines, takes no
// locks, reads no clock and keeps no global mutable state, so the same
// inputs always give the same outputs — which is what makes simulation,
// fuzzing and replay of failures possible. A test (purity_test.go) enforces
// this.
//
// # Driving a Conn
//
// A runtime (package h2 does this over TCP and TLS; coretest.Pair in memory)
// owns one Conn per connection and loops:
//
//	c, _ := core.NewServer(now, core.Config{})
//	for {
//		// 1. Input: bytes read from the transport, or a passed deadline.
//		n, err := c.Receive(now, buf)     // may take fewer than len(buf)
//		c.HandleTimeout(now)              // when PollTimeout's deadline passes
//		// 2. Events, until none is left. Commands may be called here.
//		for e, ok := c.PollEvent(); ok; e, ok = c.PollEvent() { ... }
//		// 3. Output: write everything PollTransmit returns.
//		out = c.PollTransmit(out[:0])
//		// 4. Re-arm the one timer.
//		deadline, ok := c.PollTimeout()
//		// PhaseClosed: close the transport.
//	}
//
// Drain in that order after every input and every command, and poll events
// again after PollTransmit until both are empty: writing a stream's last
// DATA can end it, surface a waiting request, or close the connection, and
// those are events too. Time is only ever
// an argument: each input takes now, as do the commands that start a timer
// or measure one (Ping, GoAway, Close, UpdateSettings); other commands use
// the latest time the Conn was given.
//
// # Ownership and validity
//
// Event.Headers and Event.Data are borrowed. They may alias the slice given
// to Receive, or memory the Conn reuses, and are valid until the next call to
// Receive or HandleTimeout — and only while the caller leaves the slice it
// gave to Receive untouched. Copy what must live longer. Slices given to
// commands (header fields, data, bodies) are copied or encoded before the
// command returns; the caller may reuse them at once. PollTransmit appends to
// a caller-owned slice.
//
// # Streams and events
//
// Every stream the application knows of — opened with OpenStream, or
// announced by EventRequest — gets exactly one terminal event,
// EventStreamClosed or EventStreamReset, including when the connection ends
// — unless the application gives the stream up first with ReleaseStream,
// after which nothing more is reported for it.
// Stream state follows RFC 9113 §5.1, written as a transition table
// (state.go).
//
// A server counts each stream from EventRequest until the application is
// done with it: a normal end or the application's own ResetStream releases
// it, but a stream reset by the peer stays held until ReleaseStream. New
// requests beyond Config.MaxConcurrentStreams held streams wait, and are
// announced when a slot frees. This is the Rapid Reset defence (DESIGN §5):
// a peer cannot make the application start more work by resetting streams.
// A waiting request that ends first — reset by the peer, or by a stream
// error, answered with RST_STREAM as on any stream — is dropped without an
// event: the application never knew it.
//
// # Flow control
//
// Receive windows are returned automatically as data is delivered, in
// batches of a quarter window, unless the stream was opened with
// StreamOptions.ManualFlowControl: then only Consume returns credit, to the
// stream and to the connection, so the application bounds the bytes in
// flight. Sending is buffered: SendData copies into a per-stream buffer
// (Limits.StreamSendBuffer, Limits.ConnSendBuffer) and PollTransmit sends it
// as windows allow, one frame per stream per round.
//
// # Errors
//
// Bad input from the peer never panics and never fails the caller: a stream
// error resets one stream (RST_STREAM with the RFC's code, and an
// EventStreamReset whose Token names the rule), a connection error queues
// GOAWAY and ends the connection (Err returns a *ConnError with the code, a
// stable token and the RFC section). Abuse — a defence in Config.Limits
// firing — is a connection error with ENHANCE_YOUR_CALM and an EventAbuse
// naming the kind. Commands the state or the protocol forbids return an error
// (a sentinel such as ErrSendBufferFull, or a *MessageError for header fields
// breaking RFC 9113 §8) and send nothing.
package core
