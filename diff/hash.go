package diff

import (
	"encoding/binary"
	"math/bits"
)

// The primes of XXH64.
const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// Hash fingerprints a raw item with XXH64 (seed 0). Records keep it, so that
// an item whose bytes did not change since the last look is skipped without
// redaction; it is persisted, so it must never change between releases or
// processes (hash/maphash would). XXH64 rather than FNV-1a because it reads
// 8 bytes at a time: hashing every item of every look is the hot path.
func Hash(raw []byte) uint64 {
	n := len(raw)
	var h uint64
	if n >= 32 {
		// Typed constants cannot wrap around; variables can.
		p1, p2 := prime1, prime2
		v1, v2, v3, v4 := p1+p2, p2, uint64(0), -p1
		for ; len(raw) >= 32; raw = raw[32:] {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(raw))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(raw[8:]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(raw[16:]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(raw[24:]))
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) +
			bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		for _, v := range [...]uint64{v1, v2, v3, v4} {
			h = (h^xxRound(0, v))*prime1 + prime4
		}
	} else {
		h = prime5
	}
	h += uint64(n)
	return xxAvalanche(xxTail(h, raw))
}

// xxTail mixes in the last bytes, fewer than 32.
func xxTail(h uint64, raw []byte) uint64 {
	for ; len(raw) >= 8; raw = raw[8:] {
		h ^= xxRound(0, binary.LittleEndian.Uint64(raw))
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
	}
	if len(raw) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(raw)) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		raw = raw[4:]
	}
	for _, c := range raw {
		h ^= uint64(c) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
	}
	return h
}

func xxRound(acc, lane uint64) uint64 {
	return bits.RotateLeft64(acc+lane*prime2, 31) * prime1
}

func xxAvalanche(h uint64) uint64 {
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}
