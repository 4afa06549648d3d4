//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// errNoMemory means a status file lacked VmRSS or VmHWM: the process had
// already exited (a zombie keeps neither).
var errNoMemory = errors.New("no VmRSS/VmHWM in status")

// memory is a process's resident set, in bytes, as /proc/PID/status
// reports it.
type memory struct {
	rss int64 // VmRSS: resident now
	hwm int64 // VmHWM: the highest VmRSS so far
}

// readMemory reads the memory of process pid.
func readMemory(pid int) (memory, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}, fmt.Errorf("reading memory of process %d: %w", pid, err)
	}
	defer f.Close()
	m, err := parseStatus(f)
	if err != nil {
		return memory{}, fmt.Errorf("reading memory of process %d: %w", pid, err)
	}
	return m, nil
}

// parseStatus reads VmRSS and VmHWM ("VmRSS:	  107372 kB").
func parseStatus(r io.Reader) (memory, error) {
	var m memory
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return memory{}, fmt.Errorf("unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("unexpected %s line %q", key, sc.Text())
		}
		if key == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return memory{}, err
	}
	if m.rss == 0 || m.hwm == 0 {
		return memory{}, errNoMemory
	}
	return m, nil
}

// mib converts bytes to MiB for the table.
func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }
