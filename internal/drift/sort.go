package drift

import (
	"slices"
	"unsafe"
)

// radixMin is the size below which the comparison sort is faster.
const radixMin = 1 << 12

// sortFloats sorts x (no NaNs) ascending. Large slices use an LSD radix
// sort on the order-preserving bit pattern of the floats: six passes of 11
// bits, each a counting scatter, several times faster than pdqsort on
// millions of values. Passes where every value has the same digit are
// skipped.
//
// scratch, when not nil, holds the radix sort's buffer between calls, so a
// worker sorting many columns allocates it once.
func sortFloats(x []float64, scratch *[]uint64) {
	n := len(x)
	if n < radixMin {
		slices.Sort(x)
		return
	}
	keys := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(x))), n)
	for i, k := range keys {
		keys[i] = flipFloat(k)
	}
	const bits, buckets, passes = 11, 1 << 11, 6
	var counts [passes][buckets]int
	for _, k := range keys {
		for p := 0; p < passes; p++ {
			counts[p][(k>>(p*bits))&(buckets-1)]++
		}
	}
	var tmp []uint64
	if scratch != nil && cap(*scratch) >= n {
		tmp = (*scratch)[:n]
	} else {
		tmp = make([]uint64, n)
		if scratch != nil {
			*scratch = tmp
		}
	}
	src, dst := keys, tmp
	for p := 0; p < passes; p++ {
		c := &counts[p]
		if c[(src[0]>>(p*bits))&(buckets-1)] == n {
			continue // every key has this digit
		}
		sum := 0
		for b := range c {
			sum, c[b] = sum+c[b], sum
		}
		shift := uint(p * bits)
		for _, k := range src {
			d := (k >> shift) & (buckets - 1)
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	for i, k := range keys {
		keys[i] = unflipFloat(k)
	}
}

// flipFloat maps float64 bits to a uint64 with the same order: negative
// numbers have every bit flipped, positive ones only the sign bit.
func flipFloat(k uint64) uint64 {
	mask := uint64(int64(k)>>63) | (1 << 63)
	return k ^ mask
}

func unflipFloat(k uint64) uint64 {
	mask := ((k >> 63) - 1) | (1 << 63)
	return k ^ mask
}
