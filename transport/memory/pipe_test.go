package memory_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/h2proto/h2/transport/memory"
)

// bound is the limit on every wait in these tests.
const bound = 10 * time.Second

// settle is how long a negative check ("still blocked") waits. It only
// gives a wrongly unblocked call the chance to show itself; nothing
// depends on it for ordering.
const settle = 20 * time.Millisecond

type ioResult struct {
	n   int
	err error
	b   []byte
}

// goRead reads into a buffer of size n on another goroutine.
func goRead(c net.Conn, n int) <-chan ioResult {
	ch := make(chan ioResult, 1)
	go func() {
		buf := make([]byte, n)
		n, err := c.Read(buf)
		ch <- ioResult{n: n, err: err, b: buf[:n]}
	}()
	return ch
}

// goWrite writes p on another goroutine.
func goWrite(c net.Conn, p []byte) <-chan ioResult {
	ch := make(chan ioResult, 1)
	go func() {
		n, err := c.Write(p)
		ch <- ioResult{n: n, err: err}
	}()
	return ch
}

// await returns the result of an operation started by goRead or goWrite,
// failing the test if it takes longer than bound.
func await(t *testing.T, what string, ch <-chan ioResult) ioResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(bound):
		t.Fatalf("%s did not return within %v", what, bound)
		return ioResult{}
	}
}

// blocked checks that the operation has not returned yet.
func blocked(t *testing.T, what string, ch <-chan ioResult) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned (%d, %v) while it should block", what, r.n, r.err)
	case <-time.After(settle):
	}
}

// waitUntil polls cond, yielding the processor, until it holds or bound
// passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, bound)
		}
		runtime.Gosched()
	}
}

// pattern returns n reproducible pseudo-random bytes.
func pattern(n int) []byte {
	p := make([]byte, n)
	r := rand.NewChaCha8([32]byte{'h', '2'})
	_, _ = r.Read(p)
	return p
}

func mustWrite(t *testing.T, c net.Conn, p []byte) {
	t.Helper()
	if n, err := c.Write(p); n != len(p) || err != nil {
		t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
	}
}

func mustRead(t *testing.T, c net.Conn, want string) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("ReadFull: %v (got %q)", err, got)
	}
	if string(got) != want {
		t.Fatalf("read %q, want %q", got, want)
	}
}

func closeBoth(t *testing.T, a, b *memory.Conn) {
	t.Cleanup(func() {
		_ = a.Close()
		_ = b.Close()
	})
}

func TestPipeMiBChunked(t *testing.T) {
	const size = 1 << 20
	const maxChunk = 1000
	data := pattern(size)
	for _, tc := range []struct {
		name string
		cfg  memory.Config
	}{
		{"default buffer", memory.Config{Seed: 1, MaxChunk: maxChunk}},
		{"small buffer", memory.Config{Seed: 2, MaxChunk: maxChunk, Buffer: 4096}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := memory.Pipe(tc.cfg)
			closeBoth(t, a, b)

			werr := make(chan error, 1)
			go func() {
				// Writes of varying sizes, then a half-close for EOF.
				p, sizes := data, []int{1, 7000, 65536, 3, 999, 1001, 123456}
				for i := 0; len(p) > 0; i++ {
					n := min(sizes[i%len(sizes)], len(p))
					if m, err := a.Write(p[:n]); m != n || err != nil {
						werr <- err
						return
					}
					p = p[n:]
				}
				werr <- a.CloseWrite()
			}()

			var got []byte
			buf := make([]byte, 4096)
			reads, limited := 0, 0
			deadline := time.Now().Add(bound)
			for {
				if time.Now().After(deadline) {
					t.Fatalf("read %d of %d bytes within %v", len(got), size, bound)
				}
				n, err := b.Read(buf)
				if n > maxChunk {
					t.Fatalf("Read returned %d bytes, more than MaxChunk %d", n, maxChunk)
				}
				if n < maxChunk {
					limited++
				}
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Read after %d bytes: %v", len(got), err)
				}
				if n == 0 {
					t.Fatal("Read returned 0, nil")
				}
				reads++
			}
			if err := <-werr; err != nil {
				t.Fatalf("writer: %v", err)
			}
			if len(got) != size {
				t.Fatalf("read %d bytes, want %d", len(got), size)
			}
			if !bytes.Equal(got, data) {
				i := 0
				for i < size && got[i] == data[i] {
					i++
				}
				t.Fatalf("data differs from offset %d", i)
			}
			if reads < size/maxChunk {
				t.Errorf("%d reads for %d bytes: chunks larger than MaxChunk", reads, size)
			}
			if limited == 0 {
				t.Error("every read was exactly MaxChunk: chunk sizes are not random")
			}
			if a.BytesWritten() != size || b.BytesRead() != size {
				t.Errorf("BytesWritten %d, BytesRead %d, want %d", a.BytesWritten(), b.BytesRead(), size)
			}
		})
	}
}

