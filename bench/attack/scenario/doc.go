// Package scenario is the catalogue of HTTP/2 attacks replayed against
// servers by the attack client (bench/attack) and against the core in
// memory by this package's tests: each Scenario names an attack (ping
// flood, rapid reset, MadeYouReset, CONTINUATION flood, HPACK bomb, …;
// see /work/shared/anchors/security.md and issue 7), the defence that
// should stop it, the server reactions that count as bounded, and, for
// the limits a real client can approach, a paired legitimate workload
// that must never be stopped.
//
// A Script holds the attacker's bytes for one run — client preface,
// SETTINGS, then the attack — in bounded rounds, so that a runner can
// write round by round and stop as soon as the server closes. Frames are
// built with the core's frame encoders and a small HPACK encoder of this
// package that never uses Huffman coding and touches the dynamic table
// only where a scenario means to.
package scenario
