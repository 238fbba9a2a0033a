package drift

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// WassersteinSorted is the Wasserstein-1 distance between the empirical
// distributions of two sorted samples, the integral of |U(t) - V(t)| over t
// (scipy.stats.wasserstein_distance without weights). It is one merge pass:
// gonum's stat.WassersteinDistance is quadratic in the sample size.
func WassersteinSorted(u, v []float64) float64 {
	return WassersteinWeighted(u, nil, v, nil)
}

// WassersteinWeighted is WassersteinSorted for weighted samples (values
// sorted, weights non-negative, nil for all ones), as
// scipy.stats.wasserstein_distance(u, v, u_weights, v_weights).
func WassersteinWeighted(u, uw, v, vw []float64) float64 {
	if len(u) == 0 || len(v) == 0 {
		return math.NaN()
	}
	su, sv := sumWeights(u, uw), sumWeights(v, vw)
	if su <= 0 || sv <= 0 {
		return math.NaN()
	}
	var (
		i, j   int
		cu, cv float64 // cumulative weight at or below the current point
		dist   float64
	)
	prev := math.Min(u[0], v[0])
	for i < len(u) || j < len(v) {
		// Next point of the merged support.
		var x float64
		switch {
		case i == len(u):
			x = v[j]
		case j == len(v):
			x = u[i]
		default:
			x = math.Min(u[i], v[j])
		}
		dist += math.Abs(cu/su-cv/sv) * (x - prev)
		prev = x
		for i < len(u) && u[i] <= x {
			cu += weightAt(uw, i)
			i++
		}
		for j < len(v) && v[j] <= x {
			cv += weightAt(vw, j)
			j++
		}
	}
	return dist
}

func weightAt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

func sumWeights(x, w []float64) float64 {
	if w == nil {
		return float64(len(x))
	}
	var s float64
	for _, e := range w {
		s += e
	}
	return s
}

// NormedWasserstein is Evidently's normed Wasserstein distance: the
// Wasserstein-1 distance divided by the reference's population standard
// deviation, floored at 0.001.
func NormedWasserstein(w1, refStd float64) float64 {
	return w1 / math.Max(refStd, 0.001)
}

// PopStd is the population (ddof=0) standard deviation, numpy.std's default.
func PopStd(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	return stat.PopStdDev(x, nil)
}

// ChiSquare is Pearson's goodness-of-fit test of observed counts against
// expected ones (scipy.stats.chisquare with ddof=0): the statistic
// sum (o-e)^2/e and its chi-squared(k-1) survival probability.
func ChiSquare(observed, expected []float64) (statistic, p float64) {
	statistic = stat.ChiSquare(observed, expected)
	dof := float64(len(observed) - 1)
	if dof <= 0 {
		return statistic, math.NaN()
	}
	return statistic, distuv.ChiSquared{K: dof}.Survival(statistic)
}

// ChiSquareHomogeneity is Pearson's chi-squared test on the 2×k contingency
// table of reference and current category counts, as
// scipy.stats.chi2_contingency([ref, cur]) computes it (with Yates'
// continuity correction when there is one degree of freedom). Categories
// with zero counts in both rows must be left out by the caller. With fewer
// than two categories there is nothing to test: statistic 0, p 1, dof 0.
func ChiSquareHomogeneity(ref, cur []float64) (statistic, p float64, dof int) {
	k := len(ref)
	if k < 2 {
		return 0, 1, 0
	}
	var sr, sc float64
	for i := 0; i < k; i++ {
		sr += ref[i]
		sc += cur[i]
	}
	total := sr + sc
	if sr == 0 || sc == 0 {
		return math.NaN(), math.NaN(), k - 1
	}
	dof = k - 1
	for _, row := range [2]struct {
		obs []float64
		sum float64
	}{{ref, sr}, {cur, sc}} {
		for i := 0; i < k; i++ {
			exp := row.sum * (ref[i] + cur[i]) / total
			o := row.obs[i]
			if dof == 1 {
				// Yates: move each observation towards its expectation
				// by at most 0.5.
				diff := exp - o
				adj := math.Min(0.5, math.Abs(diff))
				o += math.Copysign(adj, diff)
				if diff == 0 {
					o = row.obs[i]
				}
			}
			statistic += (o - exp) * (o - exp) / exp
		}
	}
	return statistic, distuv.ChiSquared{K: float64(dof)}.Survival(statistic), dof
}