// readSizes writes n bytes into a fresh pipe with cfg, half-closes it,
// and returns the sizes of the reads (buffer 4096) that drain it.
func readSizes(t *testing.T, cfg memory.Config, n int) []int {
	t.Helper()
	a, b := memory.Pipe(cfg)
	defer a.Close()
	defer b.Close()
	mustWrite(t, a, pattern(n))
	if err := a.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	buf := make([]byte, 4096)
	for {
		k, err := b.Read(buf)
		if err == io.EOF {
			return sizes
		}
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MaxChunk > 0 && k > cfg.MaxChunk {
			t.Fatalf("read of %d bytes exceeds MaxChunk %d", k, cfg.MaxChunk)
		}
		sizes = append(sizes, k)
	}
}

func TestPipeSeedDeterminism(t *testing.T) {
	cfg := memory.Config{Seed: 42, MaxChunk: 100}
	s1 := readSizes(t, cfg, 20000)
	s2 := readSizes(t, cfg, 20000)
	if !slices.Equal(s1, s2) {
		t.Fatalf("same Seed, different read sizes:\n%v\n%v", s1, s2)
	}
	if len(s1) < 200 {
		t.Fatalf("%d reads for 20000 bytes with MaxChunk 100", len(s1))
	}
	distinct := map[int]bool{}
	for _, s := range s1 {
		distinct[s] = true
	}
	if len(distinct) < 10 {
		t.Errorf("only %d distinct read sizes: %v", len(distinct), s1)
	}

	cfg.Seed = 43
	if s3 := readSizes(t, cfg, 20000); slices.Equal(s1, s3) {
		t.Fatalf("Seeds 42 and 43 gave the same read sizes %v", s1)
	}
}

func TestPipeSeedPerDirection(t *testing.T) {
	// Both directions are chunked, each reproducibly.
	run := func() (ab, ba []int) {
		a, b := memory.Pipe(memory.Config{Seed: 7, MaxChunk: 50})
		defer a.Close()
		defer b.Close()
		mustWrite(t, a, pattern(5000))
		mustWrite(t, b, pattern(5000))
		buf := make([]byte, 1000)
		for range 20 {
			n, err := b.Read(buf)
			if err != nil || n > 50 {
				t.Fatalf("b.Read = %d, %v", n, err)
			}
			ab = append(ab, n)
			n, err = a.Read(buf)
			if err != nil || n > 50 {
				t.Fatalf("a.Read = %d, %v", n, err)
			}
			ba = append(ba, n)
		}
		return ab, ba
	}
	ab1, ba1 := run()
	ab2, ba2 := run()
	if !slices.Equal(ab1, ab2) || !slices.Equal(ba1, ba2) {
		t.Fatalf("same Seed, different sizes: %v %v / %v %v", ab1, ba1, ab2, ba2)
	}
}

func TestPipeUnchunked(t *testing.T) {
	// MaxChunk 0: a read takes everything that fits.
	a, b := memory.Pipe(memory.Config{})
	closeBoth(t, a, b)
	mustWrite(t, a, []byte("hello, "))
	mustWrite(t, a, []byte("world"))
	buf := make([]byte, 100)
	n, err := b.Read(buf)
	if err != nil || string(buf[:n]) != "hello, world" {
		t.Fatalf("Read = %q, %v; want everything written", buf[:n], err)
	}
	// A short buffer gets what fits, the rest stays.
	mustWrite(t, a, []byte("abcdef"))
	if n, err := b.Read(buf[:4]); n != 4 || err != nil || string(buf[:4]) != "abcd" {
		t.Fatalf("Read(4) = %d, %v, %q", n, err, buf[:n])
	}
	mustRead(t, b, "ef")
	// A zero-length read returns at once.
	if n, err := b.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
}

