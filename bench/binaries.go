//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// binaries are the two programs the daemon suite runs, built the same
// way: static, paths trimmed, symbols stripped.
type binaries struct {
	daemon  string // opencals-sync, built by scripts/build as it ships
	minimal string // the baseline: net/http answering /readyz and nothing else
}

// minimalSource is the baseline program: the smallest server that can
// answer a readiness probe. It listens on its first argument.
const minimalSource = `package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	if err := http.ListenAndServe(os.Args[1], nil); err != nil {
		os.Exit(1)
	}
}
`

// build builds both programs once per run.
func (e *env) build(ctx context.Context) (*binaries, error) {
	if e.binaries != nil {
		return e.binaries, nil
	}
	b := &binaries{daemon: filepath.Join(e.tmp, "opencals-sync"),
		minimal: filepath.Join(e.tmp, "minimal-http")}
	e.logger.Info("building", "binary", b.daemon, "with", "scripts/build")
	cmd := exec.CommandContext(ctx, filepath.Join(e.root, "scripts", "build"), b.daemon)
	cmd.Dir = e.root
	if err := runQuiet(cmd); err != nil {
		return nil, fmt.Errorf("building opencals-sync: %w", err)
	}
	if err := buildMinimal(ctx, filepath.Join(e.tmp, "minimal"), b.minimal); err != nil {
		return nil, err
	}
	e.binaries = b
	return b, nil
}

// buildMinimal builds minimalSource in its own module with the flags
// scripts/build uses.
func buildMinimal(ctx context.Context, dir, out string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("building the baseline: %w", err)
	}
	files := map[string]string{"go.mod": "module minimal\n\ngo 1.26\n", "main.go": minimalSource}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return fmt.Errorf("building the baseline: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if err := runQuiet(cmd); err != nil {
		return fmt.Errorf("building the baseline: %w", err)
	}
	return nil
}

// runQuiet runs cmd and returns its output in the error when it fails.
func runQuiet(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, tail(out.String(), 3))
	}
	return nil
}

// fileMiB is a file's size in MiB.
func fileMiB(path string) (float64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return mib(fi.Size()), nil
}
