// Package h3 gives HTTP/3 (RFC 9114) the client and server stream API of
// h2proto's HTTP/2 runtime (package h2), on top of quic-go's http3
// package, so that application code switches protocol by changing its
// constructors: h2.Dial becomes h3.Dial, h2.Server becomes h3.Server.
// Streams, events (core.Event), errors (*core.StreamError with the
// HTTP/2 code of the same meaning, core.ErrSendBufferFull, …) and the
// pull and push styles are the same.
//
// # Client
//
//	c, err := h3.Dial(ctx, "example.com:443", nil) // QUIC, TLS 1.3, ALPN h3
//	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h3.RequestOptions{EndStream: true})
//	resp, err := s.Response(ctx) // status, fields, 1xx before it
//	body, err := s.ReadAll()     // then s.Trailers()
//
// # Server
//
//	srv := &h3.Server{TLSConfig: cfg, Handler: h3.HandlerFunc(func(s *h3.Stream) {
//		_ = s.Respond(200, nil, []byte("hello\n"))
//	})}
//	err := srv.Serve(udpConn)
//
// # What differs
//
// quic-go's http3 is not sans-IO: it owns its goroutines and exposes
// net/http types. Where it cannot express an operation of the HTTP/2 API
// the adapter returns an error wrapping ErrNotSupported instead of
// behaving differently in silence: a client resets only with CANCEL (the
// adapter uses RoundTrip, which it needs for request trailers and 1xx);
// a server resets with any code before writing content, and only with
// CANCEL or INTERNAL_ERROR after; CONNECT and extended CONNECT are not
// mapped (a client gets ErrNotSupported, a server resets them with
// H3_REQUEST_REJECTED before its Handler sees them). A GOAWAY is not
// reported as an event (quic-go's client keeps it to itself): open streams
// finish and the connection then closes cleanly. Header fields arrive
// with lower-case names sorted by name (quic-go goes through http.Header,
// which keeps no order); quic-go adds content-length: 0 to a POST, PUT or
// PATCH sent without content. A server's response ends once it is ended
// and the request is over, or when the Handler returns (quic-go finishes
// a stream only when its http.Handler returns).
//
// A peer's reset is seen by reading: quic-go reports RESET_STREAM to the
// stream's reader, and the adapter stops reading while the stream holds
// ReceiveBuffer bytes the application has not taken (read, or with
// ManualConsume, consumed). The reset, and so Done and Err, then waits
// behind that content. A server sees a client's cancel at once when it
// stops the response too (STOP_SENDING, which quic-go's client sends).
// A client's stream may end (Done) before quic-go has written the
// request's trailers and FIN, which it does on its own goroutine: closing
// the Conn right then may cut them off. docs/adapters-h3.md has the whole
// mapping and the measured cost.
package h3