func TestPipeAddrs(t *testing.T) {
	a, b := memory.Pipe(memory.Config{})
	closeBoth(t, a, b)
	if a.LocalAddr().Network() != "memory" || b.RemoteAddr().Network() != "memory" {
		t.Errorf("networks %q %q", a.LocalAddr().Network(), b.RemoteAddr().Network())
	}
	if a.LocalAddr() != b.RemoteAddr() || a.RemoteAddr() != b.LocalAddr() {
		t.Errorf("a %v->%v, b %v->%v", a.LocalAddr(), a.RemoteAddr(), b.LocalAddr(), b.RemoteAddr())
	}
	if a.LocalAddr() == a.RemoteAddr() {
		t.Errorf("both ends are %v", a.LocalAddr())
	}
	c, d := memory.Pipe(memory.Config{})
	closeBoth(t, c, d)
	if c.LocalAddr() == a.LocalAddr() {
		t.Errorf("two pipes share the address %v", a.LocalAddr())
	}
	var _ net.Conn = a
}

func TestPipeLatency(t *testing.T) {
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clk, Latency: 10 * time.Millisecond})
	closeBoth(t, a, b)

	mustWrite(t, a, []byte("first"))
	clk.Advance(4 * time.Millisecond)
	mustWrite(t, a, []byte("second"))

	// Nothing has arrived: a read with the deadline now fails at once.
	noData := func(when string) {
		t.Helper()
		if err := b.SetReadDeadline(clk.Now()); err != nil {
			t.Fatal(err)
		}
		n, err := b.Read(make([]byte, 100))
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: Read = %d, %v; want nothing readable", when, n, err)
		}
		_ = b.SetReadDeadline(time.Time{})
	}
	noData("at 4ms")

	// A blocked reader wakes when the first write arrives.
	r := goRead(b, 100)
	blocked(t, "Read before the latency passed", r)
	clk.Advance(5 * time.Millisecond) // 9 ms
	blocked(t, "Read at 9ms", r)
	clk.Advance(time.Millisecond) // 10 ms: "first" arrives
	res := await(t, "Read at 10ms", r)
	if res.err != nil || string(res.b) != "first" {
		t.Fatalf("Read at 10ms = %q, %v; want first", res.b, res.err)
	}
	noData("at 10ms")

	clk.Advance(4 * time.Millisecond) // 14 ms: "second" arrives
	res = await(t, "Read at 14ms", goRead(b, 100))
	if res.err != nil || string(res.b) != "second" {
		t.Fatalf("Read at 14ms = %q, %v; want second", res.b, res.err)
	}
}

func TestPipeLatencyEverythingAfterAdvance(t *testing.T) {
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clk, Latency: 10 * time.Millisecond, MaxChunk: 10})
	closeBoth(t, a, b)
	data := pattern(1000)
	for i := 0; i < len(data); i += 100 {
		mustWrite(t, a, data[i:i+100])
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Not even EOF is visible before the bytes arrive.
	_ = b.SetReadDeadline(clk.Now())
	if n, err := b.Read(make([]byte, 10)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read before latency = %d, %v", n, err)
	}
	_ = b.SetReadDeadline(time.Time{})

	clk.Advance(10 * time.Millisecond)
	// Everything has arrived, EOF included: reading it all must not block.
	ch := make(chan ioResult, 1)
	go func() {
		got, err := io.ReadAll(b)
		ch <- ioResult{n: len(got), err: err, b: got}
	}()
	r := await(t, "ReadAll after the latency", ch)
	if r.err != nil {
		t.Fatalf("ReadAll after latency: %v", r.err)
	}
	if !bytes.Equal(r.b, data) {
		t.Fatalf("read %d bytes, not the %d written", r.n, len(data))
	}
}

func TestPipeLatencyWithoutClockIsInstant(t *testing.T) {
	a, b := memory.Pipe(memory.Config{Latency: time.Hour})
	closeBoth(t, a, b)
	mustWrite(t, a, []byte("now"))
	res := await(t, "Read", goRead(b, 10))
	if res.err != nil || string(res.b) != "now" {
		t.Fatalf("Read = %q, %v", res.b, res.err)
	}
}

func TestPipeWriteBlocksOnBuffer(t *testing.T) {
	const buffer = 64
	a, b := memory.Pipe(memory.Config{Buffer: buffer})
	closeBoth(t, a, b)

	data := pattern(buffer + 36)
	w := goWrite(a, data)
	// The writer puts Buffer bytes in flight, then must block.
	waitUntil(t, "Buffer bytes written", func() bool { return a.BytesWritten() == buffer })
	blocked(t, "Write beyond Buffer", w)
	if got := a.BytesWritten(); got != buffer {
		t.Fatalf("%d bytes written with a %d-byte buffer", got, buffer)
	}

	// Reading 10 bytes makes room for 10 more.
	mustRead(t, b, string(data[:10]))
	waitUntil(t, "10 more bytes written", func() bool { return a.BytesWritten() == buffer+10 })
	blocked(t, "Write still beyond Buffer", w)

	// Reading the rest lets the write finish.
	got := make([]byte, len(data)-10)
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[10:]) {
		t.Fatal("data differs")
	}
	if r := await(t, "Write", w); r.n != len(data) || r.err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", r.n, r.err, len(data))
	}
}

