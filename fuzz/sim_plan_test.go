package fuzz

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/h2proto/h2/core"
)

// simPlan is what a seed decides before the run starts: the shape of the
// world, the fault mix of the safety phase and the workload mix.
type simPlan struct {
	clients     int
	maxConns    int // connections a client may dial
	maxInflight int // streams a client runs at once on a connection
	tick        time.Duration
	idleStep    time.Duration // largest clock move when nothing moved
	writeBatch  int           // PollTransmit waits while this much output is unwritten
	serverSlice int           // largest SendData call of the server

	// Candidates for each pipe's shape.
	chunks    []int
	latencies []time.Duration
	buffers   []int

	rates simRates

	arrive       float64 // chance per client and step of a new workload
	kinds        []simKind
	maxBody      int64
	manual       float64 // share of client streams with manual flow control
	serverManual float64 // share of server connections with manual flow control
	extras       float64 // chance of each optional feature of a workload
	consumeDelay time.Duration
}

// simRates are the per-step chances of each fault in the safety phase.
type simRates struct {
	stall, breakConn, settings, clientReset, serverReset, release float64
	goAwayServer, goAwayClient, closeConn, jump, ping             float64
	stallMax, jumpMax                                             time.Duration
}

// simStepBytes bounds the content the workloads of one step add, on
// average, which bounds a run's cost.
const simStepBytes = 2 << 10

// simPick returns one of xs, chosen by rng.
func simPick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// newSimPlan draws a plan. About one seed in eight is calm: no faults.
func newSimPlan(rng *rand.Rand) simPlan {
	p := simPlan{
		clients:     1 + rng.IntN(4),
		maxConns:    1 + rng.IntN(4),
		maxInflight: simPick(rng, 1, 4, 16, 64),
		tick:        simPick(rng, 10*time.Microsecond, 100*time.Microsecond, time.Millisecond),
		idleStep:    simPick(rng, time.Millisecond, 100*time.Millisecond, 2*time.Second),
		writeBatch:  simPick(rng, 1<<10, 16<<10, 256<<10),
		serverSlice: simPick(rng, 100, 4<<10, 64<<10),

		chunks:    []int{simPick(rng, 0, 1500, 16<<10), simPick(rng, 0, 64, 4<<10)},
		latencies: []time.Duration{simPick(rng, 0, 100*time.Microsecond), simPick(rng, 0, 5*time.Millisecond, 50*time.Millisecond)},
		buffers:   []int{simPick(rng, 0, 4<<10, 64<<10), simPick(rng, 0, 1<<10)},

		arrive:       simPick(rng, 0.01, 0.03, 0.1),
		maxBody:      simPick[int64](rng, 0, 1<<10, 16<<10, 64<<10, 200<<10),
		manual:       simPick(rng, 0, 0.3, 1),
		serverManual: simPick(rng, 0, 0.5, 1),
		extras:       simPick(rng, 0, 0.2, 0.5),
		consumeDelay: simPick(rng, 0, time.Millisecond, 100*time.Millisecond, 2*time.Second),
	}
	for k := range simNumKinds {
		if rng.IntN(4) != 0 {
			p.kinds = append(p.kinds, k)
		}
	}
	// Bound the bytes a step adds: a workload moves about maxBody/4 bytes.
	p.arrive = min(p.arrive, simStepBytes/float64(int64(p.clients)*(p.maxBody/4+1<<10)))
	if p.maxBody > 16<<10 && p.chunks[1] == 64 {
		p.chunks[1] = 512 // tiny reads of big bodies cost too much time
	}
	if len(p.kinds) == 0 {
		p.kinds = append(p.kinds, simPost)
	}
	if rng.IntN(8) != 0 {
		p.rates = newSimRates(rng)
	}
	return p
}

func newSimRates(rng *rand.Rand) simRates {
	return simRates{
		stall:        simPick(rng, 0, 0.002, 0.01, 0.03),
		breakConn:    simPick(rng, 0, 0, 0.0005, 0.002),
		settings:     simPick(rng, 0, 0.002, 0.01, 0.03),
		clientReset:  simPick(rng, 0, 0.002, 0.01, 0.05),
		serverReset:  simPick(rng, 0, 0.002, 0.01),
		release:      simPick(rng, 0, 0.002, 0.01),
		goAwayServer: simPick(rng, 0, 0, 0.0005, 0.002),
		goAwayClient: simPick(rng, 0, 0, 0.0005),
		closeConn:    simPick(rng, 0, 0, 0.0003),
		jump:         simPick(rng, 0, 0, 0.0005, 0.002),
		ping:         simPick(rng, 0, 0.005, 0.02),
		stallMax:     simPick(rng, 10*time.Millisecond, 500*time.Millisecond, 20*time.Second, 60*time.Second),
		jumpMax:      simPick(rng, 5*time.Second, 90*time.Second, 5*time.Minute),
	}
}

