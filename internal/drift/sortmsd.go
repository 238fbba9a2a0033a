package drift

import (
	"slices"
	"unsafe"
)

// sortFloatsInPlace sorts x (no NaNs) ascending without a buffer: an MSD
// radix sort (American flag sort, McIlroy, Bostic & McIlroy 1993) on the
// order-preserving bit patterns, 11 bits a level, permuting each level in
// place by swap cycles, small buckets by pdqsort. It uses no memory beyond
// x, where sortFloats needs a buffer as large as x.
func sortFloatsInPlace(x []float64) {
	if len(x) < radixMin {
		slices.Sort(x)
		return
	}
	keys := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
	for i, k := range keys {
		keys[i] = flipFloat(k)
	}
	msdSort(keys, 53)
	for i, k := range keys {
		keys[i] = unflipFloat(k)
	}
}

// msdSmall is the bucket size below which msdSort hands over to pdqsort.
const msdSmall = 1024

func msdSort(keys []uint64, shift uint) {
	const buckets = 1 << 11
	for {
		if len(keys) < msdSmall {
			slices.Sort(keys)
			return
		}
		var counts [buckets]int
		for _, k := range keys {
			counts[(k>>shift)&(buckets-1)]++
		}
		if counts[(keys[0]>>shift)&(buckets-1)] == len(keys) {
			// One digit for all: go to the next one.
			if shift == 0 {
				return
			}
			shift = nextShift(shift)
			continue
		}
		var next, end [buckets]int
		sum := 0
		for b, c := range counts {
			next[b] = sum
			sum += c
			end[b] = sum
		}
		for b := 0; b < buckets; b++ {
			for next[b] < end[b] {
				k := keys[next[b]]
				d := int((k >> shift) & (buckets - 1))
				for d != b {
					keys[next[d]], k = k, keys[next[d]]
					next[d]++
					d = int((k >> shift) & (buckets - 1))
				}
				keys[next[b]] = k
				next[b]++
			}
		}
		if shift == 0 {
			return
		}
		s, start := nextShift(shift), 0
		for _, c := range counts {
			if c > 1 {
				msdSort(keys[start:start+c], s)
			}
			start += c
		}
		return
	}
}

// nextShift is the next 11-bit digit down (53, 42, 31, 20, 9, 0: the last
// overlaps bits already equal within its bucket).
func nextShift(s uint) uint {
	if s < 11 {
		return 0
	}
	return s - 11
}
