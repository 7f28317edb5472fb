// Package nethttp connects h2proto to net/http: Server (and Adapt) serve
// any http.Handler over the h2proto runtime, and Transport is an
// http.RoundTripper that sends requests with the h2proto client. Both are
// HTTP/2 only (RFC 9113): there is no HTTP/1.1 fallback.
//
// # Server
//
//	srv := &nethttp.Server{Handler: mux} // h2c (prior knowledge, §3.3)
//	err := srv.Serve(l)                  // or set TLSConfig for ALPN "h2"
//
// or, with an h2.Server of one's own:
//
//	h := nethttp.Adapt(mux) // an h2.Handler; not for h2.Server.Inline
//
// Each request stream becomes an *http.Request (Method, URL and
// RequestURI from :path — the :authority for a CONNECT tunnel —, Host from
// :authority, Proto "HTTP/2.0", Header with split cookie fields joined as
// RFC 9113 §8.2.3 asks, ContentLength, a streamed Body, Trailer after the
// body's io.EOF, RemoteAddr, TLS) and the handler runs on the stream's
// goroutine. Its context ends when the client resets the stream, the
// connection ends, or the handler returns.
//
// The http.ResponseWriter behaves as net/http's HTTP/2 one: an implicit
// 200; the first 4 KiB held so that the Content-Type can be sniffed
// (http.DetectContentType) and a response complete at the handler's return
// leaves in one piece with a Content-Length; WriteHeader(1xx) sending an
// interim response; http.Flusher; trailers declared with the Trailer field
// or set under http.TrailerPrefix; a Date field; connection-specific fields
// removed (RFC 9113 §8.2.2); "Expect: 100-continue" answered when the
// handler first reads the body. http.ResponseController works:
// SetReadDeadline, SetWriteDeadline (the stream is reset with
// INTERNAL_ERROR at the deadline), EnableFullDuplex (always on). A panic
// resets the stream with INTERNAL_ERROR; http.ErrAbortHandler does so
// without a log line.
//
// Not supported: server push (http.Pusher), Hijack, HTTP/1.1 and the h2c
// Upgrade, "Connection: close" as a request to close the connection.
//
// # Client
//
// Transport is an http.RoundTripper over h2.Conn: https with ALPN "h2",
// http (h2c) when AllowHTTP is set; see its documentation.
package nethttp
