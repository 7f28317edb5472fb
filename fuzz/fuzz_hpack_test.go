package fuzz

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// Mode bits of FuzzHPACK.
const (
	fzHDeliver   = 0x03 // 0: all at once; 1: a frame per Receive; 2: a block per Receive; 3: 5-byte chunks
	fzHEndStream = 0x04 // HEADERS carry END_STREAM
	fzHPeerTable = 0x08 // the client's SETTINGS_HEADER_TABLE_SIZE is 0
	fzHBlocks    = 0x30 // number of field blocks minus one
)

// FuzzHPACK decodes fuzzed field blocks through the core's HPACK glue
// (core/hpack.go, reachable only through a Conn): each block is the
// HEADERS (+ CONTINUATION) of a new request on a server Conn. The same
// fragments go through a reference decoder, x/net's hpack.Decoder set up
// as RFC 7541 and our SETTINGS require: the table size we advertised, the
// string-length limit, and SETTINGS_MAX_HEADER_LIST_SIZE enforced the way
// x/net documents it (SetEmitEnabled(false) once the list is too large, so
// later fields are skipped, not decoded). Outcomes must agree block by
// block, until the first failure:
//
//   - reference fails: the Conn fails with COMPRESSION_ERROR;
//   - list too large: the Conn answers 431 itself (RFC 9113 §10.5.1);
//   - otherwise: EventRequest with the identical field list (Sensitive
//     included), or RST_STREAM(PROTOCOL_ERROR) for a malformed request.
//
// Two stricter rules of the glue are modelled, not inherited: a block over
// Limits.MaxHeaderBlockSize closes with ENHANCE_YOUR_CALM before it is
// decoded, and after we shrink SETTINGS_HEADER_TABLE_SIZE the first block
// must start with a size update (RFC 7541 §4.2), which x/net does not
// check. Then, as an encode→decode round trip through our encoder, every
// accepted request's regular fields are sent back in response headers,
// and x/net must decode exactly the fields given to SendHeaders.
func FuzzHPACK(f *testing.F) {
	for _, s := range fzHPACKSeeds(f) {
		f.Add(s.data, s.lens, s.mode, s.table, s.list)
	}
	f.Fuzz(func(t *testing.T, data []byte, lens uint64, mode uint8, tableSize, listSize uint16) {
		h := newFzHPACK(t, mode, tableSize, listSize)
		blocks := fzSplitBlocks(data, lens, 1+int(mode&fzHBlocks>>4), frame.MinMaxFrameSize)
		h.deliver(blocks)
		if h.compare(blocks) {
			h.roundTrip()
		}
	})
}

// fzHPACK is one FuzzHPACK run: a server Conn, the reference decoder and
// what the Conn reported.
type fzHPACK struct {
	t     *testing.T
	c     *core.Conn
	mode  uint8
	ref   *fzRefDecoder
	wire  *fzWire
	reqs  map[uint32][]core.HeaderField
	order []uint32
}

