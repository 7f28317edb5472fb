package fuzz

import (
	"errors"
	"fmt"

	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// The output checker (fzWire) and the model of what the peer sent
// (fzInput), shared by the connection fuzz targets.

// fzSent is what a wire checker saw us send on one stream.
type fzSent struct {
	headers bool // a HEADERS frame went out
	ended   bool // END_STREAM went out
	reset   bool // RST_STREAM went out
	rst     frame.ErrCode
	data    int64 // DATA bytes, padding included
}

// fzBlock is a complete field block a Conn sent, decoded.
type fzBlock struct {
	StreamID uint32
	Fields   []hpack.HeaderField
}

// fzWire checks the byte stream one Conn transmits, frame by frame: every
// frame parses without error within the sender's frame size; the first is
// SETTINGS (after the client magic); field blocks are contiguous (RFC 9113
// §6.10) and decode with x/net's HPACK decoder; no PUSH_PROMISE; DATA and
// HEADERS only on odd streams, DATA only after HEADERS; a client opens
// streams in increasing order and sends nothing on a stream it has not
// opened (§5.1.1, §5.1); nothing but PRIORITY after our RST_STREAM and no
// DATA or HEADERS after our END_STREAM (§5.1); GOAWAY's last stream ID
// never increases (§6.8); nothing after a GOAWAY with an error code
// (§5.4.1).
type fzWire struct {
	maxFrame uint32
	client   bool
	magic    int // bytes of the client magic still expected
	buf      []byte
	frames   int
	dec      *hpack.Decoder
	fields   []hpack.HeaderField
	block    uint32 // stream of the open field block; 0 when none
	blockEnd bool   // the open block's HEADERS carried END_STREAM
	fresh    bool   // the open block's first byte is still to come
	streams  map[uint32]*fzSent
	data     int64 // DATA bytes sent on all streams

	opened     uint32 // client: the highest stream opened
	pingAcks   map[[8]byte]int
	settingAck int

	lastGoAway uint32 // last stream ID of the latest GOAWAY
	goAways    int
	failed     bool // a GOAWAY with an error code went out
	last       frame.Frame
	blocks     []fzBlock
}

func newFzWire(maxFrame uint32, client bool) *fzWire {
	w := &fzWire{maxFrame: maxFrame, client: client, streams: make(map[uint32]*fzSent), pingAcks: make(map[[8]byte]int)}
	if client {
		w.magic = len(coretest.ClientPreface)
	}
	w.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { w.fields = append(w.fields, f) })
	return w
}

// write checks p, the next bytes of the stream. Frames may straddle calls.
func (w *fzWire) write(p []byte) error {
	if w.magic > 0 {
		k := min(w.magic, len(p))
		off := len(coretest.ClientPreface) - w.magic
		if string(p[:k]) != coretest.ClientPreface[off:off+k] {
			return fmt.Errorf("client magic wrong: %q", p[:k])
		}
		w.magic -= k
		p = p[k:]
	}
	w.buf = append(w.buf, p...)
	for len(w.buf) > 0 {
		f, n, err := frame.Parse(w.buf, w.maxFrame)
		if err == frame.ErrNeedMore {
			break
		}
		if err != nil {
			return fmt.Errorf("frame %d malformed: %v (% x)", w.frames, err, w.buf[:min(len(w.buf), 32)])
		}
		if err := w.check(&f); err != nil {
			return fmt.Errorf("frame %d %v: %v", w.frames, f.String(), err)
		}
		w.buf = w.buf[n:]
	}
	return nil
}

// pending reports bytes of an incomplete frame.
func (w *fzWire) pending() int { return len(w.buf) }

func (w *fzWire) stream(id uint32) *fzSent {
	s := w.streams[id]
	if s == nil {
		s = &fzSent{}
		w.streams[id] = s
	}
	return s
}

