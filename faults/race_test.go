//go:build faults && race

package faults

// raceEnabled says the suite runs under the race detector; the daemon is
// then built with it too.
const raceEnabled = true
