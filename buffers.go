package h2

import "sync"

// Buffers for the transport, shared by all connections: an idle connection
// holds only a small read buffer, and a busy one borrows large buffers for
// as long as it is busy.

// buffer carries a byte slice through bufPool without allocating for the
// conversion to interface.
type buffer struct{ b []byte }

var bufPool sync.Pool // of *buffer

// maxPooled bounds the buffers kept in bufPool: a burst's larger buffer is
// let go rather than kept for everyone (see maxWrite).
const maxPooled = 1 << 20

// getBuffer returns a pooled buffer of capacity at least size, empty.
func getBuffer(size int) *buffer {
	if bf, _ := bufPool.Get().(*buffer); bf != nil {
		if cap(bf.b) >= size {
			bf.b = bf.b[:0]
			return bf
		}
	}
	return &buffer{b: make([]byte, 0, size)}
}

func putBuffer(bf *buffer) {
	if cap(bf.b) > maxPooled {
		bf.b = nil
	}
	bf.b = bf.b[:0]
	bufPool.Put(bf)
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
	cur   []byte
}

func newReadBuffer(size int) *readBuffer {
	r := &readBuffer{small: make([]byte, min(idleReadSize, size)), size: size}
	r.cur = r.small
	return r
}

// next returns the buffer for the next read.
func (r *readBuffer) next() []byte { return r.cur }

// filled records that a read returned n bytes, and picks the next buffer.
func (r *readBuffer) filled(n int) {
	switch {
	case r.large == nil && n == len(r.small) && r.size > len(r.small):
		r.large = getBuffer(r.size)
		r.cur = r.large.b[:r.size]
	case r.large != nil && n <= len(r.small):
		r.release()
	}
}

// release returns the large buffer, if any, to the pool.
func (r *readBuffer) release() {
	if r.large != nil {
		putBuffer(r.large)
		r.large = nil
		r.cur = r.small
	}
}