func TestPipeWriteBlocksOnBufferWithLatency(t *testing.T) {
	// Bytes still travelling count against Buffer.
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Buffer: 10, Clock: clk, Latency: time.Millisecond})
	closeBoth(t, a, b)
	mustWrite(t, a, pattern(10))
	_ = a.SetWriteDeadline(clk.Now().Add(time.Microsecond))
	w := goWrite(a, []byte("x"))
	blocked(t, "Write with Buffer bytes travelling", w)
	clk.Advance(time.Microsecond)
	if r := await(t, "Write", w); r.n != 0 || !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %d, %v; want a timeout", r.n, r.err)
	}
	_ = a.SetWriteDeadline(time.Time{})
	clk.Advance(time.Millisecond)
	if _, err := io.ReadFull(b, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if r := await(t, "Write after the reader drained", goWrite(a, []byte("y"))); r.n != 1 || r.err != nil {
		t.Fatalf("Write = %d, %v", r.n, r.err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

func TestPipeReadDeadlineRealTime(t *testing.T) {
	a, b := memory.Pipe(memory.Config{})
	closeBoth(t, a, b)

	const d = 30 * time.Millisecond
	dl := time.Now().Add(d)
	_ = b.SetReadDeadline(dl)
	r := await(t, "Read with a deadline", goRead(b, 10))
	if !isTimeout(r.err) {
		t.Fatalf("Read = %d, %v; want os.ErrDeadlineExceeded", r.n, r.err)
	}
	if now := time.Now(); now.Before(dl) {
		t.Errorf("Read timed out %v before its deadline", dl.Sub(now))
	}
	// Later reads fail too, until the deadline is cleared.
	if _, err := b.Read(make([]byte, 10)); !isTimeout(err) {
		t.Fatalf("second Read = %v", err)
	}
	_ = b.SetReadDeadline(time.Time{})
	mustWrite(t, a, []byte("ok"))
	mustRead(t, b, "ok")
}

func TestPipeDeadlineExtendedWhileBlocked(t *testing.T) {
	a, b := memory.Pipe(memory.Config{})
	closeBoth(t, a, b)
	_ = b.SetReadDeadline(time.Now().Add(time.Millisecond))
	_ = b.SetReadDeadline(time.Now().Add(bound))
	r := goRead(b, 10)
	blocked(t, "Read after the deadline was extended", r)
	mustWrite(t, a, []byte("x"))
	if res := await(t, "Read", r); res.err != nil || string(res.b) != "x" {
		t.Fatalf("Read = %q, %v", res.b, res.err)
	}
}

func TestPipeWriteDeadlineRealTime(t *testing.T) {
	a, b := memory.Pipe(memory.Config{Buffer: 8})
	closeBoth(t, a, b)
	mustWrite(t, a, pattern(8))

	dl := time.Now().Add(30 * time.Millisecond)
	_ = a.SetWriteDeadline(dl)
	r := await(t, "Write with a full buffer", goWrite(a, []byte("more")))
	if r.n != 0 || !isTimeout(r.err) {
		t.Fatalf("Write = %d, %v; want 0, os.ErrDeadlineExceeded", r.n, r.err)
	}
	if now := time.Now(); now.Before(dl) {
		t.Errorf("Write timed out %v before its deadline", dl.Sub(now))
	}
	// A past deadline fails writes at once, even with room.
	mustRead(t, b, string(pattern(8)))
	if n, err := a.Write([]byte("x")); n != 0 || !isTimeout(err) {
		t.Fatalf("Write after the deadline = %d, %v", n, err)
	}
	_ = a.SetWriteDeadline(time.Time{})
	mustWrite(t, a, []byte("x"))
	mustRead(t, b, "x")
}

func TestPipeDeadlinesVirtual(t *testing.T) {
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clk, Buffer: 4})
	closeBoth(t, a, b)

	// Read: blocks until the clock reaches the deadline, however long the
	// real wait.
	_ = b.SetReadDeadline(clk.Now().Add(5 * time.Second))
	r := goRead(b, 10)
	blocked(t, "Read before the virtual deadline", r)
	clk.Advance(5*time.Second - 1)
	blocked(t, "Read 1ns before the virtual deadline", r)
	clk.Advance(1)
	if res := await(t, "Read at the virtual deadline", r); res.n != 0 || !isTimeout(res.err) {
		t.Fatalf("Read = %d, %v; want os.ErrDeadlineExceeded", res.n, res.err)
	}

	// Write: the same, with a full buffer.
	mustWrite(t, a, []byte("full"))
	_ = a.SetWriteDeadline(clk.Now().Add(time.Second))
	w := goWrite(a, []byte("more"))
	blocked(t, "Write before the virtual deadline", w)
	clk.Advance(time.Second)
	if res := await(t, "Write at the virtual deadline", w); res.n != 0 || !isTimeout(res.err) {
		t.Fatalf("Write = %d, %v; want os.ErrDeadlineExceeded", res.n, res.err)
	}

	// SetDeadline sets both; the zero time clears both.
	_ = a.SetDeadline(clk.Now())
	if _, err := a.Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("Read after SetDeadline(now) = %v", err)
	}
	if _, err := a.Write([]byte("x")); !isTimeout(err) {
		t.Errorf("Write after SetDeadline(now) = %v", err)
	}
	_ = a.SetDeadline(time.Time{})
	_ = b.SetReadDeadline(time.Time{})
	mustRead(t, b, "full")
	mustWrite(t, a, []byte("ok"))
	mustRead(t, b, "ok")
}

