package drift

import (
	"math"
	"testing"
)

// Reference values. Each case names its source:
//   - "SciPy docs": the Examples section of the SciPy 1.10.1 reference page
//     (URL given per function);
//   - "SciPy tests": scipy/stats/tests/test_stats.py at v1.10.1,
//     https://github.com/scipy/scipy/blob/v1.10.1/scipy/stats/tests/test_stats.py
//     (class and method named);
//   - "SciPy 1.10.1": computed with Debian's python3-scipy 1.10.1-2 by the
//     expression quoted, and hard-coded here (the tests need no Python).

const sigDigits6 = 1e-6 // relative tolerance: at least 6 significant digits

func closeRel(got, want, rel float64) bool {
	if got == want {
		return true
	}
	if math.IsNaN(got) || math.IsNaN(want) {
		return false
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// linspace is numpy.linspace(start, stop, n): i*step + start, last = stop.
func linspace(start, stop float64, n int) []float64 {
	out := make([]float64, n)
	step := (stop - start) / float64(n-1)
	for i := range out {
		out[i] = float64(i)*step + start
	}
	out[n-1] = stop
	return out
}

func addConst(x []float64, c float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v + c
	}
	return out
}

func square(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * v
	}
	return out
}

func repeated(pairs ...float64) []float64 {
	var out []float64
	for i := 0; i < len(pairs); i += 2 {
		for k := 0; k < int(pairs[i+1]); k++ {
			out = append(out, pairs[i])
		}
	}
	return out
}

func TestKSTwoSampleReference(t *testing.T) {
	t.Parallel()
	x100 := linspace(1, 100, 100)
	x110 := linspace(1, 100, 110)
	delta := 1.0 / 10000 / 110 / 2 / 2
	mod := func(n, k, m int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(((i + 1) * k) % m)
		}
		return out
	}
	cases := []struct {
		source   string
		x, y     []float64
		d, p     float64
		wantExct bool
	}{
		{"SciPy tests TestKSTwoSamples.testTwoVsThree", []float64{1.01, 2.01}, []float64{1, 2, 3}, 1.0 / 3, 1.0, true},
		{"SciPy tests TestKSTwoSamples.testTwoVsThree", []float64{0.99, 1.99}, []float64{1, 2, 3}, 2.0 / 3, 0.6, true},
		{"SciPy tests TestKSTwoSamples.testTwoVsFour", []float64{1.01, 2.01}, []float64{1, 2, 3, 4}, 2.0 / 4, 14.0 / 15, true},
		{"SciPy tests TestKSTwoSamples.testTwoVsFour", []float64{0.99, 1.99}, []float64{1, 2, 3, 4}, 3.0 / 4, 6.0 / 15, true},
		{"SciPy tests TestKSTwoSamples.test100_100", x100, addConst(x100, 2.1), 3.0 / 100, 0.9999999999962055, true},
		{"SciPy tests TestKSTwoSamples.test100_100", x100, addConst(x100, 1.9), 2.0 / 100, 1.0, true},
		{"SciPy tests TestKSTwoSamples.test100_110", x100, addConst(x110, 20.1), 232.0 / 1100, 0.015739183865607353, true},
		{"SciPy tests TestKSTwoSamples.test100_110", x100, addConst(x110, 19.9), 229.0 / 1100, 0.017803803861026313, true},
		{"SciPy tests TestKSTwoSamples.testRepeatedValues", repeated(2, 3, 3, 4, 5, 5, 6, 4), repeated(3, 3, 4, 4, 6, 5, 7, 4), 5.0 / 16, 0.4262934613454952, true},
		{"SciPy tests TestKSTwoSamples.testRepeatedValues", repeated(2, 3, 3, 4, 5, 10, 6, 4), repeated(3, 10, 4, 2, 6, 10, 7, 4), 190.0 / 21 / 26, 0.0919245790168125, true},
		{"SciPy tests TestKSTwoSamples.testEqualSizes", []float64{1, 2, 3}, []float64{2, 3, 4}, 1.0 / 3, 1.0, true},
		// The test suite's data; its expected p (4.2188474935755949e-15) is only
		// compared to 6 decimals there. SciPy 1.10.1 gives 6.263465662260858e-26.
		{"SciPy tests TestKSTwoSamples.testLarge data, SciPy 1.10.1 p-value", addConst(linspace(1, 200, 10000), -delta), linspace(2, 100, 110), 55275.0 / 110000, 6.263465662260858e-26, true},
		{"SciPy tests TestKSTwoSamples.testLargeBoth (auto → asymptotic)", addConst(linspace(1, 200, 10000), -1.0/10000/11000/4), linspace(2, 200, 11000), 563.0 / 110000, 0.9990660108966576, false},
		{"SciPy 1.10.1: ks_2samp(linspace(0,1,50), linspace(0.1,1.3,70))", linspace(0, 1, 50), linspace(0.1, 1.3, 70), 0.2571428571428571, 0.03484802341997846, true},
		{"SciPy 1.10.1: ks_2samp(linspace(0,1,600)**2, linspace(0,1,900))", square(linspace(0, 1, 600)), linspace(0, 1, 900), 0.25055555555555553, 2.6267333075024437e-20, true},
		{"SciPy 1.10.1: ks_2samp(linspace(-3,3,20000), linspace(-2.9,3.2,15000))", linspace(-3, 3, 20000), linspace(-2.9, 3.2, 15000), 0.03283333333333338, 1.8375431827512963e-08, false},
		{"SciPy 1.10.1: ks_2samp(linspace(-3,3,20000), linspace(-3,3.02,25001))", linspace(-3, 3, 20000), linspace(-3, 3.02, 25001), 0.0033598656053758225, 0.9995890453171014, false},
		{"SciPy 1.10.1: ks_2samp(arange(1,12001)%97, (arange(1,11001)*7)%101)", mod(12000, 1, 97), mod(11000, 7, 101), 0.03963636363636369, 2.8558704713027087e-08, false},
	}
	for _, c := range cases {
		x, y := append([]float64(nil), c.x...), append([]float64(nil), c.y...)
		sortFloats(x, nil)
		sortFloats(y, nil)
		d, p, exact := KSTwoSample(x, y)
		if !closeRel(d, c.d, 1e-12) || !closeRel(p, c.p, sigDigits6) || exact != c.wantExct {
			t.Errorf("%s: got D=%v p=%v exact=%v, want D=%v p=%v exact=%v", c.source, d, p, exact, c.d, c.p, c.wantExct)
		}
	}
}

