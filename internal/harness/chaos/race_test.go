//go:build race

package chaos_test

// raceEnabled: the tests run with -race, so the programs they build do too.
const raceEnabled = true
