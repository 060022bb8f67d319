// Package chaos holds failure tests of the whole service: the local
// program killed with SIGKILL mid-campaign and restarted, every queue
// message delivered twice, the AWS emulators unreachable mid-campaign, a
// model provider that never answers, and a poll or a crash right after a
// campaign's last write. Each asserts the same invariant: the campaign
// finishes, every prospect has exactly one outcome, the counters match the
// emails, and the webhook is sent once.
//
// `make test` runs the short variants (well under a minute together).
// INGREN_SOAK=1 (`make soak`) runs longer ones: more prospects, more kills,
// real queue timeouts instead of fast-forwarded ones.
// INGREN_CHAOS_SEED=N repeats a run's random choices; each test logs its
// seed.
package chaos
