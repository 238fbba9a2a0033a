package drift

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// The one-sample Kolmogorov distributions the two-sample test falls back
// to for large samples (see ks.go), as SciPy computes them.

// kolmogorovSF is Pr(D_n >= x) for the one-sample two-sided
// Kolmogorov–Smirnov statistic D_n (SciPy's kstwo.sf), choosing the method
// by (n, x) as Simard & L'Ecuyer (2011) recommend.
func kolmogorovSF(n int, x float64) float64 {
	if math.IsNaN(x) || n <= 0 {
		return math.NaN()
	}
	if x >= 1 {
		return 0
	}
	if x <= 0 {
		return 1
	}
	fn := float64(n)
	t := fn * x
	if t <= 1 { // Ruben–Gambino: 1/2n <= x <= 1/n
		if t <= 0.5 {
			return 1
		}
		var cdf float64
		if n <= 140 {
			cdf = 1
			for i := 1; i <= n; i++ {
				cdf *= float64(i) * (1 / fn) * (2*t - 1)
			}
		} else {
			cdf = math.Exp(logNFactorialDivNPowN(fn) + fn*math.Log(2*t-1))
		}
		return clip01(1 - cdf)
	}
	if t >= fn-1 { // Ruben–Gambino
		return clip01(2 * math.Pow(1-x, fn))
	}
	if x >= 0.5 { // exact: 2 * smirnov
		return clip01(2 * smirnovSF(n, x))
	}
	nxsquared := t * x
	if n <= 140 {
		if nxsquared <= 0.754693 {
			return clip01(1 - kolmogorovDMTW(n, x))
		}
		if nxsquared <= 4 {
			return clip01(1 - kolmogorovPomeranz(n, x))
		}
		return clip01(2 * smirnovSF(n, x))
	}
	if nxsquared >= 370 {
		return 0
	}
	if nxsquared >= 2.2 {
		return clip01(2 * smirnovSF(n, x))
	}
	var cdf float64
	switch {
	case nxsquared >= 18:
		cdf = 1
	case n <= 100000 && fn*math.Pow(x, 1.5) <= 1.4:
		cdf = kolmogorovDMTW(n, x)
	default:
		cdf = kolmogorovPelzGood(n, x)
	}
	return clip01(1 - cdf)
}

// stirlingCoeffs are B_{2j}/(2j)/(2j-1) for j = 8..1 (highest power first).
var stirlingCoeffs = [...]float64{
	-2.955065359477124183e-2, 6.4102564102564102564e-3,
	-1.9175269175269175269e-3, 8.4175084175084175084e-4,
	-5.952380952380952381e-4, 7.9365079365079365079e-4,
	-2.7777777777777777778e-3, 8.3333333333333333333e-2,
}

// logNFactorialDivNPowN is log(n!/n^n) by Stirling's series, with n log n
// removed up front to avoid cancellation.
func logNFactorialDivNPowN(n float64) float64 {
	rn := 1 / n
	y := rn / n
	var poly float64
	for _, c := range stirlingCoeffs {
		poly = poly*y + c
	}
	return math.Log(n)/2 - n + math.Log(2*math.Pi)/2 + rn*poly
}

const (
	scaleExp = 128
)

var (
	ep128 = math.Ldexp(1, scaleExp)
	em128 = math.Ldexp(1, -scaleExp)
)

// kolmogorovDMTW is Pr(D_n <= d) by Durbin's matrix algorithm in the form
// of Marsaglia, Tsang & Wang (2003): the (k,k) entry of (n!/n^n) H^n.
func kolmogorovDMTW(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	nd := float64(n) * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1

	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] = (1 - math.Pow(h, float64(j))) * fac
	}
	tt := math.Pow(math.Max(2*h-1, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1 + tt) * fac

	H := mat.NewDense(m, m, nil)
	for i := 1; i < m; i++ {
		for r := i - 1; r < m; r++ {
			H.Set(r, i, w[r-(i-1)])
		}
	}
	for r := 0; r < m; r++ {
		H.Set(r, 0, v[r])
	}
	for c := 0; c < m; c++ {
		H.Set(m-1, c, v[m-1-c])
	}

	pw := mat.NewDense(m, m, nil)
	for i := 0; i < m; i++ {
		pw.Set(i, i, 1)
	}
	tmp := mat.NewDense(m, m, nil)
	expnt, hexpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			tmp.Mul(pw, H)
			pw, tmp = tmp, pw
			expnt += hexpnt
		}
		tmp.Mul(H, H)
		H, tmp = tmp, H
		hexpnt *= 2
		if math.Abs(H.At(k-1, k-1)) > ep128 {
			H.Scale(em128, H)
			hexpnt += scaleExp
		}
	}
	p := pw.At(k-1, k-1)
	fn := float64(n)
	for i := 1; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < em128 {
			p *= ep128
			expnt -= scaleExp
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return clip01(p)
}

