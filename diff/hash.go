package diff

// FNV-1a, 64 bit: simple, stable across processes and releases (the hash
// is persisted), and fast enough next to the redaction it lets us skip.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Hash fingerprints a raw item. Records keep it, so that an item whose
// bytes did not change since the last look is skipped without decoding or
// redaction; it must therefore never change between releases.
func Hash(raw []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, c := range raw {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}
