// Package coretest is the test harness for package core, usable by anyone
// testing code built on it: everything runs in memory on a virtual clock, so
// tests are deterministic and need no sleeps.
//
//   - Pair joins a client Conn and a server Conn. Bytes move between them
//     when the test calls Step, Drive or DriveBounded, cut into pieces by a
//     seeded chunker; time moves only with Advance.
//   - TestPeer puts one Conn opposite a scripted peer: the test writes raw
//     frames (built with a FrameBuilder, legal or not) and asserts, frame by
//     frame, what the Conn sends back (WantFrame, WantIdle) and which events
//     it reports (WantEvent).
//
// Unlike package core, coretest may use testing and math/rand; it must not
// be imported by non-test code of the library.
package coretest
