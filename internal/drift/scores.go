package drift

import (
	"fmt"
	"math"
)

type score struct{ stat, p float64 }

// numericSample is what a numeric scorer sees of one column: both data
// sets' sorted values (exact mode) or their histograms and running moments
// (approximate mode). Binned counts are computed once, on first use.
type numericSample struct {
	approx   bool
	ref, cur []float64 // sorted values (exact)
	// Approximate mode.
	rs, cs         *numStore
	rv, rw, cv, cw []float64
	rb, cb         []float64 // binned counts, once computed
}

func newNumericSample(c *column, approx bool, scratch *[]uint64) *numericSample {
	s := &numericSample{approx: approx}
	if approx {
		s.rs, s.cs = &c.num[refSet], &c.num[curSet]
		s.rv, s.rw = s.rs.hist.points()
		s.cv, s.cw = s.cs.hist.points()
		return s
	}
	s.ref = c.num[refSet].values()
	s.cur = c.num[curSet].values()
	sortFloats(s.ref, scratch)
	sortFloats(s.cur, scratch)
	return s
}

// bins are the binned reference and current counts the binned tests (psi,
// kl, jensenshannon) score.
func (s *numericSample) bins() (rp, cp []float64) {
	if s.rb != nil {
		return s.rb, s.cb
	}
	if s.approx {
		s.rb, s.cb = binApprox(s)
	} else {
		s.rb, s.cb = binSortedExact(s.ref, s.cur)
	}
	return s.rb, s.cb
}

// scoreNumeric runs each test's numeric scorer; tests must fit the type.
func scoreNumeric(c *column, tests []*testDef, approx bool, scratch *[]uint64) []score {
	s := newNumericSample(c, approx, scratch)
	out := make([]score, len(tests))
	for i, d := range tests {
		out[i] = d.numeric(s)
	}
	return out
}

func scoreCategorical(cs *catStore, tests []*testDef) []score {
	k := len(cs.labels)
	rc := make([]float64, 0, k)
	cc := make([]float64, 0, k)
	for id := 0; id < k; id++ {
		a, b := cs.counts[refSet][id], cs.counts[curSet][id]
		if a == 0 && b == 0 {
			continue
		}
		rc = append(rc, float64(a))
		cc = append(cc, float64(b))
	}
	out := make([]score, len(tests))
	for i, d := range tests {
		out[i] = d.categorical(rc, cc)
	}
	return out
}

// outcome is one test's verdict on a column.
type outcome struct {
	stat        float64
	p           *float64
	drift       bool
	notComputed string // why the statistic is not a number; "" when it is
}

// verdict decides drift from a score. A statistic or p-value that comes
// out NaN is not computed: it counts as drift (fail closed) and says why,
// instead of reading as a 0 that may pass or fail by accident.
func verdict(d *testDef, s score, threshold float64) outcome {
	if math.IsNaN(s.stat) || (d.PValue && math.IsNaN(s.p)) {
		return outcome{drift: true, notComputed: fmt.Sprintf("%s statistic not computed (not a number: the values overflow or do not vary): counted as drift", d.Name)}
	}
	stat := finite(s.stat)
	if d.PValue {
		p := finite(s.p)
		return outcome{stat: stat, p: &p, drift: p < threshold}
	}
	return outcome{stat: stat, drift: stat >= threshold}
}

// finite keeps JSON encodable: ±Inf becomes the largest float (NaN never
// reaches it: verdict reports it as not computed).
func finite(x float64) float64 {
	switch {
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

// binSortedExact is Evidently's get_binned_data for numerical data: with
// more than 20 distinct reference values, numpy's Sturges histogram over
// the range of both samples; otherwise the counts of each distinct value.
func binSortedExact(ref, cur []float64) (rp, cp []float64) {
	distinct := 1
	for i := 1; i < len(ref) && distinct <= 20; i++ {
		if ref[i] != ref[i-1] {
			distinct++
		}
	}
	if distinct > 20 {
		lo := math.Min(ref[0], cur[0])
		hi := math.Max(ref[len(ref)-1], cur[len(cur)-1])
		edges := histEdges(lo, hi, sturgesBins(int64(len(ref)+len(cur))))
		rp = make([]float64, len(edges)-1)
		cp = make([]float64, len(edges)-1)
		for _, v := range ref {
			rp[histIndex(edges, v)]++
		}
		for _, v := range cur {
			cp[histIndex(edges, v)]++
		}
		return rp, cp
	}
	// Distinct values of both, merged in order.
	i, j := 0, 0
	for i < len(ref) || j < len(cur) {
		var v float64
		switch {
		case i == len(ref):
			v = cur[j]
		case j == len(cur):
			v = ref[i]
		default:
			v = math.Min(ref[i], cur[j])
		}
		var a, b float64
		for i < len(ref) && ref[i] == v {
			a++
			i++
		}
		for j < len(cur) && cur[j] == v {
			b++
			j++
		}
		rp = append(rp, a)
		cp = append(cp, b)
	}
	return rp, cp
}

// binApprox bins the approximate mode's histogram points on Sturges edges
// over the range of both data sets.
func binApprox(s *numericSample) (rb, cb []float64) {
	lo, hi := math.Min(s.rs.min, s.cs.min), math.Max(s.rs.max, s.cs.max)
	edges := histEdges(lo, hi, sturgesBins(s.rs.n+s.cs.n))
	rb = make([]float64, len(edges)-1)
	cb = make([]float64, len(edges)-1)
	for i, v := range s.rv {
		rb[max(histIndex(edges, v), 0)] += s.rw[i]
	}
	for i, v := range s.cv {
		cb[max(histIndex(edges, v), 0)] += s.cw[i]
	}
	return rb, cb
}

// ksWeighted is the two-sample KS statistic of weighted sorted samples.
func ksWeighted(u, uw, v, vw []float64) float64 {
	su, sv := sumWeights(u, uw), sumWeights(v, vw)
	var cu, cv, d float64
	i, j := 0, 0
	for i < len(u) && j < len(v) {
		x := math.Min(u[i], v[j])
		for i < len(u) && u[i] <= x {
			cu += uw[i]
			i++
		}
		for j < len(v) && v[j] <= x {
			cv += vw[j]
			j++
		}
		d = math.Max(d, math.Abs(cu/su-cv/sv))
	}
	return d
}
