package fuzz

import (
	"strings"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"pgregory.net/rapid"
)

// Model bugs the rapid properties met: behaviour the core documents that
// the model (props_model_test.go, props_stream_test.go) rejected. Each is a
// fixed script played once through the state machine and its checks, to
// the end of the check (finish), so that the model keeps accepting it.
// (Core bugs are in props_regress_test.go.)

// propScript plays script once through a machine for prof, with traffic
// driven after every action, then finishes the check. Rapid's fuzzing entry
// point runs it exactly once; the draws left (which side shuts down) read
// zeros. A script that ran out of draws would be skipped: that fails.
func propScript(t *testing.T, prof propProfile, script func(m *propMachine)) {
	t.Helper()
	ran := false
	t.Run("script", func(t *testing.T) {
		rapid.MakeFuzz(func(rt *rapid.T) {
			m := propMachineWith(rt, prof, 1, 0, true)
			script(m)
			m.finish()
			ran = true
		})(t, make([]byte, 1024))
	})
	if !ran {
		t.Fatal("the script did not run to its end")
	}
}

// TestPropModelRegressWaitingTrailersTooLarge: a request waits at the
// server behind Config.MaxConcurrentStreams held streams; its trailers,
// accepted by SendTrailers, wait in the client's buffer behind content a
// one-byte stream window holds back; the server then lowers
// SETTINGS_MAX_HEADER_LIST_SIZE below their size and opens the window.
// The trailers arrive over the limit and the server's Conn resets the
// waiting stream with RST_STREAM(CANCEL) (RFC 9113 §10.5.1), reporting
// nothing, since its application never knew the stream (core/doc.go). The
// model took every RST_STREAM the client got for one its peer's
// application had sent or provoked, and failed with "reset by the peer
// with CANCEL, which it never sent (sent [])" (TestPropTight). It now
// accepts that reset (waitingTrailersTooLarge) and requires the stream
// never to be announced afterwards.
func TestPropModelRegressWaitingTrailersTooLarge(t *testing.T) {
	client := core.Config{ManualFlowControl: true}
	server := core.Config{MaxConcurrentStreams: 1, InitialWindowSize: 1, ManualFlowControl: true}
	prof := propProfile{client: client, server: server, maxData: 6000, allManual: true}
	propScript(t, prof, func(m *propMachine) {
		opts := core.StreamOptions{ManualFlowControl: true}
		m.openStream("POST", propRegressRequest("POST"), opts, -1)
		held := m.streams[1]
		m.settle()
		m.reset(coretest.Client, held, frame.ErrCodeCancel) // the server application holds it
		m.settle()
		m.openStream("POST", propRegressRequest("POST"), opts, -1)
		waiting := m.streams[3]
		m.settle()
		if held, pending := m.p.Server.HeldStreams(); held != 1 || pending != 1 {
			m.t.Fatalf("server: HeldStreams (%d, %d), want stream 1 held and 3 waiting", held, pending)
		}
		m.sendData(coretest.Client, waiting, 2, false) // one byte goes, one waits for window
		m.settle()
		trailers := []core.HeaderField{{Name: "x-e", Value: strings.Repeat("h", 100)}}
		m.sendTrailers(coretest.Client, waiting, trailers)
		m.settle()
		m.updateSettings(coretest.Server, []frame.Setting{{ID: frame.SettingMaxHeaderListSize, Val: 100}})
		m.settle()
		m.updateSettings(coretest.Server, []frame.Setting{{ID: frame.SettingInitialWindowSize, Val: 16384}})
		m.settle()
		if !waiting.dropped || waiting.end[coretest.Client].terminal != core.EventStreamReset {
			m.t.Fatalf("stream 3: dropped %v, client terminal %v; want the server's unannounced reset",
				waiting.dropped, waiting.end[coretest.Client].terminal)
		}
	})
}

// TestPropModelRegressFinishConsumesFirst: at the end of a check, finish
// completed the streams one at a time in opening order, consuming each
// stream's delivered content only on its turn. Content the server
// application held unconsumed on a later stream (manual flow control) kept
// the connection window shut, so an earlier stream could not send the
// rest of its declared content-length, and the check failed with "client:
// stream 1 cannot send its last 4464 bytes" (TestPropPair) — the core was
// right to wait. finish now consumes everything delivered before it
// completes any stream.
func TestPropModelRegressFinishConsumesFirst(t *testing.T) {
	server := core.Config{ManualFlowControl: true, ConnectionWindowSize: 65535}
	prof := propProfile{server: server, maxData: 70000}
	propScript(t, prof, func(m *propMachine) {
		fields := append(propRegressRequest("POST"), propLengthField(70000))
		m.openStream("POST", fields, core.StreamOptions{}, 70000) // more than the send buffer holds
		m.settle()
		m.openStream("POST", propRegressRequest("POST"), core.StreamOptions{}, -1)
		m.settle()
		m.sendData(coretest.Client, m.streams[3], 65535, false)
		m.settle()
		if w := m.p.Server.RecvWindow(0); w != 0 {
			m.t.Fatalf("server connection window %d, want 0: stream 3's content is unconsumed", w)
		}
	})
}
