//go:build faults

package faults

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// childEnv, when set, makes the test binary run as a helper process
// instead of running tests: "sandbox" (the fake API, see child_test.go) or
// "locker" (holds the database's write lock).
const childEnv = "OPENCALS_FAULTS_CHILD"

// binary is the opencals-sync executable under test. TestMain builds it
// once, before any test runs, and nothing writes it afterwards.
var binary string

func TestMain(m *testing.M) {
	if kind := os.Getenv(childEnv); kind != "" {
		os.Exit(runChild(kind))
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "opencals-faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "opencals-sync")
	if err := build(binary); err != nil {
		fmt.Fprintln(os.Stderr, "faults: building the binary:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// build compiles the daemon, with the race detector when the suite itself
// runs under it, so that a race in the daemon shows in its logs.
func build(out string) error {
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "../cmd/opencals-sync")...)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if raceEnabled {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, b)
	}
	return nil
}