func TestPipeVirtualDeadlineIgnoresRealTime(t *testing.T) {
	clk := memory.NewClock(time.Time{})
	_, b := memory.Pipe(memory.Config{Clock: clk})
	// A deadline that has long passed in real time but not on the clock.
	_ = b.SetReadDeadline(memory.Epoch.Add(time.Millisecond))
	r := goRead(b, 1)
	blocked(t, "Read with a virtual deadline ahead", r)
	clk.Advance(time.Millisecond)
	if res := await(t, "Read", r); !isTimeout(res.err) {
		t.Fatalf("Read = %v", res.err)
	}
}

func TestPipeReadAfterDeadlineFailsWithData(t *testing.T) {
	// net.Conn: once a deadline has passed, reads fail (SetReadDeadline:
	// "blocked and later reads fail"), whether or not data is waiting, as
	// writes do and as TCP and net.Pipe do.
	for _, tc := range []struct {
		name string
		clk  *memory.Clock
	}{{"real time", nil}, {"virtual", memory.NewClock(time.Time{})}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := memory.Pipe(memory.Config{Clock: tc.clk})
			closeBoth(t, a, b)
			mustWrite(t, a, []byte("waiting"))
			past := time.Now().Add(-time.Second)
			if tc.clk != nil {
				past = tc.clk.Now()
			}
			_ = b.SetReadDeadline(past)
			if n, err := b.Read(make([]byte, 10)); !isTimeout(err) {
				t.Errorf("Read after the deadline with data waiting = %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
			}
		})
	}
}

func TestPipeClose(t *testing.T) {
	a, b := memory.Pipe(memory.Config{MaxChunk: 3, Seed: 9})
	mustWrite(t, a, []byte("pending bytes"))
	// A read blocked on a (nothing to read) ends with the close.
	ar := goRead(a, 10)
	blocked(t, "a.Read with nothing to read", ar)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if r := await(t, "blocked a.Read", ar); !errors.Is(r.err, net.ErrClosed) {
		t.Errorf("blocked local Read after Close = %d, %v; want net.ErrClosed", r.n, r.err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// The peer reads what was written, then EOF, and keeps reading EOF.
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "pending bytes" {
		t.Fatalf("peer ReadAll = %q, %v", got, err)
	}
	if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("peer Read after EOF = %d, %v", n, err)
	}
	// The peer's writes fail.
	if n, err := b.Write([]byte("x")); n != 0 || !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("peer Write after Close = %d, %v; want io.ErrClosedPipe", n, err)
	}
	// Local operations fail with net.ErrClosed.
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("local Read after Close = %v, want net.ErrClosed", err)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("local Write after Close = %v, want net.ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("peer Close: %v", err)
	}
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after both closed = %v, want net.ErrClosed", err)
	}
}