// pomeranzJ1J2 returns the interval of non-zero entries of row i.
func pomeranzJ1J2(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		ip1div2, ip1mod2 := (i+1)/2, (i+1)%2
		if ip1mod2 == 0 {
			if ip1div2 == n+1 {
				j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
			} else {
				j1, j2 = ip1div2-1-ll-roundf-1, ip1div2+ll-1+ceilf-1
			}
		} else {
			j1, j2 = ip1div2-1-ll-1, ip1div2+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// kolmogorovPomeranz is Pr(D_n <= x) by Pomeranz's recursion (1974).
func kolmogorovPomeranz(n int, x float64) float64 {
	fn := float64(n)
	t := fn * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpower := make([]float64, npwrs)
	twogpower := make([]float64, npwrs)
	onem2gpower := make([]float64, npwrs)
	gpower[0], twogpower[0], onem2gpower[0] = 1, 1, 1
	expnt := 0
	gOverN, twoGOverN, oneMinusTwoGOverN := g/fn, 2*g/fn, (1-2*g)/fn
	for m := 1; m < npwrs; m++ {
		fm := float64(m)
		gpower[m] = gpower[m-1] * gOverN / fm
		twogpower[m] = twogpower[m-1] * twoGOverN / fm
		onem2gpower[m] = onem2gpower[m-1] * oneMinusTwoGOverN / fm
	}
	v0 := make([]float64, npwrs)
	v1 := make([]float64, npwrs)
	v1[0] = 1
	v0s, v1s := 0, 0
	conv := make([]float64, 2*npwrs)
	j1, _ := pomeranzJ1J2(0, n, ll, ceilf, roundf)
	var j2 int
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		v0, v1 = v1, v0
		v0s, v1s = v1s, v0s
		clear(v1)
		j1, j2 = pomeranzJ1J2(i, n, ll, ceilf, roundf)
		var pwrs []float64
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gpower
		case i%2 == 1:
			pwrs = twogpower
		default:
			pwrs = onem2gpower
		}
		ln2 := j2 - k1 + 1
		if ln2 <= 0 {
			continue
		}
		a := clipSlice(v0, k1-v0s, k1-v0s+ln2)
		b := clipSlice(pwrs, 0, ln2)
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		full := conv[:len(a)+len(b)-1]
		clear(full)
		for p, av := range a {
			if av == 0 {
				continue
			}
			for q, bv := range b {
				full[p+q] += av * bv
			}
		}
		convStart := j1 - k1
		convLen := j2 - j1 + 1
		src := clipSlice(full, convStart, convStart+convLen)
		copy(v1[:min(convLen, len(v1))], src)
		vmax := 0.0
		for _, e := range v1 {
			vmax = math.Max(vmax, e)
		}
		if vmax > 0 && vmax < em128 {
			for q := range v1 {
				v1[q] *= ep128
			}
			expnt -= scaleExp
		}
		v1s = v0s + j1 - k1
	}
	idx := n - v1s
	if idx < 0 || idx >= len(v1) {
		return math.NaN()
	}
	ans := v1[idx]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ep128 {
			ans *= em128
			expnt += scaleExp
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return clip01(ans)
}

// clipSlice is s[lo:hi] with Python's clipping of out-of-range bounds.
func clipSlice(s []float64, lo, hi int) []float64 {
	lo = max(lo, 0)
	hi = min(hi, len(s))
	if lo >= hi {
		return nil
	}
	return s[lo:hi]
}

// kolmogorovPelzGood is the Pelz–Good (1976) approximation of Pr(D_n <= x).
func kolmogorovPelzGood(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	const (
		piSq   = math.Pi * math.Pi
		piFour = piSq * piSq
		piSix  = piFour * piSq
		minLog = -708
	)
	sqrt2pi := math.Sqrt(2 * math.Pi)
	sqrt3 := math.Sqrt(3)
	fn := float64(n)
	z := math.Sqrt(fn) * x
	z2, z3, z4, z6 := z*z, z*z*z, z*z*z*z, math.Pow(z, 6)

	qlog := -piSq / 8 / z2
	if qlog < minLog {
		return 0
	}
	q := math.Exp(qlog)

	k1a := -z2
	k1b := piSq / 4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * piSq / 4
	k2c := piFour * (1 - 2*z2) / 16
	k3d := piSix * (5 - 30*z2) / 64
	k3c := piFour * (-60*z2 + 212*z4) / 16
	k3b := piSq * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)

	var k0to3 [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		m2, m4, m6 := m*m, m*m*m*m, math.Pow(m, 6)
		qpower := math.Pow(q, float64(8*k))
		coeffs := [4]float64{
			1,
			k1a + k1b*m2,
			k2a + k2b*m2 + k2c*m4,
			k3a + k3b*m2 + k3c*m4 + k3d*m6,
		}
		for i := range k0to3 {
			k0to3[i] = k0to3[i]*qpower + coeffs[i]
		}
	}
	div := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range k0to3 {
		k0to3[i] *= q * sqrt2pi / div[i]
	}

	q = math.Exp(-piSq / 2 / z2)
	sqrt3z := sqrt3 * z
	var k2extra, k3extra float64
	for k := maxk; k > 0; k-- {
		fk := float64(k)
		ks2 := fk * fk
		qp := math.Pow(q, ks2)
		kspi := math.Pi * fk
		k2extra += ks2 * qp
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp
	}
	k0to3[2] += k2extra * piSq * sqrt2pi / (-36 * z3)
	k0to3[3] += k3extra * piSq * sqrt2pi / (216 * z6)
	var sum float64
	for i := range k0to3 {
		sum += k0to3[i] / math.Pow(fn, float64(i)/2)
	}
	return sum
}

