package coretest_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
)

// upper is the code under test: an event-loop server application that
// answers each request with its body in upper case. It would run the same
// way on a real socket; here a Pair feeds it.
type upper struct{ bodies map[uint32][]byte }

func (u *upper) onEvent(c *core.Conn, e *core.Event) {
	switch e.Kind {
	case core.EventRequest, core.EventData:
		u.bodies[e.StreamID] = append(u.bodies[e.StreamID], e.Data...)
		if e.EndStream {
			_ = c.Respond(e.StreamID, 200, nil, bytes.ToUpper(u.bodies[e.StreamID]))
			delete(u.bodies, e.StreamID)
		}
	}
}

// postUpper runs one POST through the application with the bytes between
// the two Conns cut into pieces chosen by seed, and returns what the client
// saw.
func postUpper(seed uint64) string {
	p, _ := coretest.NewPair(seed, core.Config{}, core.Config{})
	p.MaxChunk = 1 + int(seed%64) // from 1-byte reads up to 64
	app := &upper{bodies: map[uint32][]byte{}}
	var got bytes.Buffer
	p.OnEvent = func(side coretest.Side, e *core.Event) {
		if side == coretest.Server {
			app.onEvent(p.Server, e)
			return
		}
		switch e.Kind {
		case core.EventResponse:
			fmt.Fprintf(&got, "%d ", e.Status)
		case core.EventData:
			got.Write(e.Data)
		case core.EventStreamClosed:
			got.WriteString(" (closed)")
		}
	}
	id, _ := p.Client.OpenStream([]core.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "example.test"}, {Name: ":path", Value: "/upper"},
	}, core.StreamOptions{})
	_, _ = p.Client.SendData(id, []byte("hello, "), false)
	p.Drive()
	_, _ = p.Client.SendData(id, []byte("world"), true)
	p.Drive()
	return got.String()
}

// Testing an application deterministically: the same exchange under a
// hundred different cuttings of the byte stream gives one answer, and time
// moves only when the test says so.
func Example() {
	answers := map[string]int{}
	for seed := uint64(1); seed <= 100; seed++ {
		answers[postUpper(seed)]++
	}
	fmt.Println(answers)

	// The virtual clock: nothing times out until the test advances it.
	// The client's own idle timer is off, so it is the server that closes.
	quiet := core.Config{Timeouts: core.Timeouts{Idle: -1}}
	p, _ := coretest.NewPair(1, quiet, core.Config{})
	p.Drive()
	p.Advance(59 * time.Second)
	p.Drive()
	fmt.Println("after 59s:", p.Server.Phase())
	p.Advance(time.Second) // the server's 60 s idle timeout
	p.Drive()
	for _, e := range p.Events(coretest.Client, core.EventGoAway) {
		fmt.Println("after 60s: client got GOAWAY", e.Code)
	}
	// Output:
	// map[200 HELLO, WORLD (closed):100]
	// after 59s: connected
	// after 60s: client got GOAWAY NO_ERROR
}
