package drift

import (
	"fmt"
	"math"
	"unsafe"
)

type score struct{ stat, p float64 }

// side is one data set of a numerical column as the scorers see it:
// sorted values with weights (nil: each value weighs 1), their total
// weight, range and population standard deviation.
type side struct {
	vals, w []float64
	n       float64
	min     float64
	max     float64
	std     func() float64
	// exact: vals are every value (w nil) or every distinct value with
	// its count, so every statistic is exact; otherwise they are bin or
	// centroid means.
	exact bool
	// spread: vals are a profile's centroids, whose mass a histogram
	// spreads over the interval each stands for (see spreadBins).
	spread bool
	// lo, hi (a fineHist's sub-bins): each point stands for values
	// within [lo[i], hi[i]], over which a histogram spreads its weight.
	lo, hi []float64
}

func exactSide(sorted []float64) side {
	return side{vals: sorted, n: float64(len(sorted)), min: sorted[0], max: sorted[len(sorted)-1],
		std: func() float64 { return PopStd(sorted) }, exact: true}
}

func histSide(s *numStore) side {
	v, w := s.hist.points()
	h := s.hist
	return side{vals: v, w: w, n: float64(s.n), min: h.min, max: h.max,
		std: func() float64 { return math.Sqrt(h.m2 / h.n) }}
}

// numericSample is what a numeric scorer sees of one column: the
// reference and current sides. Binned counts are computed once, on first
// use.
type numericSample struct {
	r, c   side
	rb, cb []float64 // binned counts, once computed
}

// sorter is a worker's sorting state: the radix sort's buffer, kept from
// column to column. When tight (memory is short), no buffer is allocated:
// a column is sorted with the storage of the worker's previous column,
// whose values are done with, or in place when there is none large enough.
type sorter struct {
	buf   []uint64
	tight bool
}

func (st *sorter) sort(v []float64) {
	if st.tight && cap(st.buf) < len(v) {
		sortFloatsInPlace(v)
		return
	}
	sortFloats(v, &st.buf)
}

// recycle hands a tested column's storage (values the loader owned) to
// the next sort, when memory is tight.
func (st *sorter) recycle(v []float64) {
	if st.tight && cap(v) > cap(st.buf) {
		st.buf = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(v))), cap(v))[:0]
	}
}

func newNumericSample(col *column, approx bool, st *sorter) *numericSample {
	s := &numericSample{}
	if col.prof != nil {
		s.r = profileSide(col.prof)
	} else if approx {
		s.r = histSide(&col.num[refSet])
	} else {
		v := col.num[refSet].values()
		st.sort(v)
		s.r = exactSide(v)
	}
	if approx {
		s.c = histSide(&col.num[curSet])
	} else if col.num[curSet].fine != nil {
		s.c = fineSide(&col.num[curSet], st)
	} else {
		v := col.num[curSet].values()
		st.sort(v)
		s.c = exactSide(v)
	}
	return s
}

// bins are the binned reference and current counts the binned tests (psi,
// kl, jensenshannon) score.
func (s *numericSample) bins() (rp, cp []float64) {
	if s.rb == nil {
		s.rb, s.cb = binSides(&s.r, &s.c)
	}
	return s.rb, s.cb
}

