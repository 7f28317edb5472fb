package nethttp_test

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// trHandOff is a listener whose connections go to the server currently
// chosen: the test shuts one server down while the next takes new
// connections on the same address.
type trHandOff struct {
	ln      net.Listener
	current atomic.Pointer[trSubListener]
}

type trSubListener struct {
	parent *trHandOff
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
}

func (h *trHandOff) loop() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		sub := h.current.Load()
		select {
		case sub.conns <- c:
		case <-sub.done:
			_ = c.Close()
		}
	}
}

func (h *trHandOff) sub() *trSubListener {
	return &trSubListener{parent: h, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *trSubListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *trSubListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *trSubListener) Addr() net.Addr { return l.parent.ln.Addr() }

// TestTransportServerShutdown: a net/http h2c server shut down (graceful
// GOAWAY) while a request is in flight: the request completes in full, and
// the next request goes to a new connection — to the server that took
// over the address — for this Transport as for Go's.
func TestTransportServerShutdown(t *testing.T) {
	for impl := range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hand := &trHandOff{ln: ln}
		t.Cleanup(func() { _ = ln.Close() })
		started := make(chan struct{}, 1)
		release := make(chan struct{})
		body := testPattern(1 << 20)
		mkServer := func(name string) (*http.Server, *atomic.Int32) {
			var conns atomic.Int32
			srv := &http.Server{Protocols: new(http.Protocols)}
			srv.Protocols.SetUnencryptedHTTP2(true)
			srv.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Server", name)
				if r.URL.Path == "/slow" {
					started <- struct{}{}
					<-release
					_, _ = w.Write(body)
					return
				}
				_, _ = io.WriteString(w, "ok")
			})
			return srv, &conns
		}
		srvA, connsA := mkServer("A")
		srvB, connsB := mkServer("B")
		subA, subB := hand.sub(), hand.sub()
		hand.current.Store(subA)
		go hand.loop()
		go func() { _ = srvA.Serve(subA) }()
		go func() { _ = srvB.Serve(subB) }()
		t.Cleanup(func() { _ = srvA.Close(); _ = srvB.Close() })

		s := &trServer{name: "h2c", url: "http://" + ln.Addr().String()}
		c := trClients(t, s)[impl]
		t.Run(c.impl, func(t *testing.T) {
			ctx := testCtx(t)
			slow := make(chan trResult, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/slow", nil)
				r, err := trDoErr(c.client, req)
				if err != nil {
					t.Error(err)
				}
				slow <- r
			}()
			testWait(t, started, "the slow handler to start")
			hand.current.Store(subB)
			shut := make(chan error, 1)
			go func() { shut <- srvA.Shutdown(ctx) }()
			// The GOAWAY reaches the client while the slow request is held:
			// the next requests must not use that connection. (Whether it
			// arrives before the next request is sent or not, the request
			// must succeed: sent after it, it goes to a new connection;
			// refused by it, it is retried on one.)
			for range 3 {
				req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/fast", nil)
				r := trDo(t, c.client, req)
				if r.Status != 200 || r.Body != "ok" {
					t.Errorf("request during shutdown: %+v", r)
				}
				if r.Header.Get("X-Server") != "B" {
					// Sent before the GOAWAY arrived: server A may still
					// process it (its ID is within the last stream ID).
					t.Logf("request during shutdown served by %s", r.Header.Get("X-Server"))
				}
			}
			close(release)
			r := testWait(t, slow, "the in-flight request")
			if r.Status != 200 || r.Body != trDigest(body) || r.Header.Get("X-Server") != "A" {
				t.Errorf("in-flight request: status %d, body %s, server %s", r.Status, r.Body, r.Header.Get("X-Server"))
			}
			if err := testWait(t, shut, "Shutdown to return"); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/fast", nil)
			if r := trDo(t, c.client, req); r.Header.Get("X-Server") != "B" {
				t.Errorf("request after shutdown served by %q, want B", r.Header.Get("X-Server"))
			}
			if a, b := connsA.Load(), connsB.Load(); a != 1 || b != 1 {
				t.Errorf("connections: A %d, B %d; want 1 and 1", a, b)
			}
		})
	}
}
