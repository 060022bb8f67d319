// Package bench measures Ingren end to end on one machine, over loopback:
// the local program's throughput and latency against a zero-latency
// OpenAI-compatible upstream (and the upstream alone, as the baseline), a
// 1,000-prospect campaign against a slow, rate-limited upstream, the
// 10,000-prospect submit, the Lambdas' cold starts and the program's peak
// memory. TestBench (make bench) runs it all and writes the results into
// BENCHMARKS.md; this package holds the tools it uses: a wrk runner, an
// open-loop load generator, process accounting from /proc, and the Lambda
// Runtime Interface Emulator.
package bench
