// Package bench measures h2proto beside its peers, in the same run: each
// Go benchmark here comes in pairs of sub-benchmarks doing the same work:
// "h2proto", and "xnet" (golang.org/x/net/http2, whose code Go's net/http
// bundles) or "nethttp" (net/http's own client and server). Compare them with benchstat, or read the ratio off one run; only
// figures from one run are comparable. Every benchmark reports allocations.
//
// The package has no code of its own outside _test.go files. CI only checks
// that the benchmarks run (-benchtime=1x); they are never timed tests.
package bench