func (w *fzWire) check(f *frame.Frame) error {
	w.frames++
	switch {
	case w.frames == 1 && (f.Type != frame.TypeSettings || f.IsAck()):
		return errors.New("the first frame is not SETTINGS (RFC 9113 §3.4)")
	case w.failed:
		return errors.New("sent after a GOAWAY with an error code (RFC 9113 §5.4.1)")
	case w.block != 0 && (f.Type != frame.TypeContinuation || f.StreamID != w.block):
		return fmt.Errorf("interrupts the field block of stream %d (RFC 9113 §6.10)", w.block)
	case w.block == 0 && f.Type == frame.TypeContinuation:
		return errors.New("CONTINUATION without a field block (RFC 9113 §6.10)")
	case f.Type == frame.TypePushPromise:
		return errors.New("PUSH_PROMISE sent, push is never used")
	}
	w.last = *f
	w.last.Data = nil
	if f.StreamID != 0 && f.Type != frame.TypePriority {
		switch s := w.stream(f.StreamID); {
		case s.reset:
			return errors.New("frame on a stream we reset (RFC 9113 §5.1)")
		case w.client && !s.headers && f.Type != frame.TypeHeaders:
			return errors.New("frame on a stream we never opened (idle, RFC 9113 §5.1)")
		case w.client && !s.headers && f.StreamID <= w.opened:
			return fmt.Errorf("opens stream %d after %d (RFC 9113 §5.1.1)", f.StreamID, w.opened)
		}
	}
	switch f.Type {
	case frame.TypePing:
		if f.IsAck() {
			w.pingAcks[f.PingData]++
		}
	case frame.TypeSettings:
		if f.IsAck() {
			w.settingAck++
		}
	case frame.TypeHeaders, frame.TypeData:
		return w.checkMessage(f)
	case frame.TypeContinuation:
		return w.feedBlock(f.Data, f.EndHeaders())
	case frame.TypeRSTStream:
		s := w.stream(f.StreamID)
		s.reset, s.rst = true, f.ErrCode
	case frame.TypeGoAway:
		if w.goAways > 0 && f.LastStreamID > w.lastGoAway {
			return fmt.Errorf("last stream ID raised from %d (RFC 9113 §6.8)", w.lastGoAway)
		}
		w.goAways++
		w.lastGoAway = f.LastStreamID
		w.failed = f.ErrCode != frame.ErrCodeNo
	}
	return nil
}

// checkMessage checks a HEADERS or DATA frame against the stream's history.
func (w *fzWire) checkMessage(f *frame.Frame) error {
	s := w.stream(f.StreamID)
	switch {
	case f.StreamID%2 == 0:
		return errors.New("on an even stream: we never push")
	case s.ended:
		return errors.New("after our END_STREAM (RFC 9113 §5.1)")
	case f.Type == frame.TypeData && !s.headers:
		return errors.New("DATA before HEADERS (RFC 9113 §8.1)")
	}
	if f.Type == frame.TypeData {
		s.data += int64(f.Length)
		w.data += int64(f.Length)
		s.ended = f.EndStream()
		return nil
	}
	if w.client && !s.headers {
		w.opened = f.StreamID
	}
	s.headers = true
	w.block, w.blockEnd = f.StreamID, f.EndStream()
	w.fields, w.fresh = w.fields[:0], true
	return w.feedBlock(f.Data, f.EndHeaders())
}

func (w *fzWire) feedBlock(p []byte, end bool) error {
	if w.fresh && len(p) > 0 {
		w.fresh = false
		// Our encoder may signal two sizes, the smallest then the final one
		// (RFC 7541 §4.2); x/net's decoder takes a second update only while
		// its table is empty, so apply them here.
		sizes, n, cut := fzLeadingUpdates(p)
		for _, v := range sizes {
			if v > 4096 {
				return fmt.Errorf("size update to %d, above our encoder's limit", v)
			}
			w.dec.SetMaxDynamicTableSize(uint32(v))
		}
		if !cut {
			p = p[n:]
		}
	}
	if _, err := w.dec.Write(p); err != nil {
		return fmt.Errorf("field block does not decode: %v", err)
	}
	if !end {
		return nil
	}
	if err := w.dec.Close(); err != nil {
		return fmt.Errorf("field block truncated: %v", err)
	}
	w.blocks = append(w.blocks, fzBlock{StreamID: w.block, Fields: append([]hpack.HeaderField(nil), w.fields...)})
	w.stream(w.block).ended = w.blockEnd
	w.block = 0
	return nil
}

