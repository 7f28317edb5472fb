package h2_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"github.com/h2proto/h2/transport/tcp"
)

// ftLedger counts, per idempotency key, how many times a server's handler
// began processing a request.
type ftLedger struct {
	mu    sync.Mutex
	count map[string]int
}

func (l *ftLedger) add(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == nil {
		l.count = make(map[string]int)
	}
	l.count[key]++
}

func (l *ftLedger) get(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[key]
}

func (l *ftLedger) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.count))
	for k, v := range l.count {
		out[k] = v
	}
	return out
}

// ftKeyServer processes POSTs carrying an idempotency-key: it records the
// key, reads the body and answers "KEY SHA256(body)". While armed, a
// request with "x-gate: 1" waits for release before answering.
type ftKeyServer struct {
	ledger  ftLedger
	armed   atomic.Bool
	blocked chan string
	release chan struct{}
}

func (ks *ftKeyServer) ServeH2(s *h2.Stream) {
	key := s.Request().Get("idempotency-key")
	ks.ledger.add(key)
	body, err := s.ReadAll()
	if err != nil {
		return
	}
	if ks.armed.Load() && s.Request().Get("x-gate") == "1" {
		select {
		case ks.blocked <- key:
		default: // never full: one held request per gated worker
		}
		select {
		case <-ks.release:
		case <-s.Context().Done():
			return
		}
	}
	_ = s.Respond(200, nil, []byte(ftAnswer(key, body)))
}

func ftAnswer(key string, body []byte) string {
	sum := sha256.Sum256(body)
	return key + " " + hex.EncodeToString(sum[:])
}

// ftKeyBody is the request body for key: 1 to 4 KiB, derived from it.
func ftKeyBody(key string) []byte {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	seed := h.Sum64()
	return rtPattern(seed, 1<<10+int(seed%4)<<10)
}

// How one request ended, seen from the client.
type ftOutcome int

const (
	ftCompleted ftOutcome = iota // the right response, whole
	ftRetrySafe                  // refused, provably unprocessed
	ftLost                       // any other failure: neither done nor safe to retry
)

type ftRecord struct {
	key     string
	outcome ftOutcome
	stage   string // "open" (Request failed: nothing sent) or "stream"
	err     error
	gated   bool
}

// ftAttempt sends one keyed request on c and classifies how it ended. A
// failure is retry-safe when Request refused to open the stream
// (core.ErrGoAwayReceived after the server's GOAWAY, core.ErrClosed once
// the connection ended: nothing was sent) or when the stream ended with a
// *core.StreamError marked Retryable (REFUSED_STREAM, or above the
// GOAWAY's last stream ID: RFC 9113 §8.7).
func ftAttempt(ctx context.Context, c *h2.Conn, key string, gated bool) ftRecord {
	r := ftRecord{key: key, gated: gated}
	extra := []h2.HeaderField{{Name: "idempotency-key", Value: key}}
	if gated {
		extra = append(extra, h2.HeaderField{Name: "x-gate", Value: "1"})
	}
	body := ftKeyBody(key)
	s, err := c.Request(ctx, c.NewRequest("POST", "/work", extra...), nil)
	if err != nil {
		r.stage, r.err, r.outcome = "open", err, ftLost
		if errors.Is(err, core.ErrGoAwayReceived) || errors.Is(err, core.ErrClosed) {
			r.outcome = ftRetrySafe
		}
		return r
	}
	r.stage = "stream"
	_, werr := s.WriteContext(ctx, body)
	if werr == nil {
		werr = s.CloseWrite()
	}
	resp, err := s.Response(ctx)
	var data []byte
	if err == nil {
		data, err = s.ReadAll()
	}
	switch {
	case err != nil:
		r.err = err
	case werr != nil:
		r.err = fmt.Errorf("response arrived, but writing the body failed: %w", werr)
	case resp.Status != 200 || string(data) != ftAnswer(key, body):
		r.err = fmt.Errorf("wrong response: status %d, %q", resp.Status, data)
	default:
		r.outcome = ftCompleted
		return r
	}
	r.outcome = ftLost
	var se *core.StreamError
	if errors.As(r.err, &se) && se.Retryable {
		r.outcome = ftRetrySafe
	}
	return r
}

