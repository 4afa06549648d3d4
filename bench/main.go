//go:build linux

// Command bench runs every benchmark of opencals-sync at stated sizes and
// prints one Markdown table: each figure beside a baseline measured in the
// same run, their ratio and the goal, under the date, the Go version and
// the machine. Run it from inside the module:
//
//	go run ./bench                      # everything: about 6 minutes on 2 cores
//	go run ./bench -only store,daemon   # some suites
//
// The package benchmarks run through `go test -bench` with fixed -benchtime
// and -count, and repeated figures are reduced to their median. The daemon
// runs as the real binary, built by scripts/build, against the sandbox (the
// same binary) in a temporary directory; its memory comes from
// /proc/PID/status, so the command runs on Linux only.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}
