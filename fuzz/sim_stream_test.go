package fuzz

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/h2proto/h2/core"
)

// simStream is one request as both ends see it: the workload the client
// chose, and for each side what its app sent and received. The checks
// compare one side's receipts with the other side's sends.
type simStream struct {
	conn      *simConn
	id        uint32
	work      *simWork
	headers   []core.HeaderField // the request as the client sent it
	ends      [2]simStreamEnd
	retryable bool // the client was told the server never processed it
	early     bool // opened before the server's first SETTINGS arrived

	cs simClientState
	ss simServerState
}

// simStreamEnd is one side's record of a stream.
type simStreamEnd struct {
	known    bool   // the app knows the stream (OpenStream, EventRequest)
	done     bool   // terminal event seen, or released by the app
	released bool   // server: ReleaseStream ended the app's view
	outcome  string // how it ended, for reports
	blocked  bool   // SendData returned ErrSendBufferFull: wait for EventWritable

	// Sent by the app.
	sent         int64 // content bytes accepted by SendData and Respond
	ended        bool  // END_STREAM queued
	trailers     []core.HeaderField
	status       int                // server: final status
	fields       []core.HeaderField // server: regular fields of the final response
	responded    bool               // server: Respond added content-length
	infos        int                // 1xx responses sent (server) or received (client)
	appReset     bool               // the app reset the stream ...
	appResetCode core.ErrCode       // ... with this code
	resetting    bool               // inside the app's own ResetStream call

	// Received.
	recv        int64
	gotHeaders  bool
	recvEnd     bool
	gotTrailers bool
}

// finished reports whether the stream needs nothing more: the client has
// its terminal event, and so has the server if it ever saw the stream.
func (st *simStream) finished() bool {
	c, s := &st.ends[simClient], &st.ends[simServer]
	return c.done && (s.done || !s.known)
}

// describe names a stream and its state in both cores, for liveness
// failures.
func (st *simStream) describe() string {
	s := fmt.Sprintf("c%d stream %d (%s)", st.conn.idx, st.id, st.work)
	for side, e := range st.conn.ends {
		me := &st.ends[side]
		s += fmt.Sprintf("\n    %s app: known=%v done=%v outcome=%q sent=%d ended=%v recv=%d recvEnd=%v blocked=%v"+
			"\n    %s core: phase=%v state=%v sendWindow=%d (conn %d) recvWindow=%d (conn %d) buffered=%d queued=%d wantsInput=%v",
			simSide(side), me.known, me.done, me.outcome, me.sent, me.ended, me.recv, me.recvEnd, me.blocked,
			simSide(side), e.core.Phase(), e.core.StreamState(st.id), e.core.SendWindow(st.id), e.core.SendWindow(0),
			e.core.RecvWindow(st.id), e.core.RecvWindow(0), e.core.Buffered(st.id), e.core.QueuedOutput(), e.core.WantsInput())
	}
	return s
}

// simKind is a workload's shape.
type simKind uint8

const (
	simGet     simKind = iota // GET: the server generates a body
	simPost                   // POST: the server echoes the body
	simBidi                   // POST, ping-pong: each chunk echoed before the next
	simConnect                // CONNECT tunnel (RFC 9113 §8.5), echoed ping-pong
	simNumKinds
)

var simKindNames = [...]string{"get", "post", "bidi", "connect"}

func (k simKind) String() string { return simKindNames[k] }

// simWork is one request a client wants made, immutable once chosen except
// for its retry count. The request headers carry what the server must do.
type simWork struct {
	kind          simKind
	seed          uint64 // pattern of the request body (GET: of the response)
	size          int64  // request body; GET: response body
	buffer        bool   // POST: the server collects the body before answering
	reqTrailers   bool
	respTrailers  bool
	info          bool // the server sends 103 before the final response
	pad           int  // a request field this long, and one in the response
	contentLength bool // the body's sender declares content-length
	manual        bool // client stream with manual flow control
	consumeDelay  time.Duration
	respondDelay  time.Duration
	sliceMax      int // largest SendData call
	chunkMax      int // bidi, CONNECT: largest round trip
	retries       int
}

func (k *simWork) String() string {
	return fmt.Sprintf("%v size=%d buffer=%v trailers=%v/%v info=%v cl=%v pad=%d manual=%v retries=%d",
		k.kind, k.size, k.buffer, k.reqTrailers, k.respTrailers, k.info, k.contentLength, k.pad, k.manual, k.retries)
}

