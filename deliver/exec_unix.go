//go:build unix

package deliver

import (
	"os/exec"
	"syscall"
)

// killProcessGroup starts the command in a process group of its own and
// makes cancellation kill the whole group, so that a shell script's
// children die with it instead of outliving the timeout.
func killProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
