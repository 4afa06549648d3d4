//go:build !linux

// Command bench runs every benchmark of opencals-sync; it reads process
// memory from /proc and so runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench: runs on Linux only (it reads /proc/PID/status)")
	os.Exit(2)
}
