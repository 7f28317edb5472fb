package main

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// maxRead bounds the bytes one watcher reads: the server's output to one
// connection (a backlog of ACKs, a dribbled body) is finite, but the
// client's memory is bounded anyway.
const maxRead = 256 << 20

// watcher reads a connection's incoming frames on its own goroutine and
// records what the server did.
type watcher struct {
	nc      net.Conn
	notify  chan struct{} // signalled (non-blocking) after every change
	stopped chan struct{} // closed when the read loop ends

	mu       sync.Mutex
	started  bool
	goaway   bool
	code     frame.ErrCode
	debug    string
	rsts     int
	rstCode  frame.ErrCode
	closed   bool // EOF or a read error other than our deadline
	reactAt  time.Time
	pingAcks map[[8]byte]bool
	status   map[uint32]int // final :status per stream
	refusal  int            // first 4xx/5xx status seen
	read     int64
}

func newWatcher(nc net.Conn) *watcher {
	return &watcher{nc: nc, notify: make(chan struct{}, 1), stopped: make(chan struct{}),
		pingAcks: map[[8]byte]bool{}, status: map[uint32]int{}}
}

func (w *watcher) start() {
	w.mu.Lock()
	w.started = true
	w.mu.Unlock()
	go w.loop()
}

func (w *watcher) signal() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *watcher) loop() {
	defer close(w.stopped)
	defer w.signal()
	var (
		buf    = make([]byte, 0, 64<<10)
		stream uint32
		st     int
	)
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			st, _ = strconv.Atoi(f.Value)
		}
	})
	dec.SetMaxStringLength(1 << 20)
	tmp := make([]byte, 32<<10)
	for {
		n, err := w.nc.Read(tmp)
		buf = append(buf, tmp[:n]...)
		w.mu.Lock()
		w.read += int64(n)
		for {
			f, m, perr := frame.Parse(buf, frame.MaxMaxFrameSize)
			if perr != nil && m == 0 {
				break // need more (or a broken header: stop parsing)
			}
			w.frame(&f, dec, &stream, &st)
			buf = buf[:copy(buf, buf[m:])]
		}
		over := w.read > maxRead
		if err != nil && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
			w.closed = true
			w.react()
		}
		w.mu.Unlock()
		if n > 0 {
			w.signal()
		}
		if err != nil || over {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, io.EOF)
}

// react notes the time of the server's first reaction.
func (w *watcher) react() {
	if w.reactAt.IsZero() {
		w.reactAt = time.Now()
	}
}

// frame records one frame; called with mu held.
func (w *watcher) frame(f *frame.Frame, dec *hpack.Decoder, stream *uint32, st *int) {
	switch f.Type {
	case frame.TypeGoAway:
		if !w.goaway {
			w.goaway, w.code, w.debug = true, f.ErrCode, string(f.Data)
			w.react()
		}
	case frame.TypeRSTStream:
		if w.rsts == 0 {
			w.rstCode = f.ErrCode
			w.react()
		}
		w.rsts++
	case frame.TypePing:
		if f.IsAck() {
			w.pingAcks[f.PingData] = true
		}
	case frame.TypeHeaders, frame.TypeContinuation:
		if f.Type == frame.TypeHeaders {
			*stream, *st = f.StreamID, 0
		}
		if _, err := dec.Write(f.Data); err != nil {
			return
		}
		if f.EndHeaders() {
			_ = dec.Close()
			if *st >= 200 {
				w.status[*stream] = *st
				if *st >= 400 && w.refusal == 0 {
					w.refusal = *st
				}
			}
		}
	}
}

// done reports whether the server ended the connection (GOAWAY or close).
func (w *watcher) done() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.goaway || w.closed
}

// waitQuiet waits until cond holds, or until no byte has arrived for quiet,
// or until hard, and reports cond. A backlog the server wrote before
// closing (a client that did not read) is read to its end this way.
func (w *watcher) waitQuiet(quiet time.Duration, hard time.Time, cond func() bool) bool {
	for {
		w.mu.Lock()
		before := w.read
		w.mu.Unlock()
		if w.waitUntil(minTime(hard, time.Now().Add(quiet)), cond) {
			return true
		}
		w.mu.Lock()
		moved := w.read != before
		w.mu.Unlock()
		if !moved || !time.Now().Before(hard) {
			return false
		}
	}
}

// waitUntil waits until cond (evaluated with mu held) holds or the deadline
// passes, and reports cond.
func (w *watcher) waitUntil(deadline time.Time, cond func() bool) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		w.mu.Lock()
		ok := cond()
		w.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-w.notify:
		case <-w.stopped:
			w.mu.Lock()
			ok := cond()
			w.mu.Unlock()
			return ok
		case <-t.C:
			return false
		}
	}
}
