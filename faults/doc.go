//go:build faults

// Package faults is opencals-sync's fault suite: it runs the real binary
// against the sandbox and a loopback receiver while things around it break
// (SIGKILLs, API faults, a failing endpoint, a locked or full database,
// config edits), then compares what the receiver got with what the
// sandbox's change log says happened.
//
// Every file is behind the "faults" build tag, so `go test ./...` skips the
// suite; run it with `go test -tags=faults ./faults/` or scripts/faults.
// The non-test files hold the parts worth unit tests of their own: the
// oracle that turns a change log into expected event ids, the recording
// receiver and the report table.
package faults
