package core

import "time"

// stream is the record of one stream the core tracks: those open or
// half-closed, and closed server streams the application still holds.
// Records are recycled through Conn.free.
type stream struct {
	id    uint32
	state StreamState

	local     bool // we initiated it
	surfaced  bool // the application knows it (it gets a terminal event)
	held      bool // server: counted in Conn.held until released
	pending   bool // server: waiting in Conn.pending to be surfaced
	manual    bool // receive flow control by Consume
	resetByUs bool // closed by our RST_STREAM
	abandoned bool // server: released with its END_STREAM still queued (ReleaseStream)

	// Message semantics.
	head       bool  // request method HEAD: the response has no content
	connect    bool  // CONNECT (§8.5) or extended CONNECT (RFC 8441)
	tunnel     bool  // CONNECT with a 2xx response: DATA is tunnel bytes
	gotFinal   bool  // client: final response received
	sentFinal  bool  // server: final response headers sent
	recvNoBody bool  // what we receive must not have content
	sendNoBody bool  // what we send must not have content
	recvCL     int64 // content-length received, -1 if none
	recvN      int64
	sendCL     int64 // content-length sent, -1 if none
	sendQueued int64 // content bytes accepted by SendData and Respond

	// Flow control.
	in         inflow
	out        outflow
	unconsumed int64 // manual mode: bytes delivered and not yet consumed

	// Send side.
	buf          []byte // DATA waiting for window; buf[off:] is unsent
	off          int
	endQueued    bool          // END_STREAM follows the buffered DATA
	trailers     []HeaderField // trailers to send after the buffered DATA
	blocked      bool          // SendData returned ErrSendBufferFull
	owedWritable bool          // listed in Conn.writeBlocked
	inSched      bool
	prev         *stream // round-robin scheduler links (schedList)
	next         *stream
	allPrev      *stream // links of Conn.all, in creation order
	allNext      *stream

	// A pending server stream keeps what arrived before it is surfaced.
	pendHeaders  []HeaderField
	pendData     []byte
	pendTrailers []HeaderField
	pendEnd      bool
}

func (s *stream) buffered() int { return len(s.buf) - s.off }

// hasOutput reports whether the scheduler has anything to send for s.
func (s *stream) hasOutput() bool {
	return s.buffered() > 0 || s.endQueued
}

// reset clears a record for reuse, keeping the send buffer's capacity.
func (s *stream) reset() {
	buf := s.buf[:0]
	*s = stream{buf: buf}
}

// idQueue is a FIFO of stream identifiers.
type idQueue struct {
	ids  []uint32
	head int
}

func (q *idQueue) len() int { return len(q.ids) - q.head }

func (q *idQueue) push(id uint32) {
	if q.head > 0 && q.head >= len(q.ids)/2 {
		// Compact, so a queue that never empties does not grow forever.
		n := copy(q.ids, q.ids[q.head:])
		q.ids, q.head = q.ids[:n], 0
	}
	q.ids = append(q.ids, id)
}

func (q *idQueue) pop() (uint32, bool) {
	if q.len() == 0 {
		return 0, false
	}
	id := q.ids[q.head]
	q.head++
	return id, true
}

func (q *idQueue) remove(id uint32) {
	for i := q.head; i < len(q.ids); i++ {
		if q.ids[i] == id {
			q.ids = append(q.ids[:i], q.ids[i+1:]...)
			return
		}
	}
}

func (q *idQueue) clear() { q.ids, q.head = q.ids[:0], 0 }

// resetRing remembers streams we reset, so that frames the peer sent before
// it saw our RST_STREAM are ignored (RFC 9113 §5.1 "closed"). Entries expire
// after Timeouts.ResetGrace; when full, the oldest is forgotten.
type resetRing struct {
	ids     []uint32
	expires []time.Time
	head, n int
	undated int // the newest entries, added by commands, whose grace starts at the next input
}

// add remembers id until expires. An undated entry (a reset by a command,
// which takes no time) keeps a provisional expiry until stamp dates it.
func (r *resetRing) add(id uint32, expires time.Time, capacity int, undated bool) {
	if capacity <= 0 {
		return
	}
	if len(r.ids) < capacity && r.n == len(r.ids) {
		// Grow lazily: idle connections pay nothing.
		newCap := min(capacity, max(8, 2*len(r.ids)))
		ids := make([]uint32, newCap)
		exp := make([]time.Time, newCap)
		for i := 0; i < r.n; i++ {
			j := (r.head + i) % len(r.ids)
			ids[i], exp[i] = r.ids[j], r.expires[j]
		}
		r.ids, r.expires, r.head = ids, exp, 0
	}
	if r.n == len(r.ids) { // full: forget the oldest
		r.head = (r.head + 1) % len(r.ids)
		r.n--
	}
	i := (r.head + r.n) % len(r.ids)
	r.ids[i], r.expires[i] = id, expires
	r.n++
	if undated {
		r.undated = min(r.undated+1, r.n)
	}
}

// stamp gives the undated entries their expiry, at the first input after
// the commands that added them. It is never earlier than the provisional
// one, so the ring stays in expiry order.
func (r *resetRing) stamp(expires time.Time) {
	for i := r.n - min(r.undated, r.n); i < r.n; i++ {
		r.expires[(r.head+i)%len(r.ids)] = expires
	}
	r.undated = 0
}

// has reports whether id was reset by us within the grace period, dropping
// expired entries on the way.
func (r *resetRing) has(id uint32, now time.Time) bool {
	for r.n > 0 && !now.Before(r.expires[r.head]) {
		r.head = (r.head + 1) % len(r.ids)
		r.n--
	}
	for i := r.n - 1; i >= 0; i-- { // newest first: the likely match
		if r.ids[(r.head+i)%len(r.ids)] == id {
			return true
		}
	}
	return false
}

// streamList is every tracked stream in creation order. Iterating it, not
// the map, keeps the core deterministic: Go randomises map order, and the
// order of events and frames must depend on inputs alone.
type streamList struct {
	head, tail *stream
}

func (l *streamList) push(s *stream) {
	s.allPrev, s.allNext = l.tail, nil
	if l.tail == nil {
		l.head = s
	} else {
		l.tail.allNext = s
	}
	l.tail = s
}

func (l *streamList) remove(s *stream) {
	if s.allPrev == nil {
		l.head = s.allNext
	} else {
		s.allPrev.allNext = s.allNext
	}
	if s.allNext == nil {
		l.tail = s.allPrev
	} else {
		s.allNext.allPrev = s.allPrev
	}
	s.allPrev, s.allNext = nil, nil
}

// schedList is the round-robin queue of streams with DATA to send: a doubly
// linked list threaded through the stream records, so scheduling allocates
// nothing.
type schedList struct {
	head, tail *stream
	n          int
}

func (l *schedList) push(s *stream) {
	s.prev, s.next = l.tail, nil
	if l.tail == nil {
		l.head = s
	} else {
		l.tail.next = s
	}
	l.tail = s
	s.inSched = true
	l.n++
}

func (l *schedList) remove(s *stream) {
	if !s.inSched {
		return
	}
	if s.prev == nil {
		l.head = s.next
	} else {
		s.prev.next = s.next
	}
	if s.next == nil {
		l.tail = s.prev
	} else {
		s.next.prev = s.prev
	}
	s.prev, s.next, s.inSched = nil, nil, false
	l.n--
}

func (l *schedList) pushFront(s *stream) {
	s.prev, s.next = nil, l.head
	if l.head == nil {
		l.tail = s
	} else {
		l.head.prev = s
	}
	l.head = s
	s.inSched = true
	l.n++
}
