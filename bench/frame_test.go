package bench

import (
	"bytes"
	"testing"

	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// dataStream is count DATA frames of size bytes each, on odd streams.
func dataStream(count, size int) []byte {
	payload := bytes.Repeat([]byte{'x'}, size)
	var b []byte
	for i := 0; i < count; i++ {
		b = frame.AppendData(b, uint32(2*(i%100)+1), false, payload)
	}
	return b
}

// headersStream is count HEADERS frames, each one a typical request's
// field block encoded with a warm HPACK table (mostly indexed fields).
func headersStream(count int) []byte {
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	var b []byte
	for i := 0; i < count; i++ {
		blk.Reset()
		for _, f := range typicalRequest {
			_ = enc.WriteField(f)
		}
		b = frame.AppendHeaders(b, frame.HeadersParam{StreamID: uint32(2*i + 1), Fragment: blk.Bytes(), EndStream: true, EndHeaders: true})
	}
	return b
}

// benchParse parses every frame of stream, once per iteration, with
// h2proto's frame.Parse and with x/net's http2.Framer.
func benchParse(b *testing.B, stream []byte, count int, want frame.Type) {
	b.Run("impl=h2proto", func(b *testing.B) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for b.Loop() {
			for p := stream; len(p) > 0; {
				f, n, err := frame.Parse(p, frame.MinMaxFrameSize)
				if err != nil || f.Type != want {
					b.Fatalf("Parse: %v", err)
				}
				p = p[n:]
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*count), "ns/frame")
	})
	b.Run("impl=xnet", func(b *testing.B) {
		r := bytes.NewReader(stream)
		fr := http2.NewFramer(nil, r)
		fr.SetReuseFrames() // x/net's own fast path: no allocation per frame
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(stream)
			for i := 0; i < count; i++ {
				f, err := fr.ReadFrame()
				if err != nil || f.Header().Type != http2.FrameType(want) {
					b.Fatalf("ReadFrame: %v", err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*count), "ns/frame")
	})
}

// BenchmarkParseSmallData: a stream of 1,000 DATA frames of 32 bytes.
func BenchmarkParseSmallData(b *testing.B) {
	benchParse(b, dataStream(1000, 32), 1000, frame.TypeData)
}

// BenchmarkParseHeaders: a stream of 1,000 HEADERS frames (the frames
// only; decoding the field blocks is HPACK's part).
func BenchmarkParseHeaders(b *testing.B) {
	benchParse(b, headersStream(1000), 1000, frame.TypeHeaders)
}
