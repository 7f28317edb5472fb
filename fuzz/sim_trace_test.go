package fuzz

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"
)

// simTailLines is how many trace lines a failure report shows.
const simTailLines = 40

// A simEntry is one line of the trace: bytes a core consumed or a pipe
// accepted, an event, a command, a fault, a clock move or a failure. Fields
// hold values, not formatted text, so that tracing costs a hash update and
// the text is built only when someone reads it.
type simEntry struct {
	at     time.Duration // virtual time since memory.Epoch
	conn   int           // connection index, -1 for the world
	side   simSide
	op     string // "recv", "write", "event", "cmd", "fault", "clock", "FAIL"
	what   string // event kind, command or fault name
	stream uint32
	n      int64  // bytes, or the operation's main number
	code   uint32 // error code, status or stream ID, by op
	flags  uint8  // simFlag*
	detail string // token, error text or note
}

// Flags of a simEntry.
const (
	simFlagEnd uint8 = 1 << iota
	simFlagRemote
	simFlagRetryable
)

// simTrace records a run: every entry goes into a SHA-256 hash (with the
// bytes of each chunk consumed), the latest simTailLines into a ring for
// failure reports, and all of them into text when full is set. Two runs of
// one seed must produce the same hash.
type simTrace struct {
	h       hash.Hash
	scratch []byte
	ring    [simTailLines]simEntry
	next    int // ring slot of the next entry
	count   int // entries recorded
	full    *strings.Builder
}

func newSimTrace(keepText bool) *simTrace {
	t := &simTrace{h: sha256.New()}
	if keepText {
		t.full = new(strings.Builder)
	}
	return t
}

// add records e; data, if not nil, is the chunk e describes, which is hashed
// but not kept.
func (t *simTrace) add(e simEntry, data []byte) {
	b := t.scratch[:0]
	b = binary.AppendVarint(b, int64(e.at))
	b = binary.AppendVarint(b, int64(e.conn))
	b = append(b, byte(e.side), e.flags)
	b = appendSimString(b, e.op)
	b = appendSimString(b, e.what)
	b = binary.AppendUvarint(b, uint64(e.stream))
	b = binary.AppendVarint(b, e.n)
	b = binary.AppendUvarint(b, uint64(e.code))
	b = appendSimString(b, e.detail)
	t.scratch = b
	t.h.Write(b)
	if data != nil {
		t.h.Write(data)
	}
	t.ring[t.next] = e
	t.next = (t.next + 1) % len(t.ring)
	t.count++
	if t.full != nil {
		t.full.WriteString(e.String())
		t.full.WriteByte('\n')
	}
}

func appendSimString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// sum returns the hash of everything recorded so far, in hex.
func (t *simTrace) sum() string { return hex.EncodeToString(t.h.Sum(nil)) }

// text returns the full trace, or "" unless it was kept.
func (t *simTrace) text() string {
	if t.full == nil {
		return ""
	}
	return t.full.String()
}

// tail returns the last n entries (at most simTailLines), oldest first,
// one per line.
func (t *simTrace) tail(n int) string {
	n = min(n, t.count, len(t.ring))
	var sb strings.Builder
	for i := n; i > 0; i-- {
		sb.WriteString(t.ring[(t.next-i+len(t.ring))%len(t.ring)].String())
		sb.WriteByte('\n')
	}
	return sb.String()
}

// String formats an entry as one trace line, e.g.
// "   1.002000s c3 server event data s=5 n=1200 end".
func (e simEntry) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%12.6fs ", e.at.Seconds())
	if e.conn >= 0 {
		fmt.Fprintf(&sb, "c%d %s ", e.conn, e.side)
	} else {
		sb.WriteString("world ")
	}
	sb.WriteString(e.op)
	if e.what != "" {
		sb.WriteString(" " + e.what)
	}
	if e.stream != 0 {
		fmt.Fprintf(&sb, " s=%d", e.stream)
	}
	if e.n != 0 {
		fmt.Fprintf(&sb, " n=%d", e.n)
	}
	if e.code != 0 {
		fmt.Fprintf(&sb, " code=%d", e.code)
	}
	for _, f := range []struct {
		bit  uint8
		name string
	}{{simFlagEnd, "end"}, {simFlagRemote, "remote"}, {simFlagRetryable, "retryable"}} {
		if e.flags&f.bit != 0 {
			sb.WriteString(" " + f.name)
		}
	}
	if e.detail != "" {
		sb.WriteString(" (" + e.detail + ")")
	}
	return sb.String()
}
