// Command attack replays one HTTP/2 attack from the catalogue in
// bench/attack/scenario against a server on this machine and reports what
// the server did (issue 7):
//
//	go run ./bench/attack KIND -addr HOST:PORT [-h2c|-k] [-n N] [-timeout D] [-json]
//	go run ./bench/attack -list
//
// KIND is a scenario name (ping-flood, rapid-reset, …), a comma-separated
// list of them, "attacks" (every attack) or "all" (attacks and legitimate
// workloads). The address must resolve to loopback only (127.0.0.0/8 or
// ::1): the tool refuses anything else. Without -h2c it speaks TLS with
// ALPN "h2"; -k skips certificate verification. Every loop is bounded: the
// script by N, the run by -timeout (default 10 s), and the probes that
// follow by 2 s each.
//
// For each run it prints one line, or with -json one JSON object:
//
//	{"kind", "outcome", "code", "debug", "frames_sent", "bytes_sent",
//	 "elapsed_ms", "conn_still_served", "server_still_serves"}
//
// outcome is "goaway" (code and debug from the server's GOAWAY), "rst"
// (the connection stayed open, streams were reset; code of the first
// RST_STREAM), "closed" (the transport closed without GOAWAY) or
// "timeout-still-open". When a connection left open refused requests with
// an HTTP error status instead, code is "HTTP_<status>". frames_sent and
// bytes_sent count what was written before the server's reaction was
// seen; elapsed_ms runs from connect to that reaction (or the end).
// conn_still_served reports a PING answered on the attacking connection
// after the attack; server_still_serves a GET answered on a fresh
// connection. An "error" field appears only when the run itself failed.
package main
