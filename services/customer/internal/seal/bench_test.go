package seal

import (
	"bytes"
	"testing"
)

// BenchmarkSealOpen64 measures sealing and opening one 64-byte field, the cost every write and reveal
// pays per sensitive field.
func BenchmarkSealOpen64(b *testing.B) {
	dk := mustDataKey(b, 0x33)
	aad := []byte("01890000-0000-7000-8000-000000000005\x00address")
	field := bytes.Repeat([]byte{0x5a}, 64)
	b.ReportAllocs()
	for b.Loop() {
		ct, err := dk.Seal(aad, field)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dk.Open(aad, ct); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndex measures one blind index, which every write and every lookup computes per indexed value.
func BenchmarkIndex(b *testing.B) {
	ix, err := NewIndexer(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ix.Index("phone", "13812345678")
	}
}

// BenchmarkWrapUnwrap measures wrapping and unwrapping a data key, paid once per customer read or write.
func BenchmarkWrapUnwrap(b *testing.B) {
	kr := mustKeyring(b, k1Spec+","+k2Spec)
	dk := mustDataKey(b, 0x33)
	aad := []byte("01890000-0000-7000-8000-000000000005")
	b.ReportAllocs()
	for b.Loop() {
		blob, err := kr.Wrap(dk, aad)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := kr.Unwrap(blob, aad); err != nil {
			b.Fatal(err)
		}
	}
}
