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
	for _, n := range []int{0, 1, 5, radixMin - 1, radixMin, 100000} {
		for _, gen := range []func() float64{
			rng.NormFloat64,
			func() float64 { return float64(rng.IntN(7)) - 3 },
			func() float64 { return math.Copysign(rng.ExpFloat64()*1e300, rng.NormFloat64()) },
			func() float64 { return 5 },
			func() float64 { return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 1e-310, -1e-310}[rng.IntN(6)] },
		} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen()
			}
			want := slices.Clone(x)
			slices.Sort(want)
			sortFloats(x)
			for i := range x {
				if x[i] != want[i] {
					t.Fatalf("n=%d: x[%d] = %v, want %v", n, i, x[i], want[i])
				}
			}
		}
	}
}
