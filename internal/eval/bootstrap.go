package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// PairedBootstrap resamples the paired differences d[i] = cur[i] − base[i]
// with replacement and returns the percentile interval of their mean. The
// same seed gives the same interval; identical inputs give a zero-width
// interval at 0.
func PairedBootstrap(cur, base []float64, samples int, confidence float64, seed int64) (CI, error) {
	if len(cur) != len(base) {
		return CI{}, fmt.Errorf("paired bootstrap: %d current values but %d baseline values", len(cur), len(base))
	}
	n := len(cur)
	if n == 0 {
		return CI{}, fmt.Errorf("paired bootstrap: no paired examples")
	}
	if samples < 1 {
		return CI{}, fmt.Errorf("paired bootstrap: samples must be positive, got %d", samples)
	}
	if !(confidence > 0 && confidence < 1) {
		return CI{}, fmt.Errorf("paired bootstrap: confidence must be in (0, 1), got %v", confidence)
	}
	d := make([]float64, n)
	var sum float64
	for i := range d {
		d[i] = cur[i] - base[i]
		sum += d[i]
	}
	mean := sum / float64(n)
	// The seed picks the stream; the constant keeps streams of different
	// seeds apart. PCG is specified exactly, so results are reproducible.
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d6c736869702d62))
	means := make([]float64, samples)
	for s := range means {
		var t float64
		for range n {
			t += d[rng.IntN(n)]
		}
		means[s] = t / float64(n)
	}
	sort.Float64s(means)
	alpha := (1 - confidence) / 2
	lo, hi := quantile(means, alpha), quantile(means, 1-alpha)
	return CI{Low: lo, High: hi, Confidence: confidence, Mean: mean, Samples: samples, N: n, Seed: seed}, nil
}

// quantile is the linear-interpolation quantile of sorted xs (NumPy's
// default method).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 1 {
		return xs[0]
	}
	h := q * float64(len(xs)-1)
	i := int(math.Floor(h))
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}

// Pair returns the values of metric for the ids present, with the metric,
// in both example sets, in the order of cur: the paired samples that
// PairedBootstrap takes (eval against the baseline, mlship diff A B).
func Pair(cur, base *Examples, metric string) (c, b []float64) {
	cv, ok1 := cur.Values[metric]
	bv, ok2 := base.Values[metric]
	if !ok1 || !ok2 {
		return nil, nil
	}
	idx := base.index
	if idx == nil {
		idx = make(map[string]int, len(base.IDs))
		for j, id := range base.IDs {
			idx[id] = j
		}
	}
	for i, id := range cur.IDs {
		j, ok := idx[id]
		if !ok || i >= len(cv) || j >= len(bv) {
			continue
		}
		if math.IsNaN(cv[i]) || math.IsNaN(bv[j]) {
			continue
		}
		c = append(c, cv[i])
		b = append(b, bv[j])
	}
	return c, b
}
