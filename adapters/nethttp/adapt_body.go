package nethttp

import (
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	h2 "github.com/h2proto/h2"
	"golang.org/x/net/http/httpguts"
)

// srvBody is a request body read from its stream. Reading it credits the
// flow-control windows (RFC 9113 §6.9): a handler that stops reading stops
// the client once the stream window is used up.
type srvBody struct {
	s   *h2.Stream
	req *http.Request
	rw  *srvWriter // sends 100 Continue before the first read

	needContinue bool // Expect: 100-continue, 100 not sent yet

	mu       sync.Mutex
	closed   bool
	err      error     // sticky: io.EOF or the stream's error
	deadline time.Time // SetReadDeadline
	// A read the deadline gave up on goes on in the background (Stream has
	// no cancellable Read): its result is kept for the next Read.
	pending chan srvReadResult
	left    []byte // bytes of a background read not yet returned
}

type srvReadResult struct {
	p   []byte
	err error
}

// Read reads the request content; io.EOF after the last byte, with the
// request trailers then in req.Trailer. A reset stream gives its error.
func (b *srvBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	case len(b.left) > 0:
		n := copy(p, b.left)
		b.left = b.left[n:]
		b.mu.Unlock()
		return n, nil
	case b.err != nil:
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	if b.needContinue {
		b.needContinue = false
		if b.rw != nil {
			b.rw.sendContinue()
		}
	}
	deadline, pending := b.deadline, b.pending
	b.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	if deadline.IsZero() && pending == nil {
		n, err := b.s.Read(p)
		return b.done(n, err)
	}
	return b.readDeadline(p, deadline)
}

// readDeadline reads with a deadline: the Stream's Read runs on a goroutine
// and the wait for it is bounded.
func (b *srvBody) readDeadline(p []byte, deadline time.Time) (int, error) {
	b.mu.Lock()
	if b.pending == nil {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			b.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		ch := make(chan srvReadResult, 1)
		b.pending = ch
		buf := make([]byte, min(len(p), 32<<10))
		go func() {
			n, err := b.s.Read(buf)
			ch <- srvReadResult{buf[:n], err}
		}()
	}
	ch := b.pending
	b.mu.Unlock()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case r := <-ch:
		b.mu.Lock()
		b.pending = nil
		n := copy(p, r.p)
		b.left = r.p[n:]
		more := len(b.left) > 0
		b.mu.Unlock()
		if more {
			// The error (io.EOF) comes after the rest.
			_, _ = b.done(0, r.err)
			return n, nil
		}
		return b.done(n, r.err)
	case <-timeout:
		return 0, os.ErrDeadlineExceeded
	}
}

// done records the end of the content: a sticky error, and the trailers.
func (b *srvBody) done(n int, err error) (int, error) {
	if err == nil {
		return n, nil
	}
	b.mu.Lock()
	if b.err == nil {
		b.err = err
		if err == io.EOF {
			b.fillTrailers()
		}
	}
	b.mu.Unlock()
	return n, err
}

// fillTrailers puts the received trailer fields in req.Trailer, declared
// or not, except those no trailer may carry (httpguts.ValidTrailerHeader:
// Content-Length, Host, Trailer, Transfer-Encoding, …), which are dropped.
// b.mu is held.
func (b *srvBody) fillTrailers() {
	for _, f := range b.s.Trailers() {
		k := canonicalKey(f.Name)
		if !httpguts.ValidTrailerHeader(k) {
			continue
		}
		if b.req.Trailer == nil {
			b.req.Trailer = make(http.Header)
		}
		b.req.Trailer[k] = append(b.req.Trailer[k], f.Value)
	}
}

// Close stops reading: later Reads fail with http.ErrBodyReadAfterClose.
// Content still arriving is dropped when the handler returns (the stream
// is then reset with NO_ERROR, RFC 9113 §8.1, if the response completed).
func (b *srvBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// setDeadline sets the read deadline (zero: none).
func (b *srvBody) setDeadline(t time.Time) {
	b.mu.Lock()
	b.deadline = t
	b.mu.Unlock()
}
