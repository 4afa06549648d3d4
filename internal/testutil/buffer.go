// Package testutil holds what several packages' tests share.
package testutil

import (
	"bytes"
	gosync "sync"
)

// Buffer is a bytes.Buffer that the code under test may write to from
// several goroutines while the test reads it: a log or output destination.
type Buffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Bytes returns a copy of everything written so far.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
