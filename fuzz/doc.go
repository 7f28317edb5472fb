// Package fuzz holds h2proto's verification beyond unit tests: rapid
// state-machine properties over a client and a server core, native Go fuzz
// targets for frame parsing, HPACK and whole connections, and TestSim, a
// seeded, replayable simulation of many clients and one server over
// transport/memory on a virtual clock. Everything lives in _test.go files;
// the package itself exports nothing. docs/testing.md says how to run each
// tool and how to reproduce a failure from its seed.
package fuzz
