package sdnotify

import "golang.org/x/sys/unix"

// monotonicUSec reads CLOCK_MONOTONIC, the clock systemd compares
// MONOTONIC_USEC against; Go's own monotonic readings have another origin.
func monotonicUSec() (uint64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, false
	}
	return uint64(ts.Nano()) / 1000, true
}
