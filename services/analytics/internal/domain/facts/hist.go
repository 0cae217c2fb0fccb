package facts

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"
)

// Histogram buckets are log-scale, 5% wide: bucket b holds durations from Lower(b) up to Lower(b+1).
// Bucket 0 holds everything under a second.
const growth = 1.05

// Bucket returns the histogram bucket of d.
func Bucket(d time.Duration) int {
	s := d.Seconds()
	if s < 1 {
		return 0
	}
	return 1 + int(math.Floor(math.Log(s)/math.Log(growth)))
}

// Lower returns the smallest duration of bucket b.
func Lower(b int) time.Duration {
	if b <= 0 {
		return 0
	}
	return time.Duration(math.Pow(growth, float64(b-1)) * float64(time.Second))
}

// Percentile returns the p-th percentile (0 < p ≤ 1) of the durations counted in counts (bucket → count),
// by nearest rank, as the middle of the bucket holding it: within 2.5% of the true value above a second.
func Percentile(counts map[int]int64, p float64) time.Duration {
	var total int64
	maxB := 0
	for b, n := range counts {
		total += n
		maxB = max(maxB, b)
	}
	if total <= 0 {
		return 0
	}
	rank := int64(math.Ceil(p * float64(total)))
	var seen int64
	for b := 0; b <= maxB; b++ {
		seen += counts[b]
		if seen >= rank {
			lo, hi := Lower(b), Lower(b+1)
			return lo + (hi-lo)/2
		}
	}
	return Lower(maxB)
}

// Histogram is a duration histogram: counts per bucket (see Bucket). A change's histogram may hold
// negative counts (a ticket leaving a bucket).
type Histogram map[int]int64

// Add adds o to h.
func (h Histogram) Add(o Histogram) {
	for b, n := range o {
		h[b] += n
		if h[b] == 0 {
			delete(h, b)
		}
	}
}

// Encode packs h for storage, buckets ascending, zero counts left out: for each bucket its distance from
// the previous one (uvarint) and its count (varint). A rollup row holds one histogram, so a report reads a
// row per period and key instead of a row per bucket.
func (h Histogram) Encode() []byte {
	buckets := make([]int, 0, len(h))
	for b, n := range h {
		if n != 0 {
			buckets = append(buckets, b)
		}
	}
	slices.Sort(buckets)
	out := make([]byte, 0, len(buckets)*3)
	prev := 0
	for _, b := range buckets {
		out = binary.AppendUvarint(out, uint64(b-prev))
		out = binary.AppendVarint(out, h[b])
		prev = b
	}
	return out
}

// ErrBadHistogram is returned for stored bytes Encode did not write.
var ErrBadHistogram = errors.New("malformed histogram")

// Decode adds the histogram packed in b (by Encode) to h.
func (h Histogram) Decode(b []byte) error {
	bucket := 0
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || d > math.MaxInt32 {
			return ErrBadHistogram
		}
		b = b[n:]
		c, n := binary.Varint(b)
		if n <= 0 {
			return ErrBadHistogram
		}
		b = b[n:]
		bucket += int(d)
		h[bucket] += c
		if h[bucket] == 0 {
			delete(h, bucket)
		}
	}
	return nil
}