func TestPipeCloseUnblocksWriters(t *testing.T) {
	a, b := memory.Pipe(memory.Config{Buffer: 4})
	mustWrite(t, a, []byte("full"))
	mustWrite(t, b, []byte("full"))
	aw := goWrite(a, []byte("local"))
	bw := goWrite(b, []byte("peer"))
	blocked(t, "a.Write on a full buffer", aw)
	blocked(t, "b.Write on a full buffer", bw)
	_ = a.Close()
	if r := await(t, "blocked local Write", aw); r.n != 0 || !errors.Is(r.err, net.ErrClosed) {
		t.Errorf("blocked local Write after Close = %d, %v; want net.ErrClosed", r.n, r.err)
	}
	if r := await(t, "blocked peer Write", bw); r.n != 0 || r.err == nil {
		t.Errorf("blocked peer Write after Close = %d, %v; want an error", r.n, r.err)
	}
	_ = b.Close()
}

func TestPipeCloseWrite(t *testing.T) {
	a, b := memory.Pipe(memory.Config{})
	closeBoth(t, a, b)
	mustWrite(t, a, []byte("request"))
	r := goRead(a, 100) // a's read side stays open
	if err := a.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "request" {
		t.Fatalf("peer ReadAll = %q, %v", got, err)
	}
	if n, err := a.Write([]byte("x")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after CloseWrite = %d, %v; want net.ErrClosed", n, err)
	}
	if err := a.CloseWrite(); err != nil {
		t.Errorf("second CloseWrite: %v", err)
	}
	blocked(t, "a.Read after its CloseWrite", r)
	mustWrite(t, b, []byte("response"))
	if res := await(t, "a.Read", r); res.err != nil || string(res.b) != "response" {
		t.Fatalf("closer Read = %q, %v; want response", res.b, res.err)
	}
	if err := b.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read after both CloseWrite = %d, %v; want EOF", n, err)
	}
}

func TestPipeBreak(t *testing.T) {
	custom := errors.New("reset by test")
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{{"nil", nil, memory.ErrBroken}, {"custom", custom, custom}} {
		for _, side := range []string{"a", "b"} {
			t.Run(tc.name+"/"+side, func(t *testing.T) {
				a, b := memory.Pipe(memory.Config{Buffer: 4})
				closeBoth(t, a, b)
				// Blocked readers on both ends need empty buffers; blocked
				// writers need full ones, so use a second pipe for them.
				ar, br := goRead(a, 10), goRead(b, 10)
				blocked(t, "a.Read", ar)
				blocked(t, "b.Read", br)

				c, d := memory.Pipe(memory.Config{Buffer: 4})
				closeBoth(t, c, d)
				mustWrite(t, c, []byte("full"))
				mustWrite(t, d, []byte("full"))
				cw, dw := goWrite(c, []byte("x")), goWrite(d, []byte("y"))
				blocked(t, "c.Write", cw)
				blocked(t, "d.Write", dw)

				if side == "a" {
					a.Break(tc.err)
					c.Break(tc.err)
				} else {
					b.Break(tc.err)
					d.Break(tc.err)
				}
				for _, op := range []struct {
					name string
					ch   <-chan ioResult
				}{{"a.Read", ar}, {"b.Read", br}, {"c.Write", cw}, {"d.Write", dw}} {
					if r := await(t, op.name, op.ch); r.n != 0 || !errors.Is(r.err, tc.want) {
						t.Errorf("blocked %s after Break = %d, %v; want %v", op.name, r.n, r.err, tc.want)
					}
				}
				// Later operations fail too, and the unread bytes are lost.
				for _, conn := range []*memory.Conn{a, b, c, d} {
					if _, err := conn.Read(make([]byte, 10)); !errors.Is(err, tc.want) {
						t.Errorf("Read after Break = %v, want %v", err, tc.want)
					}
					if _, err := conn.Write([]byte("z")); !errors.Is(err, tc.want) {
						t.Errorf("Write after Break = %v, want %v", err, tc.want)
					}
				}
			})
		}
	}
}

func TestPipeBreakKeepsFirstError(t *testing.T) {
	a, b := memory.Pipe(memory.Config{})
	closeBoth(t, a, b)
	first := errors.New("first")
	a.Break(first)
	b.Break(errors.New("second"))
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, first) {
		t.Errorf("Read = %v, want the first Break's error", err)
	}
}

func TestPipeBreakWithLatency(t *testing.T) {
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clk, Latency: time.Second})
	closeBoth(t, a, b)
	mustWrite(t, a, []byte("in flight"))
	a.Break(nil)
	clk.Advance(time.Second) // the travelling bytes are lost
	if _, err := b.Read(make([]byte, 10)); !errors.Is(err, memory.ErrBroken) {
		t.Errorf("Read after Break = %v, want ErrBroken", err)
	}
}

