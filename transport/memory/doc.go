// Package memory provides in-process connections for deterministic tests
// and simulation: Pipe returns the two ends of a full-duplex net.Conn whose
// reads are cut into seeded-random chunks, whose bytes can take a latency
// to arrive on a virtual Clock, and which can stall or break abruptly on
// command. Listener hands such pipes to a server as if it had accepted
// them. It is the base of the runtime's simulation tests (DESIGN §7).
//
// # Determinism
//
// The same Config.Seed gives the same sequence of read-size caps in each
// direction (math/rand/v2's PCG, seeded from Seed and the direction), and
// with a Clock time moves only when the test calls Advance or
// AdvanceToNext, so latency and deadlines fire at exact, repeatable
// instants. Clock's Now and AfterFunc match the clock the runtime (package
// h2) accepts, so one Clock drives the runtime's timers, the pipes'
// latency and the connections' deadlines together.
//
// # A pipe as a TCP connection
//
// Each direction is a byte stream like TCP's (RFC 9293): bytes arrive
// once, in order, never merged with the other direction. Chunking
// (Config.MaxChunk) imitates segmentation, so code under test meets frames
// split at every possible point. Config.Buffer bounds the bytes in flight
// per direction, standing for the socket buffers and the receive window:
// past it Write blocks until the reader drains, which is how backpressure
// reaches the writer. Close is a FIN (RFC 9293 §3.6): the peer reads
// what was sent, then io.EOF; CloseWrite is the half-close of
// shutdown(SHUT_WR). Break is a reset (RST, RFC 9293 §3.5.2): both ends
// fail at once and undelivered bytes are lost. Stall stops delivery to
// one end without closing anything, as a stalled path or a peer that
// stopped reading does, so timeouts can be tested.
//
// Errors are returned as the sentinels themselves, so both == and
// errors.Is work: net.ErrClosed, os.ErrDeadlineExceeded (a net.Error with
// Timeout true), io.EOF, io.ErrClosedPipe, ErrBroken or the error given to
// Break.
package memory
