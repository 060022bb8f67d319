//go:build !race

package chaos_test

// raceEnabled: the tests run without -race, so the programs they build do too.
const raceEnabled = false