func TestPipeStall(t *testing.T) {
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clk, Buffer: 8})
	closeBoth(t, a, b)

	b.Stall(true)
	mustWrite(t, a, []byte("stalled!"))
	// b cannot read (a deadline shows it without blocking)...
	_ = b.SetReadDeadline(clk.Now())
	if n, err := b.Read(make([]byte, 10)); n != 0 || !isTimeout(err) {
		t.Fatalf("Read while stalled = %d, %v; want nothing", n, err)
	}
	_ = b.SetReadDeadline(time.Time{})
	// ...a blocked read stays blocked...
	r := goRead(b, 10)
	blocked(t, "Read while stalled", r)
	// ...and with Buffer bytes in flight, the peer's writes block.
	w := goWrite(a, []byte("more"))
	blocked(t, "Write to a stalled end with a full buffer", w)
	// The other direction is unaffected.
	mustWrite(t, b, []byte("back"))
	mustRead(t, a, "back")

	b.Stall(false)
	res := await(t, "Read after Stall(false)", r)
	if res.err != nil || !bytes.HasPrefix([]byte("stalled!"), res.b) || res.n == 0 {
		t.Fatalf("Read after Stall(false) = %q, %v", res.b, res.err)
	}
	rest := make([]byte, 8-res.n)
	if _, err := io.ReadFull(b, rest); err != nil || string(res.b)+string(rest) != "stalled!" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
	if wr := await(t, "Write after the stall", w); wr.n != 4 || wr.err != nil {
		t.Fatalf("Write = %d, %v", wr.n, wr.err)
	}
	mustRead(t, b, "more")
}

func TestPipeStallHoldsEOF(t *testing.T) {
	// Bytes and the EOF behind them wait for the end of a stall.
	a, b := memory.Pipe(memory.Config{})
	closeBoth(t, a, b)
	b.Stall(true)
	mustWrite(t, a, []byte("last"))
	_ = a.Close()
	r := goRead(b, 10)
	blocked(t, "Read while stalled", r)
	b.Stall(false)
	if res := await(t, "Read", r); res.err != nil || string(res.b) != "last" {
		t.Fatalf("Read = %q, %v", res.b, res.err)
	}
	if _, err := b.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read = %v, want EOF", err)
	}
}

