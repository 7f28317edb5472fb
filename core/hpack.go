package core

import (
	"math"

	"github.com/h2proto/h2/core/frame"
)

// hpackState carries what the x/net decoder does not enforce by itself: the
// dynamic table size update that RFC 7541 §4.2 requires at the start of the
// first field block after the peer acknowledges a smaller
// SETTINGS_HEADER_TABLE_SIZE.
type hpackState struct {
	allowed    uint32 // the decoder's allowed maximum table size
	needUpdate bool   // the next field block must start with a size update
	minSeen    uint32 // smallest size update seen since we last lowered the size
}

// headerBlock is the field block being received: a HEADERS frame and the
// CONTINUATION frames that complete it (RFC 9113 §4.3, §6.10). Fragments are
// decoded as they arrive; only decoded fields are kept.
type headerBlock struct {
	active    bool // CONTINUATION expected
	streamID  uint32
	endStream bool
	action    blockAction
	streamErr *frame.Error // for actStreamError
	newStream bool         // for actStreamError: the HEADERS opened the stream

	continuations int
	size          int      // encoded bytes so far
	listSize      int64    // decoded size, name + value + 32 per field
	tooLarge      bool     // listSize passed the limit; fields are dropped
	collect       bool     // keep the decoded fields
	start         int      // index of the block's first field in Conn.hdrs
	sawFirst      bool     // a byte past the leading size updates was seen
	upd           [10]byte // the start of a leading size update a fragment cut
	updLen        int
}

// blockAction is what a complete field block will do.
type blockAction uint8

const (
	actIgnore      blockAction = iota // decode for HPACK state only
	actRequest                        // server: a new stream
	actResponse                       // client: 1xx or final response
	actTrailers                       // trailer section
	actStreamError                    // decode, then reset the stream
	actRefuse                         // decode without keeping fields, then REFUSED_STREAM
)

// onField is the decoder's emit callback: it accounts every field against
// SETTINGS_MAX_HEADER_LIST_SIZE while decoding (RFC 7541 §4.1 sizes) and
// stops keeping fields once the limit is passed, so a small block cannot
// expand into a huge list in memory.
func (c *Conn) onField(f HeaderField) {
	hb := &c.hb
	hb.listSize += int64(len(f.Name)+len(f.Value)) + 32
	if hb.listSize > int64(c.recvMaxList) {
		hb.tooLarge = true
		c.dec.SetEmitEnabled(false)
		return
	}
	c.hdrs = append(c.hdrs, f)
}

// applySizeUpdates applies the dynamic table size updates at the start of
// a field block (RFC 7541 §4.2, §6.3) before the decoder sees the block, and
// returns how many bytes of the fragment p they took. §4.2 lets an encoder
// signal the smallest size it went through and then the final one, but the
// x/net decoder accepts a second update only while its table is empty;
// applying them here keeps such blocks decodable. Fragments may cut the
// block anywhere (RFC 9113 §4.3), so an update cut by the end of p is kept
// in the headerBlock and completed by the next fragment.
func (c *Conn) applySizeUpdates(p []byte) (int, *frame.Error) {
	hb := &c.hb
	n := 0
	for hb.updLen > 0 && n < len(p) {
		if hb.updLen == len(hb.upd) {
			return n, errCompression // longer than any integer we accept
		}
		hb.upd[hb.updLen] = p[n]
		hb.updLen++
		n++
		if v, k := readSizeUpdate(hb.upd[:hb.updLen]); k > 0 {
			hb.updLen = 0
			if e := c.applySizeUpdate(v); e != nil {
				return n, e
			}
		}
	}
	for n < len(p) && hb.updLen == 0 && p[n]&0xe0 == 0x20 {
		c.hpk.needUpdate = false
		v, k := readSizeUpdate(p[n:])
		if k == 0 {
			if len(p)-n >= len(hb.upd) {
				return n, errCompression
			}
			hb.updLen = copy(hb.upd[:], p[n:])
			return len(p), nil
		}
		if e := c.applySizeUpdate(v); e != nil {
			return n, e
		}
		n += k
	}
	if c.hpk.needUpdate && n < len(p) {
		return n, errSizeUpdateMissing
	}
	return n, nil
}

// applySizeUpdate applies one dynamic table size update to the decoder.
func (c *Conn) applySizeUpdate(v uint64) *frame.Error {
	if v > uint64(c.hpk.allowed) {
		return errCompression
	}
	c.dec.SetMaxDynamicTableSize(uint32(v))
	c.hpk.minSeen = min(c.hpk.minSeen, uint32(v))
	return nil
}

// readSizeUpdate decodes a dynamic table size update: an integer with a 5-bit
// prefix (RFC 7541 §5.1). It returns n == 0 if p ends before the integer.
func readSizeUpdate(p []byte) (v uint64, n int) {
	v = uint64(p[0] & 0x1f)
	if v < 0x1f {
		return v, 1
	}
	var m uint
	for i := 1; i < len(p) && i < 10; i++ {
		v += uint64(p[i]&0x7f) << m
		if p[i]&0x80 == 0 {
			return v, i + 1
		}
		m += 7
	}
	return 0, 0
}

// localTableSizeSent is called when we advertise a new header table size.
func (c *Conn) localTableSizeSent(old, size uint32) {
	if size > c.hpk.allowed {
		c.hpk.allowed = size
		c.dec.SetAllowedMaxDynamicTableSize(size)
	}
	if size < old {
		c.hpk.minSeen = math.MaxUint32
	}
}

// localTableSizeAcked is called when the peer acknowledges SETTINGS carrying
// size; ceiling is the largest size still pending.
func (c *Conn) localTableSizeAcked(size, ceiling uint32) {
	if ceiling >= c.hpk.allowed {
		return
	}
	// The peer's encoder may still use a table up to the old allowance: it
	// must now signal a size no larger than the new one, unless it already
	// did after we sent the SETTINGS.
	if c.hpk.minSeen > size {
		c.hpk.needUpdate = true
	}
	c.hpk.allowed = ceiling
	c.dec.SetAllowedMaxDynamicTableSize(ceiling)
}
