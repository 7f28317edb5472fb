package h2

import "sync"

// Buffers for the transport, shared by all connections: an idle connection
// holds only a small read buffer, and a busy one borrows large buffers for
// as long as it is busy.

// buffer carries a byte slice through a bufferPool without allocating for
// the conversion to interface; its holder keeps the box with the slice.
type buffer struct{ b []byte }

// A bufferPool recycles buffers of at most max bytes of capacity: a
// burst's larger buffer is let go rather than kept for everyone.
type bufferPool struct {
	p   sync.Pool // of *buffer
	max int
}

var (
	// transportBuffers are the readers' large buffers and the writers'.
	transportBuffers = bufferPool{max: 1 << 20}
	// streamBuffers are streams' receive buffers (Stream.rbuf), recycled
	// from one stream to the next, so that a stream receiving a large body
	// does not grow a fresh buffer from nothing (about twice the body in
	// allocations, zeroed by the allocator) and the small bodies of
	// steady-state requests cost no allocation. A stream whose reader fell
	// far behind a large window lets its buffer go.
	streamBuffers = bufferPool{max: 4 << 20}
)

// get returns a pooled buffer of capacity at least size, empty.
func (p *bufferPool) get(size int) *buffer {
	if bf, _ := p.p.Get().(*buffer); bf != nil && cap(bf.b) >= size {
		bf.b = bf.b[:0]
		return bf
	}
	return &buffer{b: make([]byte, 0, size)}
}

// put gives bf back; its holder no longer uses it or its bytes.
func (p *bufferPool) put(bf *buffer) {
	if cap(bf.b) > p.max {
		return
	}
	bf.b = bf.b[:0]
	p.p.Put(bf)
}

// idleReadSize is the read buffer of a connection whose reads are small.
// A read that fills it switches to a pooled buffer of Options'
// ReadBufferSize; a read that would have fitted it switches back.
const idleReadSize = 2 << 10

// readBuffer is the reader's buffer (see idleReadSize).
type readBuffer struct {
	small []byte
	large *buffer // borrowed while reads are large
	size  int     // Options.ReadBufferSize
}

func newReadBuffer(size int) *readBuffer {
	return &readBuffer{small: make([]byte, min(idleReadSize, size)), size: size}
}

// next returns the buffer for the next read.
func (r *readBuffer) next() []byte {
	if r.large != nil {
		return r.large.b[:r.size]
	}
	return r.small
}

// filled records that a read returned n bytes, and picks the next buffer.
func (r *readBuffer) filled(n int) {
	switch {
	case r.large == nil && n == len(r.small) && r.size > len(r.small):
		r.large = transportBuffers.get(r.size)
	case r.large != nil && n <= len(r.small):
		r.release()
	}
}

// release returns the large buffer, if any, to the pool.
func (r *readBuffer) release() {
	if r.large != nil {
		transportBuffers.put(r.large)
		r.large = nil
	}
}