func TestKolmogorovSFReference(t *testing.T) {
	t.Parallel()
	// SciPy 1.10.1: scipy.stats.kstwo.sf(x, n), covering every branch of
	// Simard & L'Ecuyer's method choice (n <= 140 and above; DMTW,
	// Pomeranz, Pelz–Good, Smirnov sum, Ruben–Gambino ends).
	cases := []struct {
		n    int
		x, p float64
	}{
		{1, 0.6, 0.8},
		{5, 0.1, 1.0},
		{10, 0.05, 1.0},
		{10, 0.3, 0.27053557479999946},
		{50, 0.08, 0.880839701941023},
		{50, 0.2, 0.03143877776953241},
		{100, 0.1, 0.2526927570063874},
		{100, 0.2, 0.0005551927327988775},
		{139, 0.05, 0.8604396798592472},
		{141, 0.05, 0.854845693009663},
		{1000, 0.02, 0.8108971656895577},
		{5000, 0.03, 0.00024159234422666817},
		{100000, 0.003, 0.3284563327726956},
		{500000, 0.001, 0.698980144366366},
		{500000, 0.0015, 0.21034190155828947},
		{500000, 0.05, 0.0},
		{2000000, 0.001, 0.03660662431970485},
	}
	for _, c := range cases {
		if got := kolmogorovSF(c.n, c.x); !closeRel(got, c.p, sigDigits6) {
			t.Errorf("kstwo.sf(%v, %d) = %v, want %v", c.x, c.n, got, c.p)
		}
	}
}

func TestSmirnovReference(t *testing.T) {
	t.Parallel()
	// SciPy 1.10.1: scipy.special.smirnov(n, x).
	cases := []struct {
		n    int
		x, p float64
	}{
		{5, 0.3, 0.34282},
		{100, 0.1, 0.1265906584562817},
		{1000, 0.05, 0.006506037390545166},
		{100000, 0.005, 0.006715412488899804},
		{500000, 0.01, 3.6873178225417635e-44},
		{2000000, 0.001, 0.018303432023617325},
	}
	for _, c := range cases {
		if got := smirnovSF(c.n, c.x); !closeRel(got, c.p, sigDigits6) {
			t.Errorf("smirnov(%d, %v) = %v, want %v", c.n, c.x, got, c.p)
		}
	}
}

