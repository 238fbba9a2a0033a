package drift

import "math"

// The two-sample Kolmogorov–Smirnov test, two-sided, as SciPy's
// scipy.stats.ks_2samp(method="auto") computes it (SciPy 1.10):
//
//   - the statistic D is the largest distance between the two empirical
//     CDFs, evaluated at every observation (ties handled as searchsorted
//     side="right" does);
//   - when both samples have at most maxAutoExactN observations the p-value
//     is exact: the proportion of lattice paths that leave the band
//     |x/m - y/n| < D (Hodges 1958; Viehmann 2021 for the 1-p recursion);
//   - otherwise it is the survival function of the one-sample two-sided
//     Kolmogorov distribution D_N at D with N = round(m n / (m + n)), computed
//     as Simard & L'Ecuyer (2011) prescribe (Durbin matrix, Pomeranz
//     recursion, Pelz–Good expansion, or the exact one-sided Smirnov sum).
//
// gonum has the statistic but none of these distributions, so they are
// written here, following the algorithms (and the switch-over points) of
// SciPy so the p-values agree with it.

// maxAutoExactN is SciPy's MAX_AUTO_N: method="auto" is exact up to it.
const maxAutoExactN = 10000

// KSStatistic returns the two-sided two-sample Kolmogorov–Smirnov statistic
// of two sorted samples (no NaNs): max |F1(t) - F2(t)| over all observations
// t. It returns NaN when either sample is empty.
func KSStatistic(x, y []float64) float64 {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return math.NaN()
	}
	fn1, fn2 := float64(n1), float64(n2)
	var d float64
	i, j := 0, 0
	for i < n1 && j < n2 {
		// The next distinct value in the union; take every copy of it
		// from both samples (searchsorted side="right").
		v := x[i]
		if y[j] < v {
			v = y[j]
		}
		for i < n1 && x[i] <= v {
			i++
		}
		for j < n2 && y[j] <= v {
			j++
		}
		diff := math.Abs(float64(i)/fn1 - float64(j)/fn2)
		if diff > d {
			d = diff
		}
	}
	return d
}

// KSTwoSample runs the two-sided two-sample Kolmogorov–Smirnov test on two
// sorted samples and returns the statistic and p-value as
// scipy.stats.ks_2samp(x, y) (method="auto") does. exact reports whether
// the exact p-value was used.
func KSTwoSample(x, y []float64) (d, p float64, exact bool) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return math.NaN(), math.NaN(), false
	}
	d = KSStatistic(x, y)
	d, p, exact = KSPValue(d, n1, n2, max(n1, n2) <= maxAutoExactN)
	return d, p, exact
}

// KSPValue returns the two-sided p-value of a two-sample Kolmogorov–Smirnov
// statistic d for sample sizes n1 and n2. When tryExact is set it attempts
// the exact computation (and then rounds d to the lattice, as SciPy does);
// when that is not possible it falls back to the asymptotic distribution.
func KSPValue(d float64, n1, n2 int, tryExact bool) (float64, float64, bool) {
	if tryExact {
		g := gcd(n1, n2)
		n1g, n2g := n1/g, n2/g
		if float64(n1g) < float64(math.MaxInt32)/float64(n2g) {
			if dd, p, ok := exactKS2(n1, n2, g, d); ok {
				return dd, clip01(p), true
			}
		}
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	return d, clip01(kolmogorovSF(int(math.RoundToEven(en)), d)), false
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func clip01(p float64) float64 {
	if p < 0 {
		return 0
	}
	if p > 1 {
		return 1
	}
	return p
}

// exactKS2 is SciPy's _attempt_exact_2kssamp for the two-sided case.
func exactKS2(n1, n2, g int, d float64) (float64, float64, bool) {
	lcm := float64(n1/g) * float64(n2)
	h := int(math.RoundToEven(d * lcm))
	d = float64(h) / lcm
	if h == 0 {
		return d, 1, true
	}
	var p float64
	if n1 == n2 {
		p = probOutsideSquare(n1, h)
	} else {
		p = outerProbInside(n1, n2, g, h)
	}
	if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 || p > 1 {
		return d, p, false
	}
	return d, p, true
}

// probOutsideSquare is Pr(D_{n,n} >= h/n): the proportion of lattice paths
// from (0,0) to (n,n) that touch x - y = ±h, in Horner form to avoid the
// cancellation of the alternating binomial sum.
func probOutsideSquare(n, h int) float64 {
	var p float64
	for k := n / h; k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		p = p1 * (1 - p)
	}
	return 2 * p
}

// outerProbInside is the proportion of lattice paths from (0,0) to (m,n)
// that do not stay strictly inside |x/m - y/n| < h/lcm(m,n), computed with
// Viehmann's recursion for 1-p over a sliding window of one column.
func outerProbInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	fh, fmg, fng := float64(h), float64(mg), float64(ng)
	minj, maxj := 0, min(int(math.Ceil(fh/fmg)), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	a := make([]float64, lenA)
	for i := range a {
		a[i] = 1
	}
	for i := minj; i < maxj; i++ {
		a[i] = 0
	}
	for i := 1; i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(int(math.Floor((fng*float64(i)-fh)/fmg))+1, 0)
		minj = min(minj, n)
		maxj = min(int(math.Ceil((fng*float64(i)+fh)/fmg)), n+1)
		if maxj <= minj {
			return 1
		}
		val := 0.0
		if minj != 0 {
			val = 1
		}
		fi := float64(i)
		for jj := 0; jj < maxj-minj; jj++ {
			j := float64(jj + minj)
			val = (a[jj+minj-lastminj]*fi + val*j) / (fi + j)
			a[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			lo := maxj - minj
			for k := lo; k < lo+(lastlen-curlen) && k < len(a); k++ {
				a[k] = 1
			}
		}
	}
	return a[maxj-minj-1]
}
