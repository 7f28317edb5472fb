package coretest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/h2proto/h2/core"
)

// Side names one end of a Pair.
type Side uint8

// The two ends of a Pair.
const (
	Client Side = iota
	Server
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// A Logged is an event recorded by a Pair, with its slices copied so that it
// stays valid.
type Logged struct {
	Side  Side
	At    time.Time
	Event core.Event
}

// Pair is a client Conn and a server Conn connected in memory.
type Pair struct {
	Client, Server *core.Conn
	Now            time.Time

	// MaxChunk bounds the pieces bytes are delivered in: each Receive gets
	// between 1 and MaxChunk bytes, chosen by the seeded generator. 0
	// delivers everything a PollTransmit returned at once.
	MaxChunk int

	// OnEvent, if set, is called for every event as it is polled, and the
	// event is not logged. The event's slices are valid only during the
	// call. Handlers may call commands on the Conns.
	OnEvent func(side Side, e *core.Event)

	// Log holds the events polled so far when OnEvent is nil.
	Log []Logged

	// Trace, if set, is called with every chunk of bytes a Conn consumed.
	Trace func(from Side, p []byte)

	rng    *rand.Rand
	flight [2][]byte  // bytes sent by each side, not yet received
	ev     core.Event // the event being handled (keeps OnEvent allocation-free)
	broken error      // a contract Step saw broken (see CheckInvariants)
}

// NewPair creates a client and a server Conn with the given configurations,
// at Epoch, with a chunker seeded by seed.
func NewPair(seed uint64, clientCfg, serverCfg core.Config) (*Pair, error) {
	p := &Pair{Now: Epoch, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	var err error
	if p.Client, err = core.NewClient(p.Now, clientCfg); err != nil {
		return nil, err
	}
	if p.Server, err = core.NewServer(p.Now, serverCfg); err != nil {
		return nil, err
	}
	return p, nil
}

// Conn returns the Conn at side.
func (p *Pair) Conn(side Side) *core.Conn {
	if side == Client {
		return p.Client
	}
	return p.Server
}

// Step moves one round of traffic: everything each side has to transmit is
// delivered to the other, in chunks, with events polled after every
// Receive. It reports whether any byte moved or any event was polled.
func (p *Pair) Step() bool {
	moved := p.drainEvents(Client)
	moved = p.drainEvents(Server) || moved
	for _, from := range [...]Side{Client, Server} {
		src, dst := p.Conn(from), p.Conn(1-from)
		wants, before := src.WantsOutput(), len(p.flight[from])
		p.flight[from] = src.PollTransmit(p.flight[from])
		if !wants && len(p.flight[from]) > before && p.broken == nil {
			p.broken = fmt.Errorf("%v: WantsOutput was false, then PollTransmit gave %d bytes", from, len(p.flight[from])-before)
		}
		moved = p.drainEvents(from) || moved
		for len(p.flight[from]) > 0 {
			n := len(p.flight[from])
			if p.MaxChunk > 0 {
				n = min(n, 1+p.rng.IntN(p.MaxChunk))
			}
			chunk := p.flight[from][:n]
			m, err := dst.Receive(p.Now, chunk)
			if p.Trace != nil && m > 0 {
				p.Trace(from, chunk[:m]) // only what was consumed; the rest is retried
			}
			// Poll before shifting the bytes the events may borrow.
			moved = p.drainEvents(1-from) || moved
			p.flight[from] = p.flight[from][:copy(p.flight[from], p.flight[from][m:])]
			moved = moved || m > 0
			if err != nil {
				p.flight[from] = p.flight[from][:0] // the receiver is gone
				break
			}
			if m < n {
				// Backpressure: let the receiver transmit first.
				p.flight[1-from] = dst.PollTransmit(p.flight[1-from])
				moved = p.drainEvents(1-from) || moved
				if m == 0 {
					break
				}
			}
		}
	}
	return moved
}

func (p *Pair) drainEvents(side Side) bool {
	c := p.Conn(side)
	any := false
	for {
		var ok bool
		if p.ev, ok = c.PollEvent(); !ok {
			return any
		}
		any = true
		if p.OnEvent != nil {
			p.OnEvent(side, &p.ev)
			continue
		}
		p.Log = append(p.Log, Logged{Side: side, At: p.Now, Event: Clone(p.ev)})
	}
}

// Drive steps until nothing moves. It panics if that takes more than a
// million steps, which means two Conns that keep talking forever.
func (p *Pair) Drive() {
	if err := p.DriveBounded(1_000_000); err != nil {
		panic(err)
	}
}

// DriveBounded steps until nothing moves, or fails after max steps.
func (p *Pair) DriveBounded(max int) error {
	for i := 0; i < max; i++ {
		if !p.Step() {
			return nil
		}
	}
	return fmt.Errorf("coretest: pair still busy after %d steps", max)
}

// Advance moves the virtual clock by d and fires every timer now due, on
// both sides, without moving bytes.
func (p *Pair) Advance(d time.Duration) {
	p.Now = p.Now.Add(d)
	p.Client.HandleTimeout(p.Now)
	p.Server.HandleTimeout(p.Now)
}

// RunUntil advances the clock from deadline to deadline (driving traffic in
// between) until cond holds or limit of virtual time has passed. It reports
// whether cond held.
func (p *Pair) RunUntil(limit time.Duration, cond func() bool) bool {
	end := p.Now.Add(limit)
	for {
		p.Drive()
		if cond() {
			return true
		}
		next, ok := p.nextDeadline()
		if !ok || next.After(end) {
			return false
		}
		p.Advance(next.Sub(p.Now))
	}
}

func (p *Pair) nextDeadline() (time.Time, bool) {
	a, okA := p.Client.PollTimeout()
	b, okB := p.Server.PollTimeout()
	switch {
	case okA && okB:
		if b.Before(a) {
			return b, true
		}
		return a, true
	case okA:
		return a, true
	}
	return b, okB
}

// CheckInvariants runs core's invariant checker on both sides, after
// reporting any contract Step saw broken: a PollTransmit that gave bytes
// while WantsOutput said there was nothing to send.
func (p *Pair) CheckInvariants() error {
	if p.broken != nil {
		return p.broken
	}
	if err := p.Client.CheckInvariants(); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if err := p.Server.CheckInvariants(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Events returns the logged events of one side, optionally only of the
// given kinds.
func (p *Pair) Events(side Side, kinds ...core.EventKind) []core.Event {
	var out []core.Event
	for _, l := range p.Log {
		if l.Side != side {
			continue
		}
		if len(kinds) == 0 {
			out = append(out, l.Event)
			continue
		}
		for _, k := range kinds {
			if l.Event.Kind == k {
				out = append(out, l.Event)
				break
			}
		}
	}
	return out
}

// Clone returns e with its slices copied.
func Clone(e core.Event) core.Event {
	if e.Headers != nil {
		e.Headers = append([]core.HeaderField(nil), e.Headers...)
	}
	if e.Data != nil {
		e.Data = append([]byte(nil), e.Data...)
	}
	return e
}
