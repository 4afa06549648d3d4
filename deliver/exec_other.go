//go:build !unix

package deliver

import "os/exec"

// killProcessGroup leaves the default: cancellation kills the command
// itself.
// TODO: kill the command's children too (a job object on Windows).
func killProcessGroup(*exec.Cmd) {}
