// Package grpcinterop tests h2proto against grpc-go, the reference gRPC
// implementation, in both directions over loopback h2c (cleartext HTTP/2
// with prior knowledge, RFC 9113 §3.3, which grpc-go servers accept on
// plain TCP).
//
// gRPC over HTTP/2 (gRPC's PROTOCOL-HTTP2.md) is written here by hand on
// h2proto's stream API, without protobuf or generated code: messages are
// raw bytes, carried by grpc-go through Codec.
//
//   - Server is an h2.Handler answering gRPC calls: POST with
//     content-type application/grpc[+subtype], length-prefixed messages
//     (MessageReader, AppendMessage), the status in trailers
//     (grpc-status, a percent-encoded grpc-message) or, for a call that
//     fails before any message, as a trailers-only response; grpc-timeout
//     bounds the call's context.
//   - ClientStream (NewCall, Invoke) makes gRPC calls over an h2.Conn:
//     Send, CloseSend, Recv, and the status from trailers, a trailers-only
//     response, or the stream's reset.
//
// The tests drive Server with grpc-go's client (grpc.NewClient,
// cc.Invoke, cc.NewStream with hand-written grpc.StreamDesc) and
// ClientStream against grpc-go's server (grpc.NewServer with a
// hand-written grpc.ServiceDesc): unary, server-streaming, client
// streaming with half-close, bidi ping-pong on one stream, statuses,
// deadlines and cancellation as RST_STREAM(CANCEL), 1 MiB messages, and
// manual flow control (h2.RequestOptions.ManualConsume,
// h2.Server.ManualConsume) bounding the peer's in-flight bytes to the
// advertised window. docs/interop-grpc.md lists what is covered and what
// was found.
//
// Not supported: compression (a grpc-encoding other than identity is
// refused with UNIMPLEMENTED, a compressed message with INTERNAL), custom
// metadata, TLS, and everything of gRPC above the wire protocol (name
// resolution, load balancing, retries, reflection, health).
package grpcinterop
