// Package frame is the HTTP/2 wire codec of RFC 9113 §4 and §6: a parser for
// the ten frame types (plus unknown types, which are returned for the caller
// to ignore, RFC 9113 §4.1 and §5.5) and append-style encoders.
//
// The package is pure: it uses the standard library only, performs no I/O and
// keeps no state. It is the bottom layer of h2proto; package core builds the
// connection state machine on top of it.
//
// # Parsing
//
// [Parse] reads one frame from the front of a byte slice:
//
//	f, n, err := frame.Parse(buf, maxFrameSize)
//	switch {
//	case err == frame.ErrNeedMore: // read more bytes and call again
//	case err != nil:               // *frame.Error: malformed frame
//	default:                       // use f, then buf = buf[n:]
//	}
//
// "Need more bytes" ([ErrNeedMore]) is distinct from "malformed" (an
// [*Error], which carries the RFC error code, whether it is a stream or a
// connection error, a stable token and the RFC section). A frame whose
// declared length exceeds maxFrameSize is reported as soon as its 9-byte
// header is available, so that a peer cannot make the caller buffer a frame
// it will reject anyway.
//
// Slices in a parsed [Frame] alias the input: they are valid only as long as
// the input is. Parse performs no allocation.
//
// Validation here is the part that needs no connection context: stream-0
// rules, fixed lengths, padding bounds, PRIORITY self-dependency, SETTINGS
// payload shape and setting values ([Setting.Valid]). Rules that depend on
// connection or stream state (stream states, flow control, header-block
// contiguity) belong to package core.
//
// # Encoding
//
// Every frame type has an Append function that appends the encoded frame to
// a caller-owned slice and returns the extended slice, in the style of
// strconv.AppendInt. Encoders do not validate their arguments beyond what is
// needed to produce a well-formed header; they exist so that the core, tests
// and tools can produce exact bytes (including illegal ones, on purpose).
package frame