func newFzHPACK(t *testing.T, mode uint8, tableSize, listSize uint16) *fzHPACK {
	cfg := core.Config{HeaderTableSize: uint32(tableSize), MaxHeaderListSize: uint32(listSize)}
	c, err := core.NewServer(coretest.Epoch, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = fzFilled(cfg)
	table := uint32(tableSize)
	if table == 0 {
		table = 4096
	}
	return &fzHPACK{t: t, c: c, mode: mode, reqs: map[uint32][]core.HeaderField{},
		ref:  newFzRefDecoder(table, &cfg),
		wire: newFzWire(cfg.MaxSendFrameSize, false)}
}

// deliver sends the client preface, SETTINGS and the ACK of the server's,
// then the blocks as the mode says.
func (h *fzHPACK) deliver(blocks [][][]byte) {
	var peer []frame.Setting
	if h.mode&fzHPeerTable != 0 {
		peer = append(peer, frame.Setting{ID: frame.SettingHeaderTableSize, Val: 0})
	}
	h.receive(append([]byte(coretest.ClientPreface), frame.AppendSettingsAck(frame.AppendSettings(nil, peer))...))
	var all []byte
	for i, frags := range blocks {
		var blk []byte
		for j, frag := range frags {
			id, end := uint32(2*i+1), j == len(frags)-1
			if j == 0 {
				blk = frame.AppendHeaders(blk, frame.HeadersParam{StreamID: id, Fragment: frag, EndHeaders: end,
					EndStream: h.mode&fzHEndStream != 0})
			} else {
				blk = frame.AppendContinuation(blk, id, end, frag)
			}
			if h.mode&fzHDeliver == 1 {
				h.receive(blk)
				blk = blk[:0]
			}
		}
		if h.mode&fzHDeliver == 2 {
			h.receive(blk)
		}
		all = append(all, blk...)
	}
	switch h.mode & fzHDeliver {
	case 0:
		h.receive(all)
	case 3:
		for p := all; len(p) > 0; p = p[min(5, len(p)):] {
			h.receive(p[:min(5, len(p))])
		}
	}
}

// receive feeds p to the Conn and records what it reports.
func (h *fzHPACK) receive(p []byte) {
	for len(p) > 0 {
		n, err := h.c.Receive(coretest.Epoch, p)
		for {
			e, ok := h.c.PollEvent()
			if !ok {
				break
			}
			if e.Kind == core.EventRequest {
				h.reqs[e.StreamID] = slices.Clone(e.Headers)
				h.order = append(h.order, e.StreamID)
			}
		}
		if werr := h.wire.write(h.c.PollTransmit(nil)); werr != nil {
			h.t.Fatalf("output: %v", werr)
		}
		if err != nil {
			return
		}
		if n == 0 {
			h.t.Fatalf("Receive consumed nothing of %d bytes", len(p))
		}
		p = p[n:]
	}
}

// compare walks the blocks with the reference decoder and checks the
// Conn's outcome for each. It reports whether the Conn is still up.
func (h *fzHPACK) compare(blocks [][][]byte) bool {
	if err := h.c.CheckInvariants(); err != nil {
		h.t.Fatal(err)
	}
	var want []fzRefBlock
	for _, frags := range blocks {
		if want = append(want, h.ref.block(frags)); want[len(want)-1].failed {
			break
		}
	}
	last := want[len(want)-1]
	ce := fzLocalErr(h.c)
	switch {
	case !last.failed && h.c.Err() != nil:
		h.t.Fatalf("block %d: the reference decodes %d fields, Conn.Err %v", len(want)-1, len(last.fields), h.c.Err())
	case last.failed && (ce == nil || ce.Code != last.fail):
		h.t.Fatalf("block %d: the reference fails with %v, Conn.Err %v", len(want)-1, last.fail, h.c.Err())
	}
	for i, w := range want {
		if w.failed {
			break
		}
		if err := h.checkBlock(uint32(2*i+1), w); err != nil {
			h.t.Fatalf("block %d (stream %d): %v", i, 2*i+1, err)
		}
	}
	return !last.failed
}

func (h *fzHPACK) checkBlock(id uint32, want fzRefBlock) error {
	got, surfaced := h.reqs[id]
	sent := h.wire.streams[id]
	switch {
	case want.tooLarge:
		blk, ok := h.wire.lastBlock(id)
		if surfaced || !ok || len(blk.Fields) == 0 || blk.Fields[0].Value != "431" {
			return fmt.Errorf("list over the limit: want a 431 response, got request %v, response %v", surfaced, blk.Fields)
		}
	case surfaced:
		if !slices.Equal(got, want.fields) {
			return fmt.Errorf("fields\n%v\nreference\n%v", got, want.fields)
		}
	case sent == nil || !sent.reset || sent.rst != frame.ErrCodeProtocol:
		return fmt.Errorf("neither a request nor RST_STREAM(PROTOCOL_ERROR) for %v", want.fields)
	}
	return nil
}

// roundTrip answers every request with its own regular fields and checks
// that x/net decodes exactly what SendHeaders was given.
func (h *fzHPACK) roundTrip() {
	for _, id := range h.order {
		fields := []core.HeaderField{{Name: ":status", Value: "200"}}
		for _, f := range h.reqs[id] {
			if len(f.Name) > 0 && f.Name[0] != ':' {
				fields = append(fields, f)
			}
		}
		if h.c.SendHeaders(id, fields, true) != nil {
			continue // a field valid in requests only, or a list too large for the peer
		}
		if err := h.wire.write(h.c.PollTransmit(nil)); err != nil {
			h.t.Fatalf("output: %v", err)
		}
		if blk, _ := h.wire.lastBlock(id); !sameSent(blk.Fields, fields) {
			h.t.Fatalf("stream %d: sent\n%v\ndecoded\n%v", id, fields, blk.Fields)
		}
	}
}

// sameSent reports whether decoded are the fields sent, in order. A field
// sent Sensitive must arrive never-indexed; the encoder may mark others so
// too (credentials and short cookies, RFC 7541 §7.1.3).
func sameSent(decoded, sent []core.HeaderField) bool {
	return slices.EqualFunc(decoded, sent, func(d, s core.HeaderField) bool {
		return d.Name == s.Name && d.Value == s.Value && (d.Sensitive || !s.Sensitive)
	})
}

// fzRefDecoder is the reference: x/net's decoder with the limits a server
// Conn applies.
type fzRefDecoder struct {
	dec        *hpack.Decoder
	fields     []hpack.HeaderField
	size       int64
	limit      int64
	tooLarge   bool
	maxBlock   int
	maxConts   int
	allowed    uint32 // the table size we advertised
	needUpdate bool   // RFC 7541 §4.2: a size update must start the next block
}

// fzRefBlock is the reference outcome of one block.
type fzRefBlock struct {
	fields   []hpack.HeaderField
	tooLarge bool
	fail     frame.ErrCode // the connection error's code when failed
	failed   bool
}

// fzRefFail is a block that ends the connection with a code.
func fzRefFail(code frame.ErrCode) fzRefBlock { return fzRefBlock{fail: code, failed: true} }

func newFzRefDecoder(table uint32, cfg *core.Config) *fzRefDecoder {
	r := &fzRefDecoder{limit: int64(cfg.MaxHeaderListSize), maxBlock: cfg.Limits.MaxHeaderBlockSize,
		maxConts: cfg.Limits.MaxContinuations, allowed: table, needUpdate: table < 4096}
	r.dec = hpack.NewDecoder(4096, r.emit)
	r.dec.SetAllowedMaxDynamicTableSize(table)
	r.dec.SetMaxStringLength(2 * r.maxBlock)
	return r
}

func (r *fzRefDecoder) emit(f hpack.HeaderField) {
	r.size += int64(len(f.Name)+len(f.Value)) + 32
	if r.size > r.limit {
		r.tooLarge = true
		r.dec.SetEmitEnabled(false)
		return
	}
	r.fields = append(r.fields, f)
}

// block decodes one field block given as fragments, in the glue's order:
// per fragment, the CONTINUATION and block-size limits, then decoding. The
// size updates that start the block are parsed here, across fragments,
// checked against the size we allow and applied (RFC 7541 §4.2, §6.3);
// the rest goes to x/net.
func (r *fzRefDecoder) block(frags [][]byte) fzRefBlock {
	r.fields, r.size, r.tooLarge = nil, 0, false
	r.dec.SetEmitEnabled(true)
	size, lead, leading, saw := 0, []byte(nil), true, false
	for i, frag := range frags {
		if i > r.maxConts {
			return fzRefFail(frame.ErrCodeEnhanceYourCalm) // CONTINUATION flood
		}
		if size += len(frag); size > r.maxBlock {
			return fzRefFail(frame.ErrCodeEnhanceYourCalm)
		}
		if leading {
			lead = append(lead, frag...)
			sizes, n, cut := fzLeadingUpdates(lead)
			for _, v := range sizes {
				if v > uint64(r.allowed) {
					return fzRefFail(frame.ErrCodeCompression)
				}
				r.dec.SetMaxDynamicTableSize(uint32(v))
			}
			saw = saw || len(sizes) > 0 || cut
			if lead = lead[n:]; cut || len(lead) == 0 {
				continue // the updates may go on in the next fragment
			}
			leading, frag, lead = false, lead, nil
		}
		if r.needUpdate && !saw {
			return fzRefFail(frame.ErrCodeCompression) // RFC 9113 §4.3.1
		}
		if _, err := r.dec.Write(frag); err != nil {
			return fzRefFail(frame.ErrCodeCompression)
		}
	}
	if len(lead) > 0 || (r.needUpdate && !saw) || r.dec.Close() != nil {
		return fzRefFail(frame.ErrCodeCompression)
	}
	r.needUpdate = false
	return fzRefBlock{fields: r.fields, tooLarge: r.tooLarge}
}

// fzSplitBlocks cuts data into n field blocks, the first n-1 as long as the
// 16-bit fields of lens say (the last takes the rest), and each block into
// fragments as its 4-bit field of lens's top 16 bits says: 0 one
// fragment, 15 three, k two with the cut at k/16 of the block. Fragments
// longer than maxFrame are cut further to fit in frames.
func fzSplitBlocks(data []byte, lens uint64, n, maxFrame int) [][][]byte {
	var out [][][]byte
	for i := 0; i < n; i++ {
		k := len(data)
		if i < n-1 {
			k = min(k, int(uint16(lens>>(16*i))))
		}
		blk := data[:k]
		data = data[k:]
		switch cut := int(lens>>(48+4*i)) & 15; cut {
		case 0:
			out = append(out, [][]byte{blk})
		case 15:
			a, b := len(blk)/3, 2*len(blk)/3
			out = append(out, [][]byte{blk[:a], blk[a:b], blk[b:]})
		default:
			a := len(blk) * cut / 16
			out = append(out, [][]byte{blk[:a], blk[a:]})
		}
	}
	for i, frags := range out {
		var fit [][]byte
		for _, frag := range frags {
			for len(frag) > maxFrame {
				fit, frag = append(fit, frag[:maxFrame]), frag[maxFrame:]
			}
			fit = append(fit, frag)
		}
		out[i] = fit
	}
	return out
}

// fzHPACKSeed holds the arguments of FuzzHPACK.
type fzHPACKSeed struct {
	data        []byte
	lens        uint64
	mode        uint8
	table, list uint16
}

// fzHPACKSeeds are blocks from x/net's encoder (indexed, literal, Huffman,
// never-indexed, size updates), broken blocks, and the first field blocks
// of recorded connections.
func fzHPACKSeeds(tb testing.TB) []fzHPACKSeed {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	block := func(fields ...hpack.HeaderField) []byte {
		buf.Reset()
		for _, f := range fields {
			_ = enc.WriteField(f)
		}
		return bytes.Clone(buf.Bytes())
	}
	get := fzFields(coretest.Request("GET", "/index.html", "user-agent", "fz", "accept", "*/*")...)
	b1 := block(get...)
	b2 := block(append(get, hpack.HeaderField{Name: "cookie", Value: "secret", Sensitive: true})...)
	b3 := block(append(get, hpack.HeaderField{Name: "x-big", Value: string(bytes.Repeat([]byte("v"), 600))})...)
	// Size updates to 256 and 4096, then GET https / with :authority "a".
	twoUpdates := []byte{0x3f, 0xe1, 0x01, 0x3f, 0xe1, 0x1f, 0x82, 0x87, 0x84, 0x41, 0x01, 'a'}
	seeds := []fzHPACKSeed{
		{data: b1, mode: 0x04},
		{data: slices.Concat(b1, b2, b3), lens: uint64(len(b1)) | uint64(len(b2))<<16 | 0x5f30<<48, mode: 0x25},
		{data: slices.Concat(b1, b3), lens: uint64(len(b1)), mode: 0x16, list: 400},
		{data: append([]byte{0x20}, b1...), mode: 0x04, table: 100},
		{data: b1, mode: 0x07, table: 100},
		{data: append([]byte{0x3f, 0xe1, 0x1f}, b1...), mode: 0x04, table: 8192},
		{data: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, mode: 0x04},
		{data: b1[:len(b1)-1], mode: 0x0d},
		{data: append([]byte{0x00, 0x83, 0xff, 0xff, 0xff, 0x01, 'v'}, b1...), mode: 0x04},
		{data: slices.Concat(b1, []byte{0x20}), mode: 0x04},
		{data: b2, lens: 0xf << 48, mode: 0x0c, list: 100},
		// Two size updates, the smallest then the final one, with entries in
		// the table (RFC 7541 §4.2).
		{data: slices.Concat(b1, twoUpdates), lens: uint64(len(b1)), mode: 0x14},
	}
	for _, rec := range traffic(tb, "server") {
		var blocks [][]byte
		for _, raw := range fzFrames(rec) {
			if fr, _, err := frame.Parse(raw, frame.MaxMaxFrameSize); err == nil && fr.Type == frame.TypeHeaders && len(blocks) < 4 {
				blocks = append(blocks, bytes.Clone(fr.Data))
			} else if err == nil && fr.Type == frame.TypeContinuation && len(blocks) > 0 {
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], fr.Data...)
			}
		}
		if len(blocks) == 0 || len(seeds) > 200 {
			continue
		}
		var lens uint64
		for i, b := range blocks[:len(blocks)-1] {
			lens |= uint64(min(len(b), 0xffff)) << (16 * i)
		}
		seeds = append(seeds, fzHPACKSeed{data: bytes.Join(blocks, nil), lens: lens, mode: uint8(len(blocks)-1) << 4})
	}
	return seeds
}