// TestFaultGracefulShutdownUnderLoad: 20 connections × 20 workers, each
// sending keyed POSTs with bodies back to back. Once 200 have completed,
// the server holds the requests of half the workers (one each, 200 in
// flight), and Shutdown begins while the other half keep starting new
// ones. Every request either completes with the right answer or fails in
// a way the client can tell is safe to retry; the server's ledger shows
// each completed request processed exactly once and each retry-safe one
// never; the 200 held requests all complete. Sent again to a fresh server,
// every retry-safe request completes, processed once there.
//
// With the default two-phase GOAWAY, a client stops opening streams when
// the first GOAWAY arrives, before it answers the PING that lets the final
// one go: every refusal is at Request, nothing sent. The "cut" run sets
// core.Timeouts.GoAwayDrain to 1 µs, so that the final GOAWAY races the
// streams still in flight towards the server, which are then refused (a
// Retryable *core.StreamError) and must not have been processed.
func TestFaultGracefulShutdownUnderLoad(t *testing.T) {
	for _, run := range []struct {
		name  string
		drain time.Duration
	}{{"two-phase", 0}, {"cut", time.Microsecond}} {
		t.Run(run.name, func(t *testing.T) { ftShutdownUnderLoad(t, run.drain) })
	}
}

func ftShutdownUnderLoad(t *testing.T, drain time.Duration) {
	const conns, workers, perWorker = 20, 20, 500
	const threshold = 200
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ks := &ftKeyServer{blocked: make(chan string, conns*workers), release: make(chan struct{})}
	srvA := &h2.Server{Handler: ks}
	srvA.Config.Timeouts.GoAwayDrain = drain
	fs := ftServe(t, "127.0.0.1:0", srvA, tcp.Config{})
	clients := make([]*h2.Conn, conns)
	for i := range clients {
		clients[i] = ftDial(t, ctx, fs.addr, nil)
	}

	var (
		mu           sync.Mutex
		records      []ftRecord
		completed    atomic.Int64
		shuttingDown atomic.Bool
		startedAfter atomic.Int64 // attempts begun after Shutdown was called
		openedAfter  atomic.Int64 // of which Request opened a stream
		reached      = make(chan struct{})
		reachedOnce  sync.Once
		wg           sync.WaitGroup
		capped       atomic.Int64
	)
	for ci, c := range clients {
		for j := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				gated := j%2 == 0
				for n := range perWorker {
					if ctx.Err() != nil {
						return
					}
					after := shuttingDown.Load()
					if after {
						startedAfter.Add(1)
					}
					r := ftAttempt(ctx, c, fmt.Sprintf("c%02d-w%02d-r%03d", ci, j, n), gated)
					if after && r.stage == "stream" {
						openedAfter.Add(1)
					}
					mu.Lock()
					records = append(records, r)
					mu.Unlock()
					if r.outcome != ftCompleted {
						return // this connection is going away
					}
					if completed.Add(1) >= threshold {
						reachedOnce.Do(func() { close(reached) })
					}
				}
				capped.Add(1)
			}()
		}
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	rtDone(t, ctx, reached, fmt.Sprintf("%d completed requests", threshold))
	ks.armed.Store(true)
	held := make(map[string]bool)
	for len(held) < conns*workers/2 {
		held[rtWait(t, ctx, ks.blocked, "the gated workers' requests to be held")] = true
	}

	shutdownStart := time.Now()
	shuttingDown.Store(true)
	shutdownErr := make(chan error, 1)
	go func() {
		sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
		defer scancel()
		shutdownErr <- fs.srv.Shutdown(sctx)
	}()
	// Hold the 200 requests until every client has the final GOAWAY (the
	// one below 2^31-1): refusals happen while work is in flight.
	tick := time.NewTicker(2 * time.Millisecond)
	for _, c := range clients {
		for {
			if g, ok := c.GoAway(); ok && g.LastStreamID < frame.MaxStreamID {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatal("a client never received the final GOAWAY")
			}
		}
	}
	tick.Stop()
	finalGoAway := time.Since(shutdownStart)
	releasedAt := time.Now()
	close(ks.release)
	rtDone(t, ctx, allDone, "every worker to finish")
	if err := rtWait(t, ctx, shutdownErr, "Shutdown"); err != nil {
		t.Errorf("Shutdown under load: %v, want nil (every stream in flight finished)", err)
	}
	drained := time.Since(releasedAt)
	if err := rtWait(t, ctx, fs.served, "Serve"); !errors.Is(err, h2.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v, want ErrServerClosed", err)
	}
	fs.served <- nil // for the cleanup

	// The ledger against the client's view.
	ledger := ks.ledger.snapshot()
	known := make(map[string]bool, len(records))
	var nDone, nSafe, nLost, nOpen, nRefused int
	var retry []string
	kinds := map[string]int{}
	for _, r := range records {
		known[r.key] = true
		n := ledger[r.key]
		switch r.outcome {
		case ftCompleted:
			nDone++
			if n != 1 {
				t.Errorf("%s completed but was processed %d times, want exactly once", r.key, n)
			}
		case ftRetrySafe:
			nSafe++
			retry = append(retry, r.key)
			if n != 0 {
				t.Errorf("%s failed as retry-safe (%s: %v) but was processed %d times, want never", r.key, r.stage, r.err, n)
			}
			if r.stage == "open" {
				nOpen++
			} else {
				nRefused++
			}
			kinds[fmt.Sprintf("%s: %v", r.stage, ftErrKind(r.err))]++
		case ftLost:
			nLost++
			if nLost <= 10 {
				t.Errorf("%s lost: %s: %v (processed %d times): neither completed nor safe to retry", r.key, r.stage, r.err, n)
			}
		}
		if held[r.key] && r.outcome != ftCompleted {
			t.Errorf("%s was in flight when Shutdown began and did not complete: %v", r.key, r.err)
		}
	}
	for key, n := range ledger {
		if !known[key] {
			t.Errorf("the server processed %s (%d times), a request no client reports", key, n)
		}
	}
	if startedAfter.Load() == 0 {
		t.Errorf("no request was started after Shutdown began")
	}
	if nSafe == 0 {
		t.Errorf("no request was refused, want the workers still sending after Shutdown to be")
	}
	t.Logf("%d requests: %d completed (%d held across Shutdown), %d retry-safe (%d refused at Request, %d refused streams; %v), %d lost; "+
		"%d started after Shutdown began (%d opened a stream); %d workers hit the %d cap; final GOAWAY on all %d clients %v after Shutdown began; "+
		"Shutdown returned %v after the held requests were released",
		len(records), nDone, len(held), nSafe, nOpen, nRefused, kinds, nLost, startedAfter.Load(), openedAfter.Load(),
		capped.Load(), perWorker, conns, finalGoAway, drained)
	if t.Failed() {
		return
	}

	// Send every retry-safe request again, to a fresh server.
	ksB := &ftKeyServer{blocked: make(chan string, 1), release: make(chan struct{})}
	fsB := ftServe(t, "127.0.0.1:0", &h2.Server{Handler: ksB}, tcp.Config{})
	var retryClients [4]*h2.Conn
	for i := range retryClients {
		retryClients[i] = ftDial(t, ctx, fsB.addr, nil)
	}
	sort.Strings(retry)
	results := make(chan ftRecord, len(retry))
	for i, key := range retry {
		go func() { results <- ftAttempt(ctx, retryClients[i%len(retryClients)], key, false) }()
	}
	for range retry {
		r := rtWait(t, ctx, results, "the retried requests")
		if r.outcome != ftCompleted {
			t.Errorf("retry of %s on a fresh server: %s: %v", r.key, r.stage, r.err)
		}
	}
	for _, key := range retry {
		if n := ksB.ledger.get(key); n != 1 {
			t.Errorf("retried %s processed %d times by the fresh server, want once", key, n)
		}
		if n := ks.ledger.get(key); n != 0 {
			t.Errorf("retried %s processed %d times by the first server, want never", key, n)
		}
	}
	for _, c := range retryClients {
		rtCheckInvariants(t, c)
	}
}

// ftErrKind names an error for the summary.
func ftErrKind(err error) string {
	var se *core.StreamError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("StreamError %v retryable=%v", se.Code, se.Retryable)
	case errors.Is(err, core.ErrGoAwayReceived):
		return "ErrGoAwayReceived"
	case errors.Is(err, core.ErrClosed):
		return "ErrClosed"
	}
	return fmt.Sprintf("%T", err)
}
