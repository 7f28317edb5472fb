package core_test

import (
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// TestFlowServerManual: Config.ManualFlowControl puts request streams in
// manual mode, so request bodies are credited only by Consume (RFC 9113 §6.9).
func TestFlowServerManual(t *testing.T) {
	cfg := core.Config{ManualFlowControl: true, InitialWindowSize: 65535, ConnectionWindowSize: 65535}
	p := coretest.NewServerPeer(t, cfg)
	p.Handshake()
	p.SkipEvents(core.EventConnected, core.EventSettings, core.EventSettingsAck)
	p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...),
		p.FB.Data(1, false, make([]byte, 16384)))
	p.WantEvent("request", core.EventRequest)
	if e := p.WantEvent("body", core.EventData); len(e.Data) != 16384 {
		t.Fatalf("delivered %d bytes, want 16384", len(e.Data))
	}
	p.WantIdle("manual mode: no WINDOW_UPDATE before Consume")
	if got := p.Conn.RecvWindow(1); got != 65535-16384 {
		t.Fatalf("RecvWindow(1) = %d, want %d", got, 65535-16384)
	}
	if err := p.Conn.Consume(1, 16384); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	p.WantFrame("stream credited after Consume", frame.TypeWindowUpdate, coretest.OnStream(1))
	p.WantFrame("connection credited after Consume", frame.TypeWindowUpdate, coretest.OnStream(0))
	p.Invariants()
}
