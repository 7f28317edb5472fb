// Package bench measures h2proto beside its peers, in the same run: each
// Go benchmark here comes in pairs, sub-benchmarks "h2proto" and "xnet"
// (golang.org/x/net/http2, the HTTP/2 of Go's net/http), doing the same
// work. Compare them with benchstat, or read the ratio off one run; only
// figures from one run are comparable. Every benchmark reports allocations.
//
// The package has no code of its own outside _test.go files. CI only checks
// that the benchmarks run (-benchtime=1x); they are never timed tests.
package bench