// coreConfig draws one end's core configuration. The settings that churn
// and restoreSettings puts back are always set explicitly.
func (p *simPlan) coreConfig(rng *rand.Rand, side simSide) core.Config {
	c := core.Config{
		MaxConcurrentStreams: 100,
		InitialWindowSize:    simPick[uint32](rng, 256<<10, 256<<10, 65535, 16<<10, 1<<20),
		ConnectionWindowSize: simPick[uint32](rng, 0, 0, 65535, 4<<20),
		MaxFrameSize:         simPick[uint32](rng, 16<<10, 16<<10, 32<<10, 1<<20),
		HeaderTableSize:      simPick[uint32](rng, 4096, 4096, 256, 64<<10),
		MaxHeaderListSize:    64 << 10,
		MaxEncoderTableSize:  simPick[uint32](rng, 0, 0, 64, 64<<10),
		MaxSendFrameSize:     simPick[uint32](rng, 0, 0, 32<<10, 1<<20),
	}
	c.Timeouts.KeepAlive = simPick(rng, 0, 0, time.Second, -1)
	c.Timeouts.Idle = simPick(rng, 0, 0, 2*time.Second)
	c.Timeouts.GoAwayDrain = simPick(rng, 0, 0, 10*time.Millisecond, 30*time.Second)
	c.Limits.StreamSendBuffer = simPick(rng, 0, 0, 4<<10, 16<<10)
	c.Limits.ConnSendBuffer = simPick(rng, 0, 0, 64<<10)
	c.Limits.OutputHighWater = simPick(rng, 0, 0, 8<<10)
	if side == simServer {
		c.MaxConcurrentStreams = simPick[uint32](rng, 100, 100, 3, 10)
		c.ManualFlowControl = rng.Float64() < p.serverManual
	} else {
		c.PeerMaxConcurrentStreams = simPick[uint32](rng, 0, 0, 5)
	}
	return c
}

// newWork draws a workload.
func (w *simWorld) newWork() *simWork {
	p, r := &w.plan, w.rng
	k := &simWork{kind: simPick(r, p.kinds...), seed: r.Uint64()}
	k.size = r.Int64N(p.maxBody>>r.IntN(8) + 1) // skewed towards small bodies
	extra := func() bool { return r.Float64() < p.extras }
	k.buffer = k.kind == simPost && r.IntN(2) == 0
	k.reqTrailers = (k.kind == simPost || k.kind == simBidi) && extra()
	k.respTrailers = k.kind != simConnect && extra()
	k.info = k.kind != simConnect && extra()
	k.contentLength = (k.kind == simPost || k.kind == simGet) && extra()
	if extra() && r.IntN(2) == 0 {
		k.pad = 1 + r.IntN(40<<10) // beyond 16 KiB, HEADERS needs CONTINUATION
	}
	k.manual = r.Float64() < p.manual
	k.consumeDelay = time.Duration(r.Int64N(int64(p.consumeDelay) + 1))
	if extra() {
		k.respondDelay = time.Duration(1 + r.Int64N(int64(100*time.Millisecond)))
	}
	k.sliceMax = max(simPick(r, 16, 1000, 16<<10, 64<<10), int(k.size/128)) // a body takes at most ~256 calls
	k.chunkMax = max(simPick(r, 1, 100, 4<<10, 32<<10), int(k.size/32)+1)
	return k
}

// spawnWork gives each client a new workload with the plan's chance.
func (w *simWorld) spawnWork() {
	for _, c := range w.clients {
		if w.rng.Float64() < w.plan.arrive {
			c.queue = append(c.queue, w.newWork())
		}
	}
}

// String describes the plan in one line, for the trace and the log.
func (p *simPlan) String() string {
	return fmt.Sprintf("clients=%d maxConns=%d inflight=%d tick=%v idle=%v writeBatch=%d chunks=%v latencies=%v buffers=%v arrive=%v kinds=%v maxBody=%d manual=%v/%v extras=%v consumeDelay=%v rates=%+v",
		p.clients, p.maxConns, p.maxInflight, p.tick, p.idleStep, p.writeBatch, p.chunks, p.latencies, p.buffers,
		p.arrive, p.kinds, p.maxBody, p.manual, p.serverManual, p.extras, p.consumeDelay, p.rates)
}

// simConfigText describes what the plan chose in a core configuration.
func simConfigText(c *core.Config) string {
	return fmt.Sprintf("window=%d connWindow=%d maxFrame=%d tableSize=%d encTable=%d sendFrame=%d streamBuf=%d connBuf=%d highWater=%d maxStreams=%d peerMaxStreams=%d manual=%v keepAlive=%v idle=%v drain=%v",
		c.InitialWindowSize, c.ConnectionWindowSize, c.MaxFrameSize, c.HeaderTableSize, c.MaxEncoderTableSize,
		c.MaxSendFrameSize, c.Limits.StreamSendBuffer, c.Limits.ConnSendBuffer, c.Limits.OutputHighWater,
		c.MaxConcurrentStreams, c.PeerMaxConcurrentStreams, c.ManualFlowControl,
		c.Timeouts.KeepAlive, c.Timeouts.Idle, c.Timeouts.GoAwayDrain)
}
