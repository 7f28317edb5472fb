package coretest

import (
	"bytes"

	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// FrameBuilder makes wire frames for tests, legal or not. It owns an HPACK
// encoder, so the field blocks it builds form one consistent sequence: use
// one FrameBuilder per connection, in wire order.
type FrameBuilder struct {
	enc *hpack.Encoder
	buf bytes.Buffer
}

// NewFrameBuilder returns a builder with a fresh HPACK encoder.
func NewFrameBuilder() *FrameBuilder {
	b := &FrameBuilder{}
	b.enc = hpack.NewEncoder(&b.buf)
	return b
}

// Encoder exposes the builder's HPACK encoder, e.g. to change its table size.
func (b *FrameBuilder) Encoder() *hpack.Encoder { return b.enc }

// Block HPACK-encodes name/value pairs into a field block. Names are used
// verbatim, so tests can send uppercase or malformed names.
func (b *FrameBuilder) Block(kv ...string) []byte {
	if len(kv)%2 != 0 {
		panic("coretest: Block needs name/value pairs")
	}
	b.buf.Reset()
	for i := 0; i < len(kv); i += 2 {
		_ = b.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), b.buf.Bytes()...)
}

// Flags for Headers.
const (
	EndStream  = frame.FlagHeadersEndStream
	EndHeaders = frame.FlagHeadersEndHeaders
)

// Headers returns a HEADERS frame on stream id with the given flags
// (EndStream, EndHeaders) carrying the encoded name/value pairs.
func (b *FrameBuilder) Headers(id uint32, flags frame.Flags, kv ...string) []byte {
	return b.HeadersBlock(id, flags, b.Block(kv...))
}

// HeadersBlock returns a HEADERS frame carrying an already encoded fragment.
func (b *FrameBuilder) HeadersBlock(id uint32, flags frame.Flags, fragment []byte) []byte {
	return frame.AppendHeaders(nil, frame.HeadersParam{
		StreamID: id, Fragment: fragment,
		EndStream: flags.Has(EndStream), EndHeaders: flags.Has(EndHeaders),
	})
}

// Request is the field list of a plain request, for Headers.
func Request(method, path string, extra ...string) []string {
	kv := []string{":method", method, ":scheme", "https", ":authority", "example.com", ":path", path}
	return append(kv, extra...)
}

// GET returns HEADERS(END_STREAM|END_HEADERS) for GET path on stream id.
func (b *FrameBuilder) GET(id uint32, path string) []byte {
	return b.Headers(id, EndStream|EndHeaders, Request("GET", path)...)
}

// Response is the field list of a response, for Headers.
func Response(status string, extra ...string) []string {
	return append([]string{":status", status}, extra...)
}

// Continuation returns a CONTINUATION frame.
func (b *FrameBuilder) Continuation(id uint32, end bool, fragment []byte) []byte {
	return frame.AppendContinuation(nil, id, end, fragment)
}

// Data returns a DATA frame.
func (b *FrameBuilder) Data(id uint32, end bool, data []byte) []byte {
	return frame.AppendData(nil, id, end, data)
}

// DataPadded returns a DATA frame with padLen octets of padding.
func (b *FrameBuilder) DataPadded(id uint32, end bool, data []byte, padLen uint8) []byte {
	return frame.AppendDataPadded(nil, id, end, data, padLen)
}

// Settings returns a SETTINGS frame.
func (b *FrameBuilder) Settings(s ...frame.Setting) []byte {
	return frame.AppendSettings(nil, s)
}

// SettingsAck returns a SETTINGS frame with ACK.
func (b *FrameBuilder) SettingsAck() []byte { return frame.AppendSettingsAck(nil) }

// Ping returns a PING frame.
func (b *FrameBuilder) Ping(ack bool, data [8]byte) []byte { return frame.AppendPing(nil, ack, data) }

// RST returns a RST_STREAM frame.
func (b *FrameBuilder) RST(id uint32, code frame.ErrCode) []byte {
	return frame.AppendRSTStream(nil, id, code)
}

// WindowUpdate returns a WINDOW_UPDATE frame.
func (b *FrameBuilder) WindowUpdate(id, inc uint32) []byte {
	return frame.AppendWindowUpdate(nil, id, inc)
}

// GoAway returns a GOAWAY frame.
func (b *FrameBuilder) GoAway(last uint32, code frame.ErrCode, debug string) []byte {
	return frame.AppendGoAway(nil, last, code, []byte(debug))
}

// Priority returns a PRIORITY frame.
func (b *FrameBuilder) Priority(id, dep uint32, exclusive bool, weight uint8) []byte {
	return frame.AppendPriority(nil, id, frame.Priority{StreamDep: dep, Exclusive: exclusive, Weight: weight})
}

// Raw returns a frame with arbitrary header fields and payload.
func (b *FrameBuilder) Raw(t frame.Type, flags frame.Flags, id uint32, payload []byte) []byte {
	return frame.AppendRaw(nil, t, flags, id, payload)
}
