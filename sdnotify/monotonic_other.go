//go:build !linux

package sdnotify

// monotonicUSec has no systemd to agree with outside Linux.
func monotonicUSec() (uint64, bool) { return 0, false }
