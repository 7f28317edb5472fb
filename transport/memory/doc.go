// Package memory provides in-process connections for deterministic tests
// and simulation: Pipe returns two net.Conn ends whose reads are cut into
// seeded-random chunks, whose bytes can arrive after a latency on a virtual
// Clock, and which can stall or break abruptly on command. Listener hands
// such pipes to a server as if they had been accepted.
//
// The same Seed gives the same chunking; with a Clock, time moves only when
// the test calls Advance, so timeouts and latency are exact. Runtimes take
// a Clock through any value with Now and AfterFunc (package h2's Clock).
package memory