// lastBlock returns the latest field block sent on a stream.
func (w *fzWire) lastBlock(id uint32) (fzBlock, bool) {
	for i := len(w.blocks) - 1; i >= 0; i-- {
		if w.blocks[i].StreamID == id {
			return w.blocks[i], true
		}
	}
	return fzBlock{}, false
}

// fzInput follows the frames a Conn consumed to bound what it may send:
// DATA within the peer's WINDOW_UPDATE increments and
// SETTINGS_INITIAL_WINDOW_SIZE values, taken generously (every one counts,
// valid for the Conn or not) so that the bound never rejects a correct
// Conn; a server's frames only on streams the peer opened with HEADERS
// (§5.1: never on an idle stream); PING and SETTINGS ACKs only for frames
// received (§6.7, §6.5.3).
type fzInput struct {
	server   bool
	magic    int
	buf      []byte
	connWin  int64            // 65,535 plus every connection increment
	maxInit  int64            // the largest initial stream window announced
	streamWU map[uint32]int64 // increments per stream
	opened   map[uint32]bool  // streams the peer sent HEADERS on
	pings    map[[8]byte]int  // PINGs received, by payload
	settings int              // SETTINGS frames received (not ACKs)
}

func newFzInput(server bool) *fzInput {
	in := &fzInput{server: server, connWin: 65535, maxInit: 65535, streamWU: make(map[uint32]int64),
		opened: make(map[uint32]bool), pings: make(map[[8]byte]int)}
	if server {
		in.magic = len(coretest.ClientPreface)
	}
	return in
}

// consumed takes the bytes Receive reported as consumed.
func (in *fzInput) consumed(p []byte) {
	k := min(in.magic, len(p))
	in.magic -= k
	in.buf = append(in.buf, p[k:]...)
	for {
		f, n, err := frame.Parse(in.buf, frame.MaxMaxFrameSize)
		if n == 0 {
			return // incomplete
		}
		if f.Type == frame.TypeHeaders {
			in.opened[f.StreamID] = true // even when malformed: it may be refused
		}
		if err == nil {
			in.apply(&f)
		}
		in.buf = in.buf[n:]
	}
}

func (in *fzInput) apply(f *frame.Frame) {
	switch {
	case f.Type == frame.TypeWindowUpdate && f.StreamID == 0:
		in.connWin += int64(f.Increment)
	case f.Type == frame.TypeWindowUpdate:
		in.streamWU[f.StreamID] += int64(f.Increment)
	case f.Type == frame.TypePing && !f.IsAck():
		in.pings[f.PingData]++
	case f.Type == frame.TypeSettings && !f.IsAck():
		in.settings++
		for i := 0; i < f.NumSettings(); i++ {
			if s := f.Setting(i); s.ID == frame.SettingInitialWindowSize && s.Val <= frame.MaxWindowSize {
				in.maxInit = max(in.maxInit, int64(s.Val))
			}
		}
	}
}

// checkSent checks what w saw sent against what was received.
func (in *fzInput) checkSent(w *fzWire) error {
	if w.data > in.connWin {
		return fmt.Errorf("sent %d DATA bytes, connection window allowed %d (RFC 9113 §6.9)", w.data, in.connWin)
	}
	if w.settingAck > in.settings {
		return fmt.Errorf("%d SETTINGS ACKs for %d SETTINGS (RFC 9113 §6.5.3)", w.settingAck, in.settings)
	}
	for d, n := range w.pingAcks {
		if n > in.pings[d] {
			return fmt.Errorf("%d PING ACKs with data %x, %d PINGs received (RFC 9113 §6.7)", n, d, in.pings[d])
		}
	}
	for id, s := range w.streams {
		if allowed := in.maxInit + in.streamWU[id]; s.data > allowed {
			return fmt.Errorf("stream %d: sent %d DATA bytes, window allowed at most %d (RFC 9113 §6.9)", id, s.data, allowed)
		}
		if in.server && !in.opened[id] {
			return fmt.Errorf("frame sent on stream %d, which the client never opened (RFC 9113 §5.1)", id)
		}
	}
	return nil
}
