// Package bench measures h2proto beside its peers, in the same run. Each
// Go benchmark here comes in pairs of sub-benchmarks doing the same work,
// named by the implementation: "impl=h2proto", and "impl=xnet"
// (golang.org/x/net/http2, whose code Go's net/http bundles) or
// "impl=nethttp" (net/http's own client and server). bench/compare.sh runs
// them and shows them side by side with benchstat (-col /impl); only
// figures from one run are comparable. Every benchmark reports
// allocations.
//
// bench/h2load.sh drives "h2 serve -h2c", a net/http h2c server
// (bench/nethttpd) and h2o with h2load, each server pinned to one core.
// docs/benchmarks.md has the figures and how they were made.
//
// The package has no code of its own outside _test.go files. CI only checks
// that the benchmarks run (-benchtime=1x); they are never timed tests.
package bench
