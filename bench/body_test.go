package bench

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
)

// Flow control and framing of the body benchmarks, the same for h2proto
// and net/http so that neither waits on a window the other does not have:
// a 4 MiB stream window and an 8 MiB connection window on both ends
// (net/http's transport defaults to 4 MiB and 1 GiB, its server to 1 MiB
// and 1 MiB; h2proto to 256 KiB and 1 MiB), and 16 KiB frames, the RFC's
// default and h2proto's (net/http otherwise advertises 1 MiB frames).
// h2proto's send buffers keep their defaults (64 KiB per stream).
const (
	bodyStreamWindow = 4 << 20
	bodyConnWindow   = 8 << 20
	bodyFrameSize    = 16 << 10
	bodyChunk        = 64 << 10 // what the server writes and the client reads at a time
)

var (
	bodyConfig = core.Config{InitialWindowSize: bodyStreamWindow, ConnectionWindowSize: bodyConnWindow,
		MaxFrameSize: bodyFrameSize, MaxSendFrameSize: bodyFrameSize}
	bodyHTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: bodyStreamWindow,
		MaxReceiveBufferPerConnection: bodyConnWindow, MaxReadFrameSize: bodyFrameSize}
	bodyPayload = make([]byte, bodyChunk) // the server sends it again and again
)

// BenchmarkBody is a GET whose response body is 1 MiB or 100 MiB, on one
// stream, at three depths of h2proto, each beside net/http h2c:
//
//   - core: two cores driven by coretest.Pair, the server queueing the
//     body with SendData as the send buffer makes room (EventWritable),
//     the client copying each DATA event out and calling Consume: the
//     protocol's own cost. Its nethttp is net/http over a memory pipe, as
//     in memory/nethttp.
//   - memory: the runtimes over a transport/memory pipe: adds goroutines,
//     locks and the pipe's copies, but no system calls.
//   - loopback: the runtimes over TCP on 127.0.0.1.
//
// 100 MiB is skipped under -short.
func BenchmarkBody(b *testing.B) {
	for _, size := range []int{1 << 20, 100 << 20} {
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			if size > 1<<20 && testing.Short() {
				b.Skip("-short")
			}
			b.Run("via=core", func(b *testing.B) {
				b.Run("impl=h2proto", func(b *testing.B) { benchBodyCore(b, size) })
				b.Run("impl=nethttp", func(b *testing.B) { benchBodyNetHTTP(b, inMemory, size) })
			})
			for _, bn := range []struct {
				name string
				net  benchNet
			}{{"memory", inMemory}, {"loopback", loopback}} {
				b.Run("via="+bn.name, func(b *testing.B) {
					b.Run("impl=h2proto", func(b *testing.B) { benchBodyRuntime(b, bn.net, size) })
					b.Run("impl=nethttp", func(b *testing.B) { benchBodyNetHTTP(b, bn.net, size) })
				})
			}
		})
	}
}

func benchBodyCore(b *testing.B, size int) {
	p, err := coretest.NewPair(1, bodyConfig, bodyConfig)
	if err != nil {
		b.Fatal(err)
	}
	head := []core.HeaderField{{Name: ":status", Value: "200"},
		{Name: "content-length", Value: strconv.Itoa(size)}}
	buf := make([]byte, bodyChunk)
	var (
		sid         uint32 // the server's stream
		left        int    // bytes it has still to queue
		ended       bool   // END_STREAM queued
		status      int    // the client's response
		got         int64
		done        bool
		fail        error
		serverError = func(err error) {
			if fail == nil {
				fail = err
			}
		}
	)
	pump := func() {
		for !ended {
			n := min(left, len(bodyPayload))
			m, err := p.Server.SendData(sid, bodyPayload[:n], n == left)
			left -= m
			if errors.Is(err, core.ErrSendBufferFull) {
				return // until EventWritable
			}
			if err != nil {
				serverError(err)
				return
			}
			ended = left == 0
		}
	}
	p.OnEvent = func(side coretest.Side, e *core.Event) {
		switch {
		case side == coretest.Server && e.Kind == core.EventRequest:
			sid, left, ended = e.StreamID, size, false
			if err := p.Server.SendHeaders(sid, head, false); err != nil {
				serverError(err)
				return
			}
			pump()
		case side == coretest.Server && e.Kind == core.EventWritable && e.StreamID == sid:
			pump()
		case side == coretest.Client && e.Kind == core.EventResponse:
			status = e.Status
		case side == coretest.Client && e.Kind == core.EventData:
			got += int64(copy(buf, e.Data))
			if err := p.Client.Consume(e.StreamID, len(e.Data)); err != nil {
				serverError(err)
			}
		case side == coretest.Client && e.Kind == core.EventStreamClosed:
			done = true
		case e.Kind == core.EventStreamReset || e.Kind == core.EventClosed:
			serverError(fmt.Errorf("%v: %v %v", side, e.Kind, e.Token))
		}
	}
	p.Drive()
	once := func() {
		status, got, done = 0, 0, false
		if _, err := p.Client.OpenStream(typicalRequest, core.StreamOptions{EndStream: true, ManualFlowControl: true}); err != nil {
			b.Fatal(err)
		}
		p.Drive()
		if fail != nil || !done || status != 200 || got != int64(size) {
			b.Fatalf("status %d, %d bytes, done %v: %v", status, got, done, fail)
		}
	}
	benchBody(b, size, once)
}

func benchBodyRuntime(b *testing.B, bn benchNet, size int) {
	head := []h2.HeaderField{{Name: "content-length", Value: strconv.Itoa(size)}}
	srv := &h2.Server{Options: h2.Options{Config: bodyConfig}, Handler: h2.HandlerFunc(func(s *h2.Stream) {
		if err := s.WriteHeaders(200, head); err != nil {
			return
		}
		for left := size; left > 0; {
			n := min(left, len(bodyPayload))
			if _, err := s.Write(bodyPayload[:n]); err != nil {
				return // the client sees a reset, or a short body
			}
			left -= n
		}
		_ = s.CloseWrite()
	})}
	c := startH2proto(b, bn, srv, h2.ClientOptions{H2C: true, Options: h2.Options{Config: bodyConfig}})
	ctx, fields, buf := benchCtx(b), c.NewRequest("GET", "/"), make([]byte, bodyChunk)
	benchBody(b, size, func() {
		status, n, err := getH2proto(ctx, c, fields, buf)
		if err != nil || status != 200 || n != int64(size) {
			b.Fatalf("status %d, %d bytes: %v", status, n, err)
		}
	})
}

func benchBodyNetHTTP(b *testing.B, bn benchNet, size int) {
	length := strconv.Itoa(size)
	client := startNetHTTP(b, bn, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", length)
		for left := size; left > 0; {
			n := min(left, len(bodyPayload))
			if _, err := w.Write(bodyPayload[:n]); err != nil {
				return
			}
			left -= n
		}
	}), bodyHTTP2)
	req, buf := newGET(b, benchCtx(b), "/"), make([]byte, bodyChunk)
	benchBody(b, size, func() {
		status, n, err := getNetHTTP(client, req, buf)
		if err != nil || status != 200 || n != int64(size) {
			b.Fatalf("status %d, %d bytes: %v", status, n, err)
		}
	})
}

// benchBody runs once (a whole response) once to warm up, then times it.
func benchBody(b *testing.B, size int, once func()) {
	once()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		once()
	}
}
