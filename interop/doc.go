// Package interop holds the conformance and interoperability tests of
// h2proto (issue 3): they prove our server and client against HTTP/2
// peers nobody here wrote.
//
// The `h2` command, built once with the race detector, is served over
// cleartext prior knowledge (h2c) and TLS and exercised by h2spec (--strict,
// every case must pass), curl, nghttp, h2load and Go's net/http client; the
// library's client (h2.Dial) fetches files from nghttpd, h2o and Go's
// net/http server. Each server run by a test fails that test if its output
// reports a data race or it exits with an error.
//
// The peers are found on PATH (and in /usr/sbin); h2spec also at $H2SPEC
// or ../.tools/h2spec, where scripts/test.sh installs it. A missing peer
// skips its tests, except with CI=true, where it fails them. Everything
// listens on 127.0.0.1 only, and every external process runs under a
// timeout.
//
// The package has no non-test code; this file only documents it.
package interop
