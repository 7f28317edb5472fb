package core

// Per-connection memory accounting (DESIGN §5: accounted memory per
// connection stays under 3 MiB under every attack). Memory reports the
// bytes the Conn holds, part by part; Limits.MaxConnMemory caps their total.
//
// Figures are capacities, not lengths: a slice drained to zero length still
// holds its backing array, and that is what the process pays for. Parts
// the core cannot see exactly (the x/net HPACK decoder's table, records
// kept by the runtime's allocator) are bounded from above, so the total is
// never below what the parts hold. The constants below are checked against
// reflect in memory_test.go (package core may not import unsafe).

const (
	// fieldSize is the size of a HeaderField value (two strings, a bool).
	fieldSize = 40
	// eventSize is the size of an Event value in the event queue.
	eventSize = 144
	// streamRecordSize is a stream record (288 bytes once rounded to its
	// allocation size class) plus its entry in Conn.streams.
	streamRecordSize = 288 + 32
	// connFixedSize is the Conn value itself and the HPACK decoder value.
	connFixedSize = 2048

	// recycledBufferCap is the largest send buffer a recycled stream record
	// keeps: one DATA frame at the default frame size, so small responses
	// reuse it without allocating while large ones do not pin memory in
	// the free list.
	recycledBufferCap = 16 << 10
	// retainedOutputCap and retainedEvents are the capacities the output
	// queue and the event queue keep once drained; a burst above them is
	// given back to the allocator.
	retainedOutputCap = 64 << 10
	retainedEvents    = 256
	// retainedFields is the decoded-field slots kept between inputs. One
	// Receive of many large field blocks can need thousands (each a
	// 40-byte slot for a one-byte indexed field); they are counted in
	// HeaderBlock while they live, and given back at the next input.
	retainedFields = 1024
)

// MemoryStats is the memory a Conn holds, in bytes, by part (see
// Conn.Memory). Every part is a capacity or an upper bound.
type MemoryStats struct {
	// Fixed is the Conn value and the HPACK decoder value: the same for
	// every connection.
	Fixed int

	// Input is the two buffers holding a frame that straddles Receive
	// calls (their capacity: up to a frame of SETTINGS_MAX_FRAME_SIZE
	// each once used).
	Input int

	// HeaderBlock is the decoded fields of the field block being received
	// (slots of Conn's field slice) and, while a block is unfinished
	// (CONTINUATION expected), its encoded bytes so far plus the RFC 7541
	// §4.1 size of its decoded fields: a bound on what the HPACK decoder
	// buffers and the field strings it allocated.
	HeaderBlock int

	// HPACK is the two dynamic tables as RFC 7541 §4.1 counts them (32
	// bytes of overhead per entry): our encoder's current size, and for
	// x/net's decoder, which does not report its size, the maximum we
	// allow the peer (SETTINGS_HEADER_TABLE_SIZE).
	HPACK int

	// Output is the frame queue waiting for PollTransmit (its capacity:
	// control frames and field blocks) and the scratch buffer used to
	// split a large field block into CONTINUATION frames.
	Output int

	// SendBuffers is the capacity of the streams' send buffers (DATA
	// waiting for flow-control window), including buffers kept by
	// recycled records. Buffered bytes are bounded by
	// Limits.ConnSendBuffer; capacity is kept within a quarter of it
	// beyond that by compacting the buffers (see Limits.ConnSendBuffer).
	SendBuffers int

	// Streams is the stream records, tracked and recycled, at a fixed
	// estimate per record (including its map entry).
	Streams int

	// Pending is what server streams waiting for the application
	// (Limits.MaxPendingStreams) keep until they are surfaced: their
	// decoded request fields, trailers and DATA.
	Pending int

	// Events is the event queue's slots plus the bytes of events that
	// outlived an input and had their borrowed Headers and Data copied.
	// Bytes events still borrow from the caller's Receive slice are not
	// counted: the caller owns them. Neither is a waiting request's
	// content once handed to its events (it leaves Pending then) until
	// the next input copies it.
	Events int

	// Bookkeeping is the smaller tables: streams we reset and remember
	// (Limits.MaxResetStreams), the pending-stream and writable queues.
	Bookkeeping int
}

// Total returns the sum of the parts.
func (m MemoryStats) Total() int {
	return m.Fixed + m.Input + m.HeaderBlock + m.HPACK + m.Output + m.SendBuffers +
		m.Streams + m.Pending + m.Events + m.Bookkeeping
}

// memAccount holds the parts of MemoryStats that are kept as running
// counters; CheckInvariants recomputes them from scratch.
type memAccount struct {
	sendCap     int // Σ cap(s.buf) over tracked and recycled records
	pending     int // Σ pendingBytes over tracked records
	eventCopied int // events at the head of the queue whose loans were copied
	eventBytes  int // bytes those copies hold
}

