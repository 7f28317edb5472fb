package frame

import (
	"testing"
)

// goldenWire returns the wire bytes of the named golden vector.
func goldenWire(tb testing.TB, name string) []byte {
	tb.Helper()
	for _, g := range goldens {
		if g.name == name {
			return g.wire
		}
	}
	tb.Fatalf("no golden %q", name)
	return nil
}

// Parse's zero-allocation assertions are in TestBug_ParseAllocates (bug_test.go).

func TestAppendZeroAllocs(t *testing.T) {
	data := make([]byte, 1024)
	frag := []byte{0x82, 0x86, 0x84, 0x41, 0x8a}
	buf := make([]byte, 0, 4096)
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"AppendData", func() { buf = AppendData(buf[:0], 1, true, data) }},
		{"AppendDataPadded", func() { buf = AppendDataPadded(buf[:0], 1, false, data, 255) }},
		{"AppendHeaders", func() {
			buf = AppendHeaders(buf[:0], HeadersParam{StreamID: 1, Fragment: frag, EndStream: true, EndHeaders: true})
		}},
		{"AppendHeaders padded+priority", func() {
			buf = AppendHeaders(buf[:0], HeadersParam{StreamID: 3, Fragment: frag, EndHeaders: true,
				Padded: true, PadLength: 17, HasPriority: true, Priority: Priority{StreamDep: 1, Exclusive: true, Weight: 9}})
		}},
		{"AppendSettings", func() {
			buf = AppendSettings(buf[:0], []Setting{{SettingMaxFrameSize, 1 << 20}, {SettingEnablePush, 0}})
		}},
		{"AppendWindowUpdate", func() { buf = AppendWindowUpdate(buf[:0], 0, 1<<20) }},
		{"AppendPing", func() { buf = AppendPing(buf[:0], true, [8]byte{1}) }},
	} {
		if a := testing.AllocsPerRun(200, tc.fn); a != 0 {
			t.Errorf("%s: %v allocs/op, want 0", tc.name, a)
		}
	}
}

// dataStream returns count DATA frames of size bytes each, back to back.
func dataStream(count, size int) []byte {
	payload := make([]byte, size)
	var b []byte
	for i := range count {
		b = AppendData(b, uint32(2*i+1), i%8 == 7, payload)
	}
	return b
}

func BenchmarkParseData(b *testing.B) {
	const count = 1000
	stream := dataStream(count, 32)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		p := stream
		for len(p) > 0 {
			f, n, err := Parse(p, MinMaxFrameSize)
			if err != nil || f.Type != TypeData {
				b.Fatalf("Parse: %v", err)
			}
			p = p[n:]
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*count), "ns/frame")
}

func BenchmarkParseHeaders(b *testing.B) {
	wire := goldenWire(b, "HEADERS PADDED|PRIORITY")
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		f, _, err := Parse(wire, MinMaxFrameSize)
		if err != nil || !f.HasPriority {
			b.Fatalf("Parse: %v", err)
		}
	}
}

func BenchmarkAppendData(b *testing.B) {
	data := make([]byte, 1024)
	buf := make([]byte, 0, HeaderLen+len(data))
	b.SetBytes(int64(HeaderLen + len(data)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendData(buf[:0], 1, false, data)
	}
}
