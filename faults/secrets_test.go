//go:build faults

package faults

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testSecrets runs after every scenario: no log, and no event the
// receivers got, may hold any secret a scenario used (API keys, customer
// passwords and tokens, endpoint secrets, admin tokens) or a credential
// the API leaks in nested objects.
func testSecrets(t *testing.T, s *suite) {
	var files []string
	var scanned int64
	err := filepath.WalkDir(s.logs, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	contents := make([][]byte, len(files))
	for i, f := range files {
		if contents[i], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
		scanned += int64(len(contents[i]))
	}

	s.mu.Lock()
	kinds := make(map[string][]string, len(s.secrets))
	for kind, values := range s.secrets {
		for v := range values {
			kinds[kind] = append(kinds[kind], v)
		}
	}
	s.mu.Unlock()

	values := 0
	for _, kind := range slices.Sorted(maps.Keys(kinds)) {
		var leaks []string
		for _, v := range kinds[kind] {
			values++
			for i, c := range contents {
				if bytes.Contains(c, []byte(v)) {
					leaks = append(leaks, strings.TrimPrefix(files[i], s.logs+"/"))
				}
			}
		}
		s.report.Zero("secrets", kind+" found in logs or events", len(leaks))
		if len(leaks) > 0 {
			t.Errorf("%s found in %v", kind, leaks)
		}
	}
	s.report.Info("secrets", "files scanned", len(files))
	s.report.Info("secrets", "MiB scanned", scanned>>20)
	s.report.Info("secrets", "distinct secret values checked", values)
	if len(files) == 0 || values == 0 {
		t.Errorf("scanned %d files for %d secret values: run the scenarios with it", len(files),
			values)
	}
}