// scoreNumeric runs each test's numeric scorer; tests must fit the type.
func scoreNumeric(c *column, tests []*testDef, approx bool, st *sorter) []score {
	s := newNumericSample(c, approx, st)
	out := make([]score, len(tests))
	for i, d := range tests {
		out[i] = d.numeric(s)
	}
	if !approx {
		// The loader's values are done with; a profile's are not ours.
		if c.prof == nil {
			st.recycle(s.r.vals)
		}
		if c.num[curSet].fine == nil {
			st.recycle(s.c.vals)
		}
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

// binSortedExact bins two sorted samples as binSides does.
func binSortedExact(ref, cur []float64) (rp, cp []float64) {
	r, c := exactSide(ref), exactSide(cur)
	return binSides(&r, &c)
}

// binSides is Evidently's get_binned_data for numerical data: with more
// than 20 distinct reference values, numpy's Sturges histogram over the
// range of both samples; otherwise the counts of each distinct value. When
// a side is not exact (histogram bins or profile centroids) it is always
// the Sturges histogram, each point counting in the bin of its mean.
func binSides(r, c *side) (rp, cp []float64) {
	distinct := 21
	if r.exact && c.exact {
		distinct = 1
		for i := 1; i < len(r.vals) && distinct <= 20; i++ {
			if r.vals[i] != r.vals[i-1] {
				distinct++
			}
		}
	}
	if distinct > 20 {
		lo, hi := math.Min(r.min, c.min), math.Max(r.max, c.max)
		edges := histEdges(lo, hi, sturgesBins(int64(r.n+c.n)))
		rp = make([]float64, len(edges)-1)
		cp = make([]float64, len(edges)-1)
		for _, x := range []struct {
			s   *side
			out []float64
		}{{r, rp}, {c, cp}} {
			if x.s.spread {
				spreadBins(edges, x.s, x.out)
				continue
			}
			if x.s.lo != nil {
				spreadRanges(edges, x.s, x.out)
				continue
			}
			for i, v := range x.s.vals {
				x.out[max(histIndex(edges, v), 0)] += weightAt(x.s.w, i)
			}
		}
		return rp, cp
	}
	// Distinct values of both, merged in order.
	ref, cur := r.vals, c.vals
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
			a += weightAt(r.w, i)
			i++
		}
		for j < len(cur) && cur[j] == v {
			b += weightAt(c.w, j)
			j++
		}
		rp = append(rp, a)
		cp = append(cp, b)
	}
	return rp, cp
}

// spreadBins adds centroids' weights to histogram bins, each centroid's
// weight spread evenly over the interval it stands for: from the midpoint
// with the centroid before it to the midpoint with the one after (the
// column's min and max at the ends). A centroid that straddles a bin edge
// then counts on both sides in proportion, rather than wholly in the bin
// of its mean; against the full reference this halves the binned tests'
// error.
func spreadBins(edges []float64, s *side, out []float64) {
	n := len(s.vals)
	for i, m := range s.vals {
		a, b := s.min, s.max
		if i > 0 {
			a = s.vals[i-1]/2 + m/2
		}
		if i < n-1 {
			b = m/2 + s.vals[i+1]/2
		}
		w := weightAt(s.w, i)
		ia, ib := max(histIndex(edges, a), 0), max(histIndex(edges, b), 0)
		if ia == ib || !(b > a) {
			out[max(histIndex(edges, m), 0)] += w
			continue
		}
		for k := ia; k <= ib; k++ {
			lo, hi := math.Max(a, edges[k]), math.Min(b, edges[k+1])
			if hi > lo {
				out[k] += w * (hi - lo) / (b - a)
			}
		}
	}
}

// spreadRanges adds each point's weight to histogram bins spread evenly
// over the point's range [lo, hi] (the mean's bin when the range is one
// value or within one bin).
func spreadRanges(edges []float64, s *side, out []float64) {
	for i, m := range s.vals {
		a, b, w := s.lo[i], s.hi[i], weightAt(s.w, i)
		ia, ib := max(histIndex(edges, a), 0), max(histIndex(edges, b), 0)
		if ia == ib || !(b > a) {
			out[max(histIndex(edges, m), 0)] += w
			continue
		}
		for k := ia; k <= ib; k++ {
			lo, hi := math.Max(a, edges[k]), math.Min(b, edges[k+1])
			if hi > lo {
				out[k] += w * (hi - lo) / (b - a)
			}
		}
	}
}

// ksWeighted is the two-sample KS statistic of weighted sorted samples
// (nil weights: all ones).
func ksWeighted(u, uw, v, vw []float64) float64 {
	su, sv := sumWeights(u, uw), sumWeights(v, vw)
	var cu, cv, d float64
	i, j := 0, 0
	for i < len(u) && j < len(v) {
		x := math.Min(u[i], v[j])
		for i < len(u) && u[i] <= x {
			cu += weightAt(uw, i)
			i++
		}
		for j < len(v) && v[j] <= x {
			cv += weightAt(vw, j)
			j++
		}
		d = math.Max(d, math.Abs(cu/su-cv/sv))
	}
	return d
}
