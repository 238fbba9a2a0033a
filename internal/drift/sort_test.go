package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortFloats(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var scratch []uint64
	for _, n := range []int{0, 1, 5, radixMin - 1, radixMin, 100000} {
		for _, gen := range []func() float64{
			rng.NormFloat64,
			func() float64 { return float64(rng.IntN(7)) - 3 },
			func() float64 { return math.Copysign(rng.ExpFloat64()*1e300, rng.NormFloat64()) },
			func() float64 { return 5 },
			func() float64 {
				return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 1e-310, -1e-310}[rng.IntN(6)]
			},
		} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen()
			}
			want := slices.Clone(x)
			slices.Sort(want)
			sortFloats(x, &scratch)
			for i := range x {
				if x[i] != want[i] {
					t.Fatalf("n=%d: x[%d] = %v, want %v", n, i, x[i], want[i])
				}
			}
		}
	}
}

func TestNumStoreKeepsOrderAcrossReserveAndChunks(t *testing.T) {
	t.Parallel()
	var s numStore
	n := 0
	add := func(k int) {
		for i := 0; i < k; i++ {
			s.add(float64(n))
			n++
		}
	}
	add(chunkLen + 10) // chunks only
	s.reserve(int64(chunkLen + 100))
	add(500) // fills base, then overflows into a chunk
	var seen []float64
	s.each(func(v float64) { seen = append(seen, v) })
	got := s.values()
	if len(got) != n || len(seen) != n || s.n != int64(n) {
		t.Fatalf("%d values (%d by each, n=%d), want %d", len(got), len(seen), s.n, n)
	}
	for i := range got {
		if got[i] != float64(i) || seen[i] != float64(i) {
			t.Fatalf("value %d = %v/%v", i, got[i], seen[i])
		}
	}
}

func TestSortFloatsInPlace(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 95, 5000, 100000} {
		for _, gen := range []func() float64{
			rng.NormFloat64,
			func() float64 { return float64(rng.IntN(7)) },
			func() float64 { return rng.ExpFloat64() * 1e30 * float64(1-2*rng.IntN(2)) },
			func() float64 { return 5 },
		} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen()
			}
			x = append(x, 0, math.Copysign(0, -1), -1e100, 1e100)
			want := slices.Clone(x)
			slices.Sort(want)
			sortFloatsInPlace(x)
			for i := range x {
				if x[i] != want[i] {
					t.Fatalf("n=%d: x[%d] = %v, want %v", n, i, x[i], want[i])
				}
			}
		}
	}
}

func BenchmarkSortFloats(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]float64, 1000000)
	for i := range src {
		src[i] = rng.NormFloat64()
	}
	x := make([]float64, len(src))
	var scratch []uint64
	b.Run("lsd", func(b *testing.B) {
		for range b.N {
			copy(x, src)
			sortFloats(x, &scratch)
		}
	})
	b.Run("msd-in-place", func(b *testing.B) {
		for range b.N {
			copy(x, src)
			sortFloatsInPlace(x)
		}
	})
}
