package core

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
	"pgregory.net/rapid"
)

// TestStaticIndexMatchesRFC7541 checks the static-table switch against
// x/net's decoder, entry by entry: every entry is found by name and value,
// and by name at the first entry that has it (RFC 7541 Appendix A).
func TestStaticIndexMatchesRFC7541(t *testing.T) {
	firstByName := map[string]uint32{}
	for i := uint32(1); i <= 61; i++ {
		fs, err := hpack.NewDecoder(4096, nil).DecodeFull([]byte{0x80 | byte(i)})
		if err != nil || len(fs) != 1 {
			t.Fatalf("static entry %d: %v %v", i, fs, err)
		}
		f := fs[0]
		if _, ok := firstByName[f.Name]; !ok {
			firstByName[f.Name] = i
		}
		if idx, full := staticIndex(f.Name, f.Value); idx != i || !full {
			t.Errorf("staticIndex(%q, %q) = %d, %v; want %d, true", f.Name, f.Value, idx, full, i)
		}
		if idx, full := staticIndex(f.Name, f.Value+"x"); idx != firstByName[f.Name] || full {
			t.Errorf("staticIndex(%q, %q) = %d, %v; want %d, false", f.Name, f.Value+"x", idx, full, firstByName[f.Name])
		}
	}
	if idx, full := staticIndex("x-custom", ""); idx != 0 || full {
		t.Errorf("staticIndex(x-custom) = %d, %v; want 0, false", idx, full)
	}
}

// encDecPair is an encoder and the decoder at the other end of the
// connection, decoding as the core does: leading size updates applied
// before x/net's decoder sees the block.
type encDecPair struct {
	enc    encoder
	dec    *hpack.Decoder
	fields []HeaderField
	buf    []byte
}

func newEncDecPair(limit uint32) *encDecPair {
	p := &encDecPair{enc: newEncoder(limit)}
	p.dec = hpack.NewDecoder(4096, func(f HeaderField) { p.fields = append(p.fields, f) })
	return p
}

// setting is the decoder side advertising SETTINGS_HEADER_TABLE_SIZE v and
// the encoder side applying it.
func (p *encDecPair) setting(v uint32) {
	p.dec.SetAllowedMaxDynamicTableSize(v)
	p.enc.setMaxSize(v)
}

func (p *encDecPair) roundTrip(in []HeaderField) ([]HeaderField, error) {
	p.buf = p.buf[:0]
	for i := range in {
		p.buf = p.enc.appendField(p.buf, &in[i])
	}
	b := p.buf
	for len(b) > 0 && b[0]&0xe0 == 0x20 {
		v, n := readSizeUpdate(b)
		if n == 0 {
			return nil, fmt.Errorf("cut size update % x", b)
		}
		p.dec.SetMaxDynamicTableSize(uint32(v))
		b = b[n:]
	}
	p.fields = p.fields[:0]
	if _, err := p.dec.Write(b); err != nil {
		return nil, err
	}
	if err := p.dec.Close(); err != nil {
		return nil, err
	}
	return p.fields, nil
}

