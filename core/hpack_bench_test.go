package core

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// This file lives in package core because the HPACK glue it measures
// (appendFieldBlock, feedBlock, onField) is unexported. Each benchmark
// compares the core's path with golang.org/x/net/http2/hpack used directly,
// the way x/net's http2 uses it. The core decodes with x/net's Decoder, so
// decoding measures the glue's cost (the field accounting and the size
// update checks); it encodes with its own encoder (hpack_enc.go), and the
// h2proto encode figure includes the HEADERS frame the block goes out in.
//
// "cold" starts every operation with a fresh encoder or decoder (an empty
// dynamic table: a connection's first request); "warm" reuses one, so the
// fields are found in the dynamic table (every later request).

// hpackRequest is a typical browser request's header set.
var hpackRequest = []HeaderField{
	{Name: ":method", Value: "GET"},
	{Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "www.example.com"},
	{Name: ":path", Value: "/static/js/app.3f9c1b.js"},
	{Name: "user-agent", Value: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
	{Name: "accept", Value: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
	{Name: "accept-encoding", Value: "gzip, deflate, br, zstd"},
	{Name: "accept-language", Value: "en-US,en;q=0.5"},
	{Name: "cookie", Value: "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark"},
}

// hpackConn returns a Conn whose HPACK state is as a new connection's.
func hpackConn(b *testing.B, role Role) *Conn {
	c, err := newConn(time.Unix(0, 0), role, Config{})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// freshDecoder repeats newConn's construction of the decoder.
func freshDecoder(c *Conn) {
	c.dec = hpack.NewDecoder(InitialSettings().HeaderTableSize, c.onField)
	c.dec.SetMaxStringLength(2 * c.cfg.Limits.MaxHeaderBlockSize)
}

// decodeBlock feeds a field block through the core's receive path
// (feedBlock) as the complete fragment of a HEADERS frame, with the fields
// collected as for a request but not dispatched. The decoded fields are
// returned from the scratch space feedBlock leaves behind; they are valid
// until the next call.
func decodeBlock(c *Conn, block []byte) []HeaderField {
	c.hb = headerBlock{active: true, streamID: 1, action: actIgnore, collect: true, start: len(c.hdrs)}
	c.dec.SetEmitEnabled(true)
	c.feedBlock(block, true)
	return c.hdrs[:min(len(hpackRequest), cap(c.hdrs))]
}

// xnetEncoder is x/net's way: an hpack.Encoder writing into a reused
// bytes.Buffer.
type xnetEncoder struct {
	buf bytes.Buffer
	enc *hpack.Encoder
}

func newXnetEncoder() *xnetEncoder {
	e := &xnetEncoder{}
	e.enc = hpack.NewEncoder(&e.buf)
	return e
}

func (e *xnetEncoder) encode(fields []HeaderField) []byte {
	e.buf.Reset()
	for _, f := range fields {
		_ = e.enc.WriteField(f)
	}
	return e.buf.Bytes()
}

// xnetDecoder is x/net's way: SetEmitFunc collecting the fields, then Write
// and Close per block.
type xnetDecoder struct {
	dec    *hpack.Decoder
	fields []HeaderField
}

func newXnetDecoder() *xnetDecoder {
	d := &xnetDecoder{}
	d.fresh()
	return d
}

// fresh replaces the decoder, keeping the fields' space.
func (d *xnetDecoder) fresh() {
	d.dec = hpack.NewDecoder(4096, nil)
	d.dec.SetMaxStringLength(64 << 10)
	d.dec.SetEmitFunc(func(f HeaderField) { d.fields = append(d.fields, f) })
}

func (d *xnetDecoder) decode(block []byte) ([]HeaderField, error) {
	d.fields = d.fields[:0]
	if _, err := d.dec.Write(block); err != nil {
		return nil, err
	}
	return d.fields, d.dec.Close()
}

// hpackBlocks returns the request encoded by a fresh encoder (cold: literals
// that enter the dynamic table) and then again by the same encoder (warm:
// indexed fields only).
func hpackBlocks() (cold, warm []byte) {
	e := newXnetEncoder()
	cold = bytes.Clone(e.encode(hpackRequest))
	warm = bytes.Clone(e.encode(hpackRequest))
	return cold, warm
}

// BenchmarkHPACKEncode encodes the request's field block.
func BenchmarkHPACKEncode(b *testing.B) {
	for _, cold := range []bool{true, false} {
		name := map[bool]string{true: "table=cold", false: "table=warm"}[cold]
		b.Run(name, func(b *testing.B) {
			b.Run("impl=h2proto", func(b *testing.B) {
				c := hpackConn(b, RoleClient)
				// A copy of a new connection's encoder (a value): an empty
				// table. benchEncode fails if restoring it did not reset.
				fresh := c.enc
				var dst []byte
				benchEncode(b, cold, func() []byte {
					if cold {
						c.enc = fresh
					}
					dst = c.appendFieldBlock(dst[:0], 1, 0, hpackRequest, -1, true)
					f, _, err := frame.Parse(dst, frame.MinMaxFrameSize)
					if err != nil {
						b.Fatal(err)
					}
					return f.Data
				})
			})
			b.Run("impl=xnet", func(b *testing.B) {
				e := newXnetEncoder()
				benchEncode(b, cold, func() []byte {
					if cold {
						e.enc = hpack.NewEncoder(&e.buf)
					}
					return e.encode(hpackRequest)
				})
			})
		})
	}
}

// benchEncode checks that two encodes decode to the request with one
// decoder, that cold ones are alike and warm ones shorter (the dynamic
// table is empty, or used), then times encode.
func benchEncode(b *testing.B, cold bool, encode func() []byte) {
	d := newXnetDecoder()
	var blocks [2][]byte
	for i := range blocks {
		blocks[i] = bytes.Clone(encode())
		if got, err := d.decode(blocks[i]); err != nil || !slices.Equal(got, hpackRequest) {
			b.Fatalf("block %d decoded to %v (%v), want %v", i, got, err, hpackRequest)
		}
	}
	if cold != bytes.Equal(blocks[0], blocks[1]) || len(blocks[1]) > len(blocks[0]) {
		b.Fatalf("cold %v, but blocks %x then %x", cold, blocks[0], blocks[1])
	}
	b.ReportAllocs()
	for b.Loop() {
		encode()
	}
}

// BenchmarkHPACKDecode decodes the request's field block: cold decodes the
// first request's block with a fresh decoder; warm decodes a later
// request's block (all indexed) with a decoder that has seen the first.
func BenchmarkHPACKDecode(b *testing.B) {
	cold, warm := hpackBlocks()
	b.Run("table=cold", func(b *testing.B) {
		b.Run("impl=h2proto", func(b *testing.B) {
			c := hpackConn(b, RoleServer)
			benchDecode(b, func() ([]HeaderField, error) {
				freshDecoder(c)
				return decodeBlock(c, cold), c.Err()
			})
		})
		b.Run("impl=xnet", func(b *testing.B) {
			d := newXnetDecoder()
			benchDecode(b, func() ([]HeaderField, error) {
				d.fresh()
				return d.decode(cold)
			})
		})
	})
	b.Run("table=warm", func(b *testing.B) {
		b.Run("impl=h2proto", func(b *testing.B) {
			c := hpackConn(b, RoleServer)
			decodeBlock(c, cold)
			clear(c.hdrs[:cap(c.hdrs)]) // so the check below sees the warm block's fields
			benchDecode(b, func() ([]HeaderField, error) {
				return decodeBlock(c, warm), c.Err()
			})
		})
		b.Run("impl=xnet", func(b *testing.B) {
			d := newXnetDecoder()
			if _, err := d.decode(cold); err != nil {
				b.Fatal(err)
			}
			benchDecode(b, func() ([]HeaderField, error) { return d.decode(warm) })
		})
	})
}

// benchDecode checks one decode, then times decode.
func benchDecode(b *testing.B, decode func() ([]HeaderField, error)) {
	if got, err := decode(); err != nil || !slices.Equal(got, hpackRequest) {
		b.Fatalf("decoded %v (%v), want %v", got, err, hpackRequest)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = decode()
	}
}
