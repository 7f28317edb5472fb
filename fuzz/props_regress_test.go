package fuzz

import (
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// Core bugs found by the rapid properties (props_test.go), each reduced to
// a deterministic script over coretest.Pair. A test skips while its bug is
// open (delete the t.Skip to check a fix) and guards against a regression
// once it is fixed.

// propRegressPair returns a Pair built from the two Configs, its
// handshake done.
func propRegressPair(t *testing.T, client, server core.Config) *coretest.Pair {
	t.Helper()
	p, err := coretest.NewPair(1, client, server)
	if err != nil {
		t.Fatal(err)
	}
	p.Drive()
	return p
}

// propRegressRequest is the field list of a request for method on "/".
func propRegressRequest(method string) []core.HeaderField {
	return []core.HeaderField{
		{Name: ":method", Value: method}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
	}
}

// TestPropRegressEmptyTrailersSizeUpdate: after the peer lowers
// SETTINGS_HEADER_TABLE_SIZE and we acknowledge it, RFC 7541 §4.2 requires
// a dynamic table size update at the start of our next field block. That
// block was an empty trailer section (SendTrailers with no fields and
// nothing buffered), which carried no size update — the HPACK encoder only
// emits the pending update when a field is written — and the peer closed
// the connection with COMPRESSION_ERROR hpack_size_update_missing. Fixed:
// empty trailers now end the stream with an empty DATA frame.
func TestPropRegressEmptyTrailersSizeUpdate(t *testing.T) {
	p := propRegressPair(t, core.Config{}, core.Config{})
	id, err := p.Client.OpenStream(propRegressRequest("GET"), core.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Drive()
	if err := p.Server.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingHeaderTableSize, Val: 0}}); err != nil {
		t.Fatal(err)
	}
	p.Drive() // the client applies the smaller table and acknowledges
	if err := p.Client.SendTrailers(id, nil); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	if err := p.Server.Err(); err != nil {
		t.Fatalf("server closed the connection: %v", err)
	}
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestPropRegressTwoTableSizeUpdates: when the peer lowers
// SETTINGS_HEADER_TABLE_SIZE and raises it again before our next field
// block, RFC 7541 §4.2 has that block start with two size updates, the
// smallest size and the final one — which our encoder does. The receiving
// core's decoder (x/net's hpack.Decoder) accepted a second size update only
// if the first emptied the dynamic table; when an entry fit the smaller
// size it rejected the block, and the connection closed with
// COMPRESSION_ERROR hpack_decoding. Fixed: the core applies leading size
// updates itself.
func TestPropRegressTwoTableSizeUpdates(t *testing.T) {
	p := propRegressPair(t, core.Config{}, core.Config{})
	req := propRegressRequest("GET")
	if _, err := p.Client.OpenStream(req, core.StreamOptions{EndStream: true}); err != nil {
		t.Fatal(err)
	}
	p.Drive() // the server's decoder now holds ":authority: example.com" (53 bytes)
	for _, size := range []uint32{64, 4096} {
		if err := p.Server.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingHeaderTableSize, Val: size}}); err != nil {
			t.Fatal(err)
		}
	}
	p.Drive() // the client applies both and acknowledges
	if _, err := p.Client.OpenStream(req, core.StreamOptions{EndStream: true}); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	if err := p.Server.Err(); err != nil {
		t.Fatalf("server closed the connection: %v", err)
	}
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestPropRegressEmptyEndNegativeWindow: RFC 9113 §6.9.1 lets a sender end
// a stream with an empty DATA frame "if there is no available space in
// either flow-control window", and the sending core does so. The receiving
// core charged the frame's zero length against the stream window, and a
// window made negative by a smaller SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2)
// rejected it: the stream was reset with FLOW_CONTROL_ERROR
// stream_window_exceeded instead of ending normally. Fixed.
func TestPropRegressEmptyEndNegativeWindow(t *testing.T) {
	p := propRegressPair(t, core.Config{}, core.Config{ManualFlowControl: true})
	id, err := p.Client.OpenStream(propRegressRequest("POST"), core.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.SendData(id, make([]byte, 1000), false); err != nil {
		t.Fatal(err)
	}
	p.Drive() // 1000 bytes delivered, not consumed
	if err := p.Server.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingInitialWindowSize, Val: 0}}); err != nil {
		t.Fatal(err)
	}
	p.Drive() // the server's stream window is now -1000
	if _, err := p.Client.SendData(id, nil, true); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	if resets := p.Events(coretest.Server, core.EventStreamReset); len(resets) > 0 {
		t.Fatalf("server reset the stream: %v %q", resets[0].Code, resets[0].Token)
	}
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestPropRegressReleasedStreamHoldsConnWindow: ReleaseStream on a live
// stream whose response is queued but not yet sent keeps the stream open,
// reporting nothing more, and credits content that arrives from then on.
// But with manual flow control, the content delivered before the release
// and never consumed stayed charged to the connection window until the
// stream closed. When it filled that window, the client could not send the
// rest of its request body, so the stream never closed and the connection
// window never reopened: this stream, and every other on the connection,
// stalled for good. Fixed: the release credits that content.
func TestPropRegressReleasedStreamHoldsConnWindow(t *testing.T) {
	server := core.Config{ManualFlowControl: true, ConnectionWindowSize: 65535, InitialWindowSize: 65535}
	p := propRegressPair(t, core.Config{}, server)
	id, err := p.Client.OpenStream(propRegressRequest("POST"), core.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.SendData(id, make([]byte, 65535), false); err != nil {
		t.Fatal(err)
	}
	p.Drive() // delivered, not consumed: the connection window is shut
	if err := p.Server.Respond(id, 200, nil, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if err := p.Server.ReleaseStream(id); err != nil { // the handler is done
		t.Fatal(err)
	}
	if _, err := p.Client.SendData(id, make([]byte, 10), true); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	if len(p.Events(coretest.Client, core.EventStreamClosed, core.EventStreamReset)) == 0 {
		t.Fatalf("client stream never ended: %d bytes stuck in its buffer, server connection window %d",
			p.Client.Buffered(id), p.Server.RecvWindow(0))
	}
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