// TestEncoderDecodesWithXNet drives the encoder with random field
// sections, sensitive fields and table size changes (several between two
// blocks, down and up, RFC 7541 §4.2) and decodes each block with x/net's
// decoder: the fields must come back exactly, credentials marked never
// indexed, and the table must stay within its limit.
func TestEncoderDecodesWithXNet(t *testing.T) {
	names := []string{":method", ":path", ":status", ":authority", "content-type",
		"x-a", "x-bb", "cookie", "authorization", "user-agent", "accept-encoding", "date"}
	values := []string{"", "GET", "/", "200", "gzip, deflate", "v", "a longer value that Huffman codes",
		strings.Repeat("z", 300), strings.Repeat("y", 5000), "\x00\xff binary"}
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.SampledFrom([]uint32{0, 64, 256, 4096, 65536}).Draw(t, "limit")
		p := newEncDecPair(limit)
		for range rapid.IntRange(1, 30).Draw(t, "blocks") {
			for range rapid.IntRange(0, 2).Draw(t, "settings") {
				p.setting(rapid.SampledFrom([]uint32{0, 1, 40, 100, 4096, 8192, 1 << 20}).Draw(t, "size"))
			}
			in := make([]HeaderField, rapid.IntRange(0, 12).Draw(t, "fields"))
			for i := range in {
				in[i] = HeaderField{
					Name:      rapid.SampledFrom(names).Draw(t, "name"),
					Value:     rapid.SampledFrom(values).Draw(t, "value"),
					Sensitive: rapid.IntRange(0, 9).Draw(t, "sensitive") == 0,
				}
			}
			out, err := p.roundTrip(in)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(out) != len(in) {
				t.Fatalf("decoded %d fields, want %d", len(out), len(in))
			}
			for i := range in {
				f := in[i]
				// An exact static-table match is sent as its index,
				// which reveals nothing.
				_, static := staticIndex(f.Name, f.Value)
				wantSensitive := f.Sensitive || (neverIndex(&f) && !static)
				if out[i].Name != f.Name || out[i].Value != f.Value || out[i].Sensitive != wantSensitive {
					t.Fatalf("field %d: got %+v, want %+v (sensitive %v)", i, out[i], f, wantSensitive)
				}
			}
			if p.enc.size > p.enc.max || p.enc.max > limit {
				t.Fatalf("table size %d, max %d, limit %d", p.enc.size, p.enc.max, limit)
			}
		}
	})
}

// TestEncoderIndexes: a repeated field costs one byte the second time, and
// an entry of more than three quarters of the table is not indexed.
func TestEncoderIndexes(t *testing.T) {
	p := newEncDecPair(4096)
	f := []HeaderField{{Name: "x-custom", Value: "some value"}}
	if _, err := p.roundTrip(f); err != nil {
		t.Fatal(err)
	}
	if _, err := p.roundTrip(f); err != nil || len(p.buf) != 1 || p.buf[0] != 0x80|62 {
		t.Fatalf("second encoding % x (%v), want the dynamic index 62", p.buf, err)
	}
	big := []HeaderField{{Name: "x-big", Value: strings.Repeat("b", 3072-32-5+1)}}
	for range 2 {
		if _, err := p.roundTrip(big); err != nil {
			t.Fatal(err)
		}
	}
	if p.buf[0] != 0x00 || p.enc.n != 1 {
		t.Fatalf("an entry just over 3/4 of the table: first byte %#x, %d entries; want a literal without indexing and 1 entry", p.buf[0], p.enc.n)
	}
}

// TestEncoderSizeUpdates: a lower limit than the initial 4096 is
// signalled in the first block; a drop and a rise between two blocks are
// signalled as the smallest size, then the final one (RFC 7541 §4.2).
func TestEncoderSizeUpdates(t *testing.T) {
	e := newEncoder(100)
	if got := e.appendField(nil, &HeaderField{Name: ":method", Value: "GET"}); string(got) != "\x3f\x45\x82" {
		t.Fatalf("first block % x, want a size update to 100 then GET", got)
	}
	e = newEncoder(4096)
	e.setMaxSize(0)
	e.setMaxSize(4096)
	if got := e.appendField(nil, &HeaderField{Name: ":method", Value: "GET"}); string(got) != "\x20\x3f\xe1\x1f\x82" {
		t.Fatalf("block after 0 then 4096: % x, want updates to 0 and 4096, then GET", got)
	}
	e.setMaxSize(100)
	e.setMaxSize(40)
	e.setMaxSize(4096)
	if got := e.appendField(nil, &HeaderField{Name: ":method", Value: "GET"}); string(got) != "\x3f\x09\x3f\xe1\x1f\x82" {
		t.Fatalf("block after 100, 40, then 4096: % x, want updates to 40 and 4096, then GET", got)
	}
	if got := e.appendField(nil, &HeaderField{Name: ":method", Value: "GET"}); string(got) != "\x82" {
		t.Fatalf("second block: % x, want no size update", got)
	}
}

func BenchmarkEncoderRequest(b *testing.B) {
	fs := []HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/index"},
		{Name: "user-agent", Value: "h2proto-bench"}, {Name: "accept", Value: "*/*"},
	}
	e := newEncoder(4096)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range fs {
			buf = e.appendField(buf, &fs[i])
		}
	}
}