// smirnovSF is Pr(D_n^+ >= x) for the one-sided one-sample statistic
// (SciPy's scipy.special.smirnov), by the Birnbaum–Tingey sum
//
//	x * sum_{v=0}^{ceil(n(1-x))-1} C(n,v) (x+v/n)^(v-1) (1-x-v/n)^(n-v)
//
// evaluated in log space (every term is positive, so the relative error
// stays near 1e-9 even for n = 10^6), with SciPy's closed forms at the ends
// and its approximation above 10^6.
func smirnovSF(n int, x float64) float64 {
	if !(n > 0 && x >= 0 && x <= 1) {
		return math.NaN()
	}
	if n == 1 {
		return 1 - x
	}
	if x == 0 {
		return 1
	}
	if x == 1 {
		return 0
	}
	fn := float64(n)
	// n*x split into an exact hi+lo pair, and its floor.
	nxHi := fn * x
	nxLo := math.FMA(fn, x, -nxHi)
	nxfl := math.Floor(nxHi)
	if nxHi == nxfl && nxLo < 0 {
		nxfl--
	}
	alpha := (nxHi - nxfl) + nxLo
	if alpha >= 1 {
		nxfl++
		alpha = 0
	}
	if nxfl == 0 || (nxfl == 1 && alpha == 0) {
		return 1 - x*math.Pow(1+x, fn-1)
	}
	const minLog = -7.08396418532264106224e2
	if -2*fn*x*x < minLog {
		return 0
	}
	if int(nxfl) >= n-1 {
		return math.Pow(1-x, fn)
	}
	if n > 1000000 {
		logp := -math.Pow(6*fn*x+1, 2) / 18 / fn
		if logp < -math.Ln2 {
			return math.Exp(logp)
		}
		return 1 + math.Expm1(logp)
	}
	last := n - int(nxfl) - 1
	lgN1, _ := math.Lgamma(fn + 1)
	logMax := math.Inf(-1)
	var sum float64 // sum of exp(logA - logMax)
	prevLog := math.Inf(-1)
	for v := 0; v <= last; v++ {
		fv := float64(v)
		w := ((float64(n-v) - nxHi) - nxLo) / fn // 1 - x - v/n
		if w <= 0 {
			break
		}
		u := ((fv + nxHi) + nxLo) / fn // x + v/n
		lgv, _ := math.Lgamma(fv + 1)
		lgnv, _ := math.Lgamma(fn - fv + 1)
		logA := lgN1 - lgv - lgnv + (fv-1)*math.Log(u) + (fn-fv)*math.Log(w)
		switch {
		case logA > logMax:
			sum = sum*math.Exp(logMax-logA) + 1
			logMax = logA
		default:
			sum += math.Exp(logA - logMax)
		}
		// The terms are unimodal in v: once they fall and are negligible,
		// the rest cannot matter.
		if logA < prevLog && logA-logMax < -50 {
			break
		}
		prevLog = logA
	}
	return clip01(x * sum * math.Exp(logMax))
}
