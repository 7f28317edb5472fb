package memory

import (
	"errors"
	"time"
)

// DefaultBuffer is the number of bytes a direction of a pipe holds in
// flight when Config.Buffer is zero.
const DefaultBuffer = 1 << 20

// ErrBroken is the error of reads and writes on a pipe broken by Break
// with a nil error: the in-memory analogue of a TCP reset.
var ErrBroken = errors.New("memory: connection broken")

// Config shapes a pipe. The zero value is an unchunked pipe whose bytes
// are readable as soon as they are written, with DefaultBuffer bytes in
// flight per direction and deadlines on the real clock.
type Config struct {
	// Seed drives the chunking of reads. Each direction has its own
	// random source seeded from Seed and the direction, so the same Seed
	// gives the same sequence of read-size caps, whatever the other
	// direction does.
	Seed uint64

	// MaxChunk caps each Read at a seeded-random 1..MaxChunk bytes, as a
	// network cuts a stream into segments. Zero (or negative) means no cap
	// beyond the caller's buffer and the bytes available.
	MaxChunk int

	// Latency is how long written bytes (and a close's end of file) take
	// to become readable, measured on Clock: bytes written at time t are
	// readable once Clock reads t+Latency, so a test must advance the
	// clock. It is ignored when Clock is nil.
	Latency time.Duration

	// Clock is the time of Latency and of deadlines. Nil means no latency
	// and deadlines on the real clock.
	Clock *Clock

	// Buffer bounds the bytes in flight in each direction — written and
	// not yet read, including bytes still travelling under Latency — after
	// which Write blocks until the reader drains some. Zero (or negative)
	// means DefaultBuffer.
	Buffer int
}

// Addr is the address of a pipe end or a listener. Its network is
// "memory"; a pipe's ends are named "memory:N:a" and "memory:N:b" (the
// end Listener.Dial returns is a, the accepted one b), where N counts the
// pipes made by this process, so names are deterministic for a
// deterministic order of calls.
type Addr string

// Network returns "memory".
func (Addr) Network() string { return "memory" }

// String returns the address's name.
func (a Addr) String() string { return string(a) }
