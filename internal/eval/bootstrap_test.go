package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPairedBootstrap(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 9))
	n := 500
	cur, base := make([]float64, n), make([]float64, n)
	for i := range n {
		base[i] = b2f(rng.Float64() < 0.90)
		cur[i] = b2f(rng.Float64() < 0.85)
	}

	t.Run("deterministic with seed", func(t *testing.T) {
		t.Parallel()
		a, err := PairedBootstrap(cur, base, 1000, 0.95, 7)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := PairedBootstrap(cur, base, 1000, 0.95, 7)
		// Continuous values, so that two seeds cannot land on the same
		// quantiles by the discreteness of 0/1 data.
		cont := make([]float64, n)
		for i := range cont {
			cont[i] = base[i] + float64(i%17)/17
		}
		a2, _ := PairedBootstrap(cont, base, 1000, 0.95, 7)
		c, _ := PairedBootstrap(cont, base, 1000, 0.95, 8)
		if a != b {
			t.Fatalf("same seed, different intervals: %+v vs %+v", a, b)
		}
		if a2.Low == c.Low && a2.High == c.High {
			t.Fatalf("different seeds gave the same interval %+v", a2)
		}
	})
	t.Run("covers the observed delta", func(t *testing.T) {
		t.Parallel()
		ci, err := PairedBootstrap(cur, base, 2000, 0.95, 1)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for i := range cur {
			sum += cur[i] - base[i]
		}
		delta := sum / float64(n)
		if math.Abs(ci.Mean-delta) > 1e-12 {
			t.Fatalf("mean %v, want %v", ci.Mean, delta)
		}
		if !(ci.Low < delta && delta < ci.High) {
			t.Fatalf("interval [%v, %v] does not cover the delta %v", ci.Low, ci.High, delta)
		}
		// The standard error of a difference of two ~0.9 proportions on
		// 500 examples is about 0.02: the 95% interval is ~0.08 wide.
		if w := ci.High - ci.Low; w < 0.03 || w > 0.2 {
			t.Fatalf("implausible width %v", w)
		}
		if ci.N != n || ci.Samples != 2000 || ci.Confidence != 0.95 {
			t.Fatalf("bookkeeping wrong: %+v", ci)
		}
	})
	t.Run("zero width for identical", func(t *testing.T) {
		t.Parallel()
		ci, err := PairedBootstrap(base, base, 500, 0.9, 3)
		if err != nil {
			t.Fatal(err)
		}
		if ci.Low != 0 || ci.High != 0 || ci.Mean != 0 || ci.Excludes0() {
			t.Fatalf("identical inputs gave %+v", ci)
		}
	})
	t.Run("a constant shift is exact", func(t *testing.T) {
		t.Parallel()
		shifted := make([]float64, n)
		for i := range base {
			shifted[i] = base[i] + 0.25
		}
		ci, _ := PairedBootstrap(shifted, base, 500, 0.95, 3)
		if math.Abs(ci.Low-0.25) > 1e-12 || math.Abs(ci.High-0.25) > 1e-12 || !ci.Excludes0() {
			t.Fatalf("constant shift gave %+v", ci)
		}
	})
	t.Run("coverage", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("coverage simulation is slow")
		}
		// The true mean difference is 0.05; a 90% interval should cover it
		// in roughly 90% of independent samples.
		r := rand.New(rand.NewPCG(1, 2))
		covered, trials := 0, 200
		for trial := range trials {
			c, b := make([]float64, 200), make([]float64, 200)
			for i := range c {
				b[i] = r.NormFloat64()
				c[i] = b[i] + 0.05 + 0.3*r.NormFloat64()
			}
			ci, _ := PairedBootstrap(c, b, 400, 0.9, int64(trial))
			if ci.Low <= 0.05 && 0.05 <= ci.High {
				covered++
			}
		}
		if rate := float64(covered) / float64(trials); rate < 0.82 || rate > 0.96 {
			t.Fatalf("coverage %.2f, want about 0.90", rate)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			cur, base []float64
			samples   int
			conf      float64
		}{
			{nil, nil, 10, 0.9},
			{[]float64{1}, []float64{1, 2}, 10, 0.9},
			{[]float64{1}, []float64{1}, 0, 0.9},
			{[]float64{1}, []float64{1}, 10, 1},
		} {
			if _, err := PairedBootstrap(c.cur, c.base, c.samples, c.conf, 1); err == nil {
				t.Errorf("%+v: no error", c)
			}
		}
	})
}