// respSeed is the pattern a server generates for a GET with this seed.
func simRespSeed(seed uint64) uint64 { return seed*0x9e3779b97f4a7c15 + 1 }

// bodySeed is the pattern the client must receive.
func (k *simWork) bodySeed() uint64 {
	if k.kind == simGet {
		return simRespSeed(k.seed)
	}
	return k.seed
}

// request builds the request's header fields.
func (k *simWork) request(pat *simPattern) []core.HeaderField {
	hf := func(n, v string) core.HeaderField { return core.HeaderField{Name: n, Value: v} }
	var h []core.HeaderField
	if k.kind == simConnect {
		h = append(h, hf(":method", "CONNECT"), hf(":authority", "tunnel.sim.test:443"))
	} else {
		method, path := "POST", "/echo"
		switch k.kind {
		case simGet:
			method, path = "GET", "/gen"
		case simBidi:
			path = "/bidi"
		}
		h = append(h, hf(":method", method), hf(":scheme", "https"), hf(":authority", "sim.test"), hf(":path", path))
		h = append(h, hf("x-sim-seed", strconv.FormatUint(k.seed, 10)))
	}
	if k.kind == simGet {
		h = append(h, hf("x-sim-size", strconv.FormatInt(k.size, 10)))
		if k.contentLength {
			h = append(h, hf("x-sim-cl", "1"))
		}
	}
	if k.kind == simPost && k.contentLength {
		h = append(h, hf("content-length", strconv.FormatInt(k.size, 10)))
	}
	if k.buffer {
		h = append(h, hf("x-sim-mode", "buffer"))
	}
	if k.respTrailers {
		h = append(h, hf("te", "trailers"), hf("x-sim-trailers", "1"))
	}
	if k.info {
		h = append(h, hf("x-sim-info", "1"))
	}
	if k.respondDelay > 0 {
		h = append(h, hf("x-sim-delay", strconv.FormatInt(int64(k.respondDelay), 10)))
	}
	if k.pad > 0 {
		h = append(h, hf("x-sim-pad", pat.pad(k.seed, k.pad)))
	}
	return h
}

// simTrailers builds a trailer section naming who sent it and how much.
func simTrailers(who string, seed uint64, sent int64) []core.HeaderField {
	return []core.HeaderField{
		{Name: "x-sim-" + who + "-trailer", Value: strconv.FormatUint(seed, 10)},
		{Name: "x-sim-sent", Value: strconv.FormatInt(sent, 10)},
	}
}

// simPatternLen is the period of the body pattern; bodies are shorter.
const simPatternLen = 1 << 18

// simPattern is the content of every body: byte i of the body with seed s
// is table[(s+i) mod simPatternLen]. A random table makes a chunk at the
// wrong offset, or from another stream, differ from what is expected.
type simPattern struct{ table []byte }

func newSimPattern() *simPattern {
	rng := rand.New(rand.NewPCG(0x5eed, 0xb0d1))
	b := make([]byte, 2*simPatternLen) // doubled, so any window is contiguous
	for i := 0; i < simPatternLen; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	copy(b[simPatternLen:], b[:simPatternLen])
	return &simPattern{table: b}
}

// at returns n bytes (n ≤ simPatternLen) of the body with the given seed,
// from offset off. The slice is shared: never modify it.
func (p *simPattern) at(seed uint64, off int64, n int) []byte {
	start := (seed + uint64(off)) % simPatternLen
	return p.table[start : start+uint64(n) : start+uint64(n)]
}

// pad returns a field value of n lowercase letters drawn from the pattern.
func (p *simPattern) pad(seed uint64, n int) string {
	b := make([]byte, n)
	for i, c := range p.at(seed, 0, n) {
		b[i] = 'a' + c%26
	}
	return string(b)
}

// simFieldsEqual compares header lists exactly.
func simFieldsEqual(a, b []core.HeaderField) bool {
	return slices.EqualFunc(a, b, func(x, y core.HeaderField) bool {
		return x.Name == y.Name && x.Value == y.Value
	})
}

// simHeader returns the value of the first field called name.
func simHeader(h []core.HeaderField, name string) string {
	for _, f := range h {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}