// JensenShannonDistance is scipy.spatial.distance.jensenshannon(p, q) with
// its default natural logarithm: the square root of the Jensen–Shannon
// divergence of the normalised vectors. It lies in [0, sqrt(ln 2)].
func JensenShannonDistance(p, q []float64) float64 {
	pn, qn := normalize(p), normalize(q)
	if pn == nil || qn == nil {
		return math.NaN()
	}
	js := stat.JensenShannon(pn, qn)
	return math.Sqrt(math.Max(js, 0))
}

// KLDivergence is scipy.stats.entropy(p, q): the Kullback–Leibler
// divergence of the normalised vectors, natural logarithm.
func KLDivergence(p, q []float64) float64 {
	pn, qn := normalize(p), normalize(q)
	if pn == nil || qn == nil {
		return math.NaN()
	}
	return stat.KullbackLeibler(pn, qn)
}

// PSI is the population stability index sum (r-c) ln(r/c) of two
// proportion vectors without zeros (Evidently's psi).
func PSI(ref, cur []float64) float64 {
	var s float64
	for i := range ref {
		s += (ref[i] - cur[i]) * math.Log(ref[i]/cur[i])
	}
	return s
}

func normalize(x []float64) []float64 {
	var s float64
	for _, e := range x {
		s += e
	}
	if s <= 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return nil
	}
	out := make([]float64, len(x))
	for i, e := range x {
		out[i] = e / s
	}
	return out
}

// fillZeros replaces zero proportions as Evidently's get_binned_data does
// before PSI and KL: by min(non-zero)/1e6 when that minimum is at most
// 1e-4, by 1e-4 otherwise.
func fillZeros(p []float64) {
	minNZ := math.Inf(1)
	for _, e := range p {
		if e != 0 && e < minNZ {
			minNZ = e
		}
	}
	if math.IsInf(minNZ, 1) {
		return
	}
	fill := 0.0001
	if minNZ <= 0.0001 {
		fill = minNZ / 1e6
	}
	for i, e := range p {
		if e == 0 {
			p[i] = fill
		}
	}
}

// sturgesBins is numpy's "sturges" bin count for n observations.
func sturgesBins(n int64) int {
	if n <= 0 {
		return 1
	}
	return int(math.Ceil(math.Log2(float64(n)) + 1))
}

// histEdges is numpy.histogram_bin_edges(range=(lo, hi), bins=nb).
func histEdges(lo, hi float64, nb int) []float64 {
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	edges := make([]float64, nb+1)
	// numpy.linspace: start + i*step, with the last edge exactly hi.
	step := (hi - lo) / float64(nb)
	if math.IsInf(step, 0) { // the range overflows: no Inf or NaN edges
		step = hi/float64(nb) - lo/float64(nb)
	}
	for i := range edges {
		edges[i] = lo + float64(i)*step
	}
	edges[nb] = hi
	return edges
}

// histIndex is the bin numpy.histogram puts x in (bins half-open, the last
// one closed), or -1 when x is outside [edges[0], edges[last]].
func histIndex(edges []float64, x float64) int {
	nb := len(edges) - 1
	lo, hi := edges[0], edges[nb]
	if x < lo || x > hi {
		return -1
	}
	f := (x - lo) / (hi - lo) * float64(nb)
	i := nb - 1
	if f >= 0 && f < float64(nb) { // false for NaN (a range that overflows)
		i = int(f)
	}
	if i > 0 && x < edges[i] {
		i--
	}
	if i < nb-1 && x >= edges[i+1] {
		i++
	}
	if x < edges[i] || (i < nb-1 && x >= edges[i+1]) {
		// The estimate was off by more than one (rounding at extreme
		// ranges): the last edge at or below x, by bisection.
		i = sort.SearchFloat64s(edges, x)
		if i == len(edges) || edges[i] > x {
			i--
		}
		i = min(max(i, 0), nb-1)
	}
	return i
}
