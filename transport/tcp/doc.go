// Package tcp dials and listens for cleartext HTTP/2 with prior knowledge
// ("h2c", RFC 9113 §3.3): the client sends the connection preface (§3.4)
// as its first bytes, with no HTTP/1.1 Upgrade (which RFC 9113 removed).
// This package only makes the TCP connection; the preface and everything
// after it belong to the runtime (package h2).
//
// # Socket options
//
// Every connection made by Dial or accepted from Listen, and any
// *net.TCPConn given to Configure, gets:
//
//   - TCP_NODELAY, always. HTTP/2 coalesces its own frames into as few
//     writes as it can, so Nagle's algorithm (RFC 896) has nothing left to
//     batch; it only holds back the small frames whose latency matters —
//     SETTINGS and PING acknowledgements (RFC 9113 §6.5.3, §6.7),
//     WINDOW_UPDATE (§6.9) that unblocks a sender, RST_STREAM — and it
//     interacts badly with delayed ACKs (up to 40 ms a round trip on
//     Linux). There is deliberately no option to turn it off.
//   - TCP keep-alive (RFC 9293 §3.8.4) with Config.KeepAlive as both the
//     idle time before the first probe and the interval between probes,
//     15 s by default to match the HTTP/2 keep-alive PING of the core. It
//     finds a peer that vanished under an idle connection even when
//     HTTP/2 PINGs are off. A negative KeepAlive disables it.
//   - SO_RCVBUF and SO_SNDBUF from Config.ReadBuffer and Config.WriteBuffer
//     when positive; zero leaves the operating system's (usually
//     auto-tuned) sizes alone. The kernel may round or double the value.
//
// # Errors
//
// Dial returns the *net.OpError of package net, which names the operation
// and the address ("dial tcp 127.0.0.1:1: connect: connection refused");
// an error that does not name the address (name resolution, a cancelled
// ctx) is wrapped as "tcp: dial ADDR: ...". errors.Is and errors.As see
// through the wrapping (context.Canceled, syscall.ECONNREFUSED, ...).
package tcp
