package core

import "golang.org/x/net/http2/hpack"

// encoder is the core's HPACK encoder (RFC 7541). Decoding stays with
// golang.org/x/net/http2/hpack, whose decoder is strict and well fuzzed;
// its Encoder is not used because it finds each field through up to four
// string-keyed map lookups (static and dynamic table, name+value then
// name), which cost a third of a whole request round trip through two
// cores (docs/benchmarks.md). Here the static table is a switch and the
// dynamic table, at most MaxEncoderTableSize/32 entries (128 by default),
// is scanned newest first. Huffman coding is x/net's.
//
// The encoder keeps references to the strings it indexes, as any HPACK
// encoder must; HeaderField strings are immutable, so that is safe.
type encoder struct {
	ring  []encEntry // the dynamic table, a ring; len(ring) is its capacity
	first int        // ring index of the oldest entry
	n     int        // entries in the table
	size  uint32     // RFC 7541 §4.1 size of the entries
	max   uint32     // the table's maximum size, as last signalled to the peer

	limit uint32 // our own cap on max (Config.MaxEncoderTableSize)

	// A size update is owed at the start of the next field block (RFC 7541
	// §4.2): the smallest size the table went through, then the final one.
	update    bool
	minUpdate uint32
}

type encEntry struct{ name, value string }

// newEncoder returns an encoder whose table starts at 4096 bytes, the
// RFC 9113 §6.5.2 initial SETTINGS_HEADER_TABLE_SIZE, capped by limit.
func newEncoder(limit uint32) encoder {
	e := encoder{limit: limit, max: min(4096, limit)}
	if e.max < 4096 {
		// The peer's decoder starts at 4096: tell it the smaller size.
		e.update, e.minUpdate = true, e.max
	}
	return e
}

// setMaxSize applies a new SETTINGS_HEADER_TABLE_SIZE from the peer (RFC
// 7541 §4.2, RFC 9113 §6.5.2), capped by our limit, and evicts what no
// longer fits. The next block starts with a size update even when the
// capped size is unchanged: a decoder that lowered its setting may demand
// one (this core's does), and an update is always allowed.
func (e *encoder) setMaxSize(v uint32) {
	v = min(v, e.limit)
	if !e.update || v < e.minUpdate {
		e.minUpdate = v
	}
	e.update = true
	e.max = v
	e.evict(0)
}

// appendField appends the representation of f to dst (RFC 7541 §6).
func (e *encoder) appendField(dst []byte, f *HeaderField) []byte {
	if e.update {
		e.update = false
		if e.minUpdate < e.max {
			dst = appendHpackInt(dst, 0x20, 5, uint64(e.minUpdate))
		}
		dst = appendHpackInt(dst, 0x20, 5, uint64(e.max))
	}
	idx, full := staticIndex(f.Name, f.Value)
	if !full || f.Sensitive {
		di, dfull := e.search(f.Name, f.Value)
		switch {
		case dfull && !f.Sensitive:
			idx, full = di, true
		case idx == 0:
			idx = di
		}
	}
	if full && !f.Sensitive {
		return appendHpackInt(dst, 0x80, 7, uint64(idx))
	}
	var first byte
	var prefix uint8
	switch {
	case f.Sensitive || neverIndex(f):
		first, prefix = 0x10, 4 // literal never indexed, §6.2.3
	case e.shouldIndex(f):
		first, prefix = 0x40, 6 // literal with incremental indexing, §6.2.1
		e.add(f.Name, f.Value)
	default:
		first, prefix = 0x00, 4 // literal without indexing, §6.2.2
	}
	dst = appendHpackInt(dst, first, prefix, uint64(idx))
	if idx == 0 {
		dst = appendString(dst, f.Name)
	}
	return appendString(dst, f.Value)
}

// search finds f in the dynamic table, newest first: the index of an entry
// with the same name and value (full), else of the newest with the same
// name, else 0. Dynamic indices follow the 61 static ones (RFC 7541 §2.3.3).
func (e *encoder) search(name, value string) (idx uint32, full bool) {
	for i := 0; i < e.n; i++ {
		ent := &e.ring[(e.first+e.n-1-i)&(len(e.ring)-1)]
		if ent.name != name {
			continue
		}
		if ent.value == value {
			return uint32(62 + i), true
		}
		if idx == 0 {
			idx = uint32(62 + i)
		}
	}
	return idx, false
}

// shouldIndex says whether f goes into the dynamic table: any field but
// one of more than three quarters of the table, which would flush it for
// one field. Values that change with every message churn the table, but
// indexing them costs little, and a repeated value then costs the peer
// neither bytes nor a decoded string.
func (e *encoder) shouldIndex(f *HeaderField) bool {
	return uint64(len(f.Name))+uint64(len(f.Value))+32 <= uint64(e.max)*3/4
}

// neverIndex marks values an attacker who shares the connection could
// recover by guessing against the compression state, as RFC 7541 §7.1.3
// warns: credentials and short cookies get the never-indexed literal, which
// intermediaries must forward as such.
func neverIndex(f *HeaderField) bool {
	switch f.Name {
	case "authorization", "proxy-authorization":
		return true
	case "cookie":
		return len(f.Value) < 20
	}
	return false
}

// add inserts an entry at the front of the dynamic table (RFC 7541 §4.4).
func (e *encoder) add(name, value string) {
	sz := uint32(len(name) + len(value) + 32)
	e.evict(sz)
	if sz > e.max {
		return // §4.4: the table is now empty and the entry is not added
	}
	if e.n == len(e.ring) {
		e.grow()
	}
	e.ring[(e.first+e.n)&(len(e.ring)-1)] = encEntry{name, value}
	e.n++
	e.size += sz
}

// evict drops the oldest entries until room more bytes fit under max.
func (e *encoder) evict(room uint32) {
	for e.n > 0 && uint64(e.size)+uint64(room) > uint64(e.max) {
		old := &e.ring[e.first]
		e.size -= uint32(len(old.name) + len(old.value) + 32)
		*old = encEntry{}
		e.first = (e.first + 1) & (len(e.ring) - 1)
		e.n--
	}
}

// grow doubles the ring, which the table's byte bound keeps small: at most
// max/32 entries. Its length is a power of two, so positions wrap with a
// mask.
func (e *encoder) grow() {
	ring := make([]encEntry, max(8, 2*len(e.ring)))
	for i := 0; i < e.n; i++ {
		ring[i] = e.ring[(e.first+i)&(len(e.ring)-1)]
	}
	e.ring, e.first = ring, 0
}

// appendHpackInt appends an integer with an n-bit prefix whose other bits are
// first's (RFC 7541 §5.1).
func appendHpackInt(dst []byte, first byte, n uint8, v uint64) []byte {
	k := uint64(1)<<n - 1
	if v < k {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(k))
	for v -= k; v >= 128; v >>= 7 {
		dst = append(dst, byte(v)|0x80)
	}
	return append(dst, byte(v))
}

// appendString appends a string literal (RFC 7541 §5.2), Huffman-coded
// when that is shorter.
func appendString(dst []byte, s string) []byte {
	if h := hpack.HuffmanEncodeLength(s); h < uint64(len(s)) {
		dst = appendHpackInt(dst, 0x80, 7, h)
		return hpack.AppendHuffmanString(dst, s)
	}
	dst = appendHpackInt(dst, 0, 7, uint64(len(s)))
	return append(dst, s...)
}