// Memory returns the memory the connection holds, by part. It is O(1) and
// allocates nothing, so a runtime can export it per connection; the same
// total is checked against Limits.MaxConnMemory after every received frame
// and timer.
func (c *Conn) Memory() MemoryStats {
	m := MemoryStats{
		Fixed:       connFixedSize,
		Input:       cap(c.in.b[0]) + cap(c.in.b[1]),
		HeaderBlock: cap(c.hdrs) * fieldSize,
		HPACK:       int(c.enc.size) + int(c.hpk.allowed),
		Output:      cap(c.out) + cap(c.hbuf),
		SendBuffers: c.mem.sendCap,
		Streams:     (len(c.streams) + len(c.free)) * streamRecordSize,
		Pending:     c.mem.pending,
		Events:      len(c.events.buf)*eventSize + c.mem.eventBytes,
		Bookkeeping: cap(c.resets.ids)*4 + cap(c.resets.expires)*24 +
			cap(c.pending.ids)*4 + cap(c.writeBlocked)*4,
	}
	if c.hb.active {
		m.HeaderBlock += c.hb.size + int(c.hb.listSize)
	}
	return m
}

// defaultConnMemory is Limits.MaxConnMemory's default for a filled cfg: 3
// MiB (DESIGN §5) plus what the fields it sums add above their defaults.
func defaultConnMemory(cfg *Config) int {
	l := &cfg.Limits
	above := func(v, def int64) int64 { return max(0, v-def) }
	n := int64(3<<20) +
		above(int64(cfg.ConnectionWindowSize), 1<<20) +
		above(int64(l.ConnSendBuffer), 1<<20)*5/4 +
		above(int64(l.OutputHighWater), 512<<10) +
		2*above(int64(cfg.MaxFrameSize), 16<<10) +
		above(int64(cfg.HeaderTableSize), 4096) +
		above(int64(cfg.MaxEncoderTableSize), 4096)
	return int(min(n, int64(maxInt)))
}

const maxInt = int(^uint(0) >> 1)

// checkMemory closes the connection when the accounted memory is above
// Limits.MaxConnMemory. It runs with checkQueues, after every received
// frame and timer: the points where the peer makes memory grow.
func (c *Conn) checkMemory() {
	if !c.closing && c.Memory().Total() > c.cfg.Limits.MaxConnMemory {
		c.abuse(AbuseMemory)
	}
}

// pendingBytes is what a pending stream keeps for the application.
func pendingBytes(s *stream) int {
	n := cap(s.pendData) + (cap(s.pendHeaders)+cap(s.pendTrailers))*fieldSize
	for i := range s.pendHeaders {
		n += len(s.pendHeaders[i].Name) + len(s.pendHeaders[i].Value)
	}
	for i := range s.pendTrailers {
		n += len(s.pendTrailers[i].Name) + len(s.pendTrailers[i].Value)
	}
	return n
}

// eventBytes is what an event's copied loans hold.
func eventBytes(e *Event) int {
	n := cap(e.Data) + cap(e.Headers)*fieldSize
	for i := range e.Headers {
		n += len(e.Headers[i].Name) + len(e.Headers[i].Value)
	}
	return n
}

// setSendBuf replaces a stream's send buffer, keeping sendCap in step.
func (c *Conn) setSendBuf(s *stream, b []byte) {
	c.mem.sendCap += cap(b) - cap(s.buf)
	s.buf = b
}

// sendCapHigh is the send-buffer capacity above which compactSendBuffers
// runs: a quarter above Limits.ConnSendBuffer.
func (c *Conn) sendCapHigh() int {
	l := c.cfg.Limits.ConnSendBuffer
	return l + l/4
}

// compactSendBuffers gives back send-buffer capacity beyond the bytes
// buffered: empty buffers are dropped, partly sent ones copied to their
// exact size. Without it, streams whose buffers once filled and drained
// (or were sent down to a byte) would keep Limits.StreamSendBuffer each,
// far more in total than Limits.ConnSendBuffer. It costs O(streams) plus a
// copy of at most Limits.ConnSendBuffer bytes, and runs only after the
// capacity has grown by a quarter of that since the last run.
func (c *Conn) compactSendBuffers() {
	for s := c.all.head; s != nil; s = s.allNext {
		switch b := s.buffered(); {
		case b == 0:
			c.setSendBuf(s, nil)
			s.off = 0
		case cap(s.buf) > b:
			nb := make([]byte, b)
			copy(nb, s.buf[s.off:])
			c.setSendBuf(s, nb)
			s.off = 0
		}
	}
	for _, s := range c.free {
		c.setSendBuf(s, nil)
	}
}

// recomputeMemory recomputes the running counters from scratch, for
// CheckInvariants.
func (c *Conn) recomputeMemory() memAccount {
	var m memAccount
	for s := c.all.head; s != nil; s = s.allNext {
		m.sendCap += cap(s.buf)
		m.pending += pendingBytes(s)
	}
	for _, s := range c.free {
		m.sendCap += cap(s.buf)
	}
	m.eventCopied = c.mem.eventCopied
	for i := 0; i < min(c.mem.eventCopied, c.events.n); i++ {
		m.eventBytes += eventBytes(c.events.at(i))
	}
	return m
}