func TestChiSquareReference(t *testing.T) {
	t.Parallel()
	// SciPy docs: https://docs.scipy.org/doc/scipy-1.10.1/reference/generated/scipy.stats.chisquare.html
	gof := []struct {
		source   string
		obs, exp []float64
		stat, p  float64
	}{
		{"SciPy docs chisquare([16, 18, 16, 14, 12, 12])", []float64{16, 18, 16, 14, 12, 12}, []float64{14.666666666666666, 14.666666666666666, 14.666666666666666, 14.666666666666666, 14.666666666666666, 14.666666666666666}, 2.0, 0.84914503608460956},
		{"SciPy docs chisquare([16, 18, 16, 14, 12, 12], f_exp=[16, 16, 16, 16, 16, 8])", []float64{16, 18, 16, 14, 12, 12}, []float64{16, 16, 16, 16, 16, 8}, 3.5, 0.62338762774958223},
	}
	for _, c := range gof {
		s, p := ChiSquare(c.obs, c.exp)
		if !closeRel(s, c.stat, 1e-12) || !closeRel(p, c.p, sigDigits6) {
			t.Errorf("%s: got %v, %v, want %v, %v", c.source, s, p, c.stat, c.p)
		}
	}
	// chi2_contingency on [ref, cur].
	homog := []struct {
		source   string
		ref, cur []float64
		stat, p  float64
		dof      int
	}{
		{"SciPy docs https://docs.scipy.org/doc/scipy-1.10.1/reference/generated/scipy.stats.chi2_contingency.html: chi2_contingency([[10, 10, 20], [20, 20, 20]])", []float64{10, 10, 20}, []float64{20, 20, 20}, 2.7777777777777777, 0.24935220877729619, 2},
		{"SciPy 1.10.1: chi2_contingency([[12, 5], [7, 9]]) (Yates)", []float64{12, 5}, []float64{7, 9}, 1.455996378814684, 0.22756821457580642, 1},
		{"SciPy 1.10.1: chi2_contingency([[30, 10, 5, 55], [20, 22, 8, 50]])", []float64{30, 10, 5, 55}, []float64{20, 22, 8, 50}, 7.430402930402931, 0.059373923881575315, 3},
		{"one category: nothing to test", []float64{5}, []float64{9}, 0, 1, 0},
	}
	for _, c := range homog {
		s, p, dof := ChiSquareHomogeneity(c.ref, c.cur)
		if !closeRel(s, c.stat, 1e-12) || !closeRel(p, c.p, sigDigits6) || dof != c.dof {
			t.Errorf("%s: got %v, %v, dof %d, want %v, %v, dof %d", c.source, s, p, dof, c.stat, c.p, c.dof)
		}
	}
}

func TestWassersteinReference(t *testing.T) {
	t.Parallel()
	// SciPy docs: https://docs.scipy.org/doc/scipy-1.10.1/reference/generated/scipy.stats.wasserstein_distance.html
	cases := []struct {
		source       string
		u, uw, v, vw []float64
		want         float64
	}{
		{"SciPy docs wasserstein_distance([0, 1, 3], [5, 6, 8])", []float64{0, 1, 3}, nil, []float64{5, 6, 8}, nil, 5.0},
		{"SciPy docs wasserstein_distance([0, 1], [0, 1], [3, 1], [2, 2])", []float64{0, 1}, []float64{3, 1}, []float64{0, 1}, []float64{2, 2}, 0.25},
		{"SciPy docs wasserstein_distance([3.4, 3.9, 7.5, 7.8], [4.5, 1.4], [1.4, 0.9, 3.1, 7.2], [3.2, 3.5])", []float64{3.4, 3.9, 7.5, 7.8}, []float64{1.4, 0.9, 3.1, 7.2}, []float64{1.4, 4.5}, []float64{3.5, 3.2}, 4.0781331438047861},
		{"SciPy 1.10.1: wasserstein_distance(linspace(0,1,1000)**2, linspace(0,1,777))", square(linspace(0, 1, 1000)), nil, linspace(0, 1, 777), nil, 0.16649983374165211},
	}
	for _, c := range cases {
		if got := WassersteinWeighted(c.u, c.uw, c.v, c.vw); !closeRel(got, c.want, 1e-9) {
			t.Errorf("%s = %v, want %v", c.source, got, c.want)
		}
	}
	// Evidently's normalisation floors the standard deviation at 0.001.
	if got := NormedWasserstein(0.5, 0); got != 500 {
		t.Errorf("NormedWasserstein(0.5, 0) = %v, want 500", got)
	}
}

func TestDivergenceReference(t *testing.T) {
	t.Parallel()
	cases := []struct {
		source string
		got    float64
		want   float64
	}{
		// https://docs.scipy.org/doc/scipy-1.10.1/reference/generated/scipy.spatial.distance.jensenshannon.html
		{"SciPy docs jensenshannon([1.0, 0.0], [0.5, 0.5])", JensenShannonDistance([]float64{1, 0}, []float64{0.5, 0.5}), 0.46450140402245893},
		{"SciPy docs jensenshannon([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], 2.0) = 1.0, i.e. sqrt(ln 2) in the natural base", JensenShannonDistance([]float64{1, 0, 0}, []float64{0, 1, 0}), math.Sqrt(math.Ln2)},
		{"SciPy 1.10.1: jensenshannon([10,20,30,0], [5,25,10,7])", JensenShannonDistance([]float64{10, 20, 30, 0}, []float64{5, 25, 10, 7}), 0.3102342386494962},
		// https://docs.scipy.org/doc/scipy-1.10.1/reference/generated/scipy.stats.entropy.html
		{"SciPy docs entropy([1/2, 1/2], qk=[9/10, 1/10])", KLDivergence([]float64{0.5, 0.5}, []float64{0.9, 0.1}), 0.5108256237659907},
		{"SciPy 1.10.1: entropy([10,20,30,1e-4], [5,25,10,7])", KLDivergence([]float64{10, 20, 30, 1e-4}, []float64{5, 25, 10, 7}), 0.3462312856779328},
	}
	for _, c := range cases {
		if !closeRel(c.got, c.want, 1e-12) {
			t.Errorf("%s = %v, want %v", c.source, c.got, c.want)
		}
	}
}