func TestListener(t *testing.T) {
	l := memory.Listen(memory.Config{})
	defer l.Close()
	var _ net.Listener = l
	if l.Addr().Network() != "memory" || l.Addr().String() == "" {
		t.Errorf("Addr %q %q", l.Addr().Network(), l.Addr())
	}

	type accepted struct {
		c   net.Conn
		err error
	}
	ach := make(chan accepted, 1)
	go func() {
		c, err := l.Accept()
		ach <- accepted{c, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	dc, err := l.Dial(ctx)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer dc.Close()
	var sc net.Conn
	select {
	case r := <-ach:
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		sc = r.c
	case <-time.After(bound):
		t.Fatal("Accept did not return")
	}
	defer sc.Close()

	if dc.LocalAddr() != sc.RemoteAddr() || dc.RemoteAddr() != sc.LocalAddr() {
		t.Errorf("dialed %v->%v, accepted %v->%v", dc.LocalAddr(), dc.RemoteAddr(), sc.LocalAddr(), sc.RemoteAddr())
	}
	mustWrite(t, dc, []byte("hello"))
	mustRead(t, sc, "hello")
	mustWrite(t, sc, []byte("world"))
	mustRead(t, dc, "world")
}

func TestListenerClose(t *testing.T) {
	l := memory.Listen(memory.Config{})

	// A pending Accept and a pending Dial cannot coexist (they would
	// meet), so Close is tested against each in turn.
	ach := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if c != nil {
			_ = c.Close()
		}
		ach <- err
	}()
	select {
	case err := <-ach:
		t.Fatalf("Accept returned %v before any Dial", err)
	case <-time.After(settle):
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-ach:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("pending Accept after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(bound):
		t.Fatal("Close did not end a pending Accept")
	}
	if c, err := l.Accept(); !errors.Is(err, net.ErrClosed) || c != nil {
		t.Errorf("Accept after Close = %v, %v; want nil, net.ErrClosed", c, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if c, err := l.Dial(ctx); !errors.Is(err, net.ErrClosed) || c != nil {
		t.Errorf("Dial after Close = %v, %v; want an error wrapping net.ErrClosed", c, err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestListenerCloseEndsPendingDial(t *testing.T) {
	l := memory.Listen(memory.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	dch := make(chan error, 1)
	go func() {
		c, err := l.Dial(ctx)
		if c != nil {
			_ = c.Close()
		}
		dch <- err
	}()
	select {
	case err := <-dch:
		t.Fatalf("Dial returned %v without an Accept", err)
	case <-time.After(settle):
	}
	_ = l.Close()
	select {
	case err := <-dch:
		if err == nil {
			t.Error("pending Dial succeeded after Close")
		}
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("pending Dial ended with %v, want an error wrapping net.ErrClosed", err)
		}
	case <-time.After(bound):
		t.Fatal("Close did not end a pending Dial")
	}
}

func TestListenerDialContext(t *testing.T) {
	l := memory.Listen(memory.Config{})
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := l.Dial(ctx); !errors.Is(err, context.Canceled) || c != nil {
		t.Errorf("Dial with a cancelled context = %v, %v", c, err)
	}
	tctx, tcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer tcancel()
	if c, err := l.Dial(tctx); !errors.Is(err, context.DeadlineExceeded) || c != nil {
		t.Errorf("Dial without an Accept = %v, %v; want the context's deadline", c, err)
	}
}

func TestListenerSeeds(t *testing.T) {
	// The n-th connection of a listener with Seed s chunks as Pipe with
	// Seed s+n.
	const seed = 100
	cfg := memory.Config{Seed: seed, MaxChunk: 30}
	l := memory.Listen(cfg)
	defer l.Close()

	sizes := func(w, r net.Conn) []int {
		t.Helper()
		mustWrite(t, w, pattern(3000))
		var s []int
		buf := make([]byte, 1000)
		for range 30 {
			n, err := r.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, n)
		}
		return s
	}
	for n := range 3 {
		ach := make(chan net.Conn, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				c = nil
			}
			ach <- c
		}()
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		dc, err := l.Dial(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var sc net.Conn
		select {
		case sc = <-ach:
		case <-time.After(bound):
			t.Fatal("Accept did not return")
		}
		if sc == nil {
			t.Fatal("Accept failed")
		}
		got := sizes(dc, sc)
		_ = dc.Close()
		_ = sc.Close()

		pcfg := cfg
		pcfg.Seed = seed + uint64(n)
		a, b := memory.Pipe(pcfg)
		want := sizes(a, b)
		_ = a.Close()
		_ = b.Close()
		if !slices.Equal(got, want) {
			t.Errorf("connection %d reads %v, want those of Seed %d: %v", n, got, pcfg.Seed, want)
		}
	}
}

func TestPipeConcurrentDuplex(t *testing.T) {
	// Both directions at once under the race detector, with a virtual
	// clock advanced by a third goroutine.
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Seed: 3, MaxChunk: 97, Buffer: 512, Clock: clk, Latency: time.Millisecond})
	closeBoth(t, a, b)
	data := pattern(64 << 10)

	errs := make(chan error, 4)
	send := func(c *memory.Conn) {
		if _, err := c.Write(data); err != nil {
			errs <- err
			return
		}
		errs <- c.CloseWrite()
	}
	recv := func(c *memory.Conn) {
		got, err := io.ReadAll(c)
		if err == nil && !bytes.Equal(got, data) {
			err = errors.New("data differs")
		}
		errs <- err
	}
	go send(a)
	go send(b)
	go recv(a)
	go recv(b)

	deadline := time.After(bound)
	for done := 0; done < 4; {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
			done++
		case <-deadline:
			t.Fatalf("duplex transfer not done within %v", bound)
		default:
			clk.Advance(time.Millisecond)
			runtime.Gosched()
		}
	}
}

func TestPipeDeadlineTimersReplaced(t *testing.T) {
	// A new deadline replaces the old one, also on the clock: a runtime
	// that moves its deadline on every write leaves no stale timers for
	// AdvanceToNext to stop at, and clearing the deadline leaves none.
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clk})
	closeBoth(t, a, b)
	for i := range 100 {
		_ = a.SetWriteDeadline(clk.Now().Add(time.Duration(100+i) * time.Second))
		_ = b.SetReadDeadline(clk.Now().Add(time.Duration(100+i) * time.Second))
		mustWrite(t, a, []byte("x"))
		mustRead(t, b, "x")
	}
	next, ok := clk.Next()
	if !ok || !next.Equal(memory.Epoch.Add(199*time.Second)) {
		t.Errorf("Next() = %v, %v; want the last deadline, Epoch+199s", next, ok)
	}
	_ = a.SetWriteDeadline(time.Time{})
	_ = b.SetReadDeadline(time.Time{})
	if next, ok := clk.Next(); ok {
		t.Errorf("a timer at %v is left after the deadlines were cleared", next)
	}
}
