package drift

import (
	"math"
	"sort"
)

// fineHist is how the current data of a numerical column is held when the
// reference is a profile's centroids: instead of every value (8 bytes
// each, then a sort), a count and a sum per sub-interval of the profile,
// filled in one pass. Each interval between two consecutive centroids is
// cut into sub equal sub-bins; values outside [first centroid, last
// centroid] are kept exactly by the numStore (they are few unless the
// data moved far, and then they are the data).
//
// Against the profile this loses nothing the tests can see beyond a
// sub-bin: the reference's CDF only steps at centroids, which are sub-bin
// edges, so the KS statistic is off by at most one sub-bin's share of the
// current data; the Wasserstein distance by at most the mean distance of a
// value to its sub-bin's mean (under 1/sub of a centroid interval); a
// Sturges bin edge moves at most one sub-bin's mass. docs/monitoring.md
// gives the figures.
type fineHist struct {
	edges []float64 // the profile's centroids, increasing: len k ≥ 2
	inv   []float64 // sub / (edges[i+1]-edges[i]), per interval
	sub   int
	// bins holds each sub-bin's count and sum side by side ((k-1)*sub
	// pairs): one cache line a value, where the tables of all columns
	// together do not fit in the cache.
	bins []float64
	// lookup maps a uniform cell of [edges[0], edges[k-1]] to the first
	// interval it overlaps; a value's interval is then found by a binary
	// search between two cells' entries (a few steps where the data are).
	lookup []int32
	cells  float64 // len(lookup)-1 over the span
	min    float64
	max    float64
	pend   [finePending]float64
	np     int
}

// Sub-bins per centroid interval: at most fineMaxBins a column and
// fineMaxSub an interval, at least fineMinSub (else the values are kept as
// they are).
const (
	fineMaxBins  = 1 << 13
	fineMaxSub   = 16
	fineMinSub   = 4
	fineCells    = 4096
	fineBinBytes = 16
	finePending  = 512
)

// fineBytes is the memory a fineHist of k centroids and sub sub-bins holds.
func fineBytes(k, sub int) int64 {
	return int64(k-1)*int64(sub)*fineBinBytes + int64(k)*16 + (fineCells+1)*4 + finePending*8
}

// fineSub is how many sub-bins per interval a column of k centroids gets
// when numeric columns share room bytes; 0 when fewer than fineMinSub fit.
func fineSub(k int, numeric, room int64) int {
	if k < 2 || numeric <= 0 {
		return 0
	}
	sub := min(fineMaxSub, fineMaxBins/(k-1))
	for sub >= fineMinSub && numeric*fineBytes(k, sub) > room {
		sub /= 2
	}
	if sub < fineMinSub {
		return 0
	}
	return sub
}

func newFineHist(centroids []float64, sub int) *fineHist {
	k := len(centroids)
	f := &fineHist{edges: centroids, sub: sub, inv: make([]float64, k-1),
		bins:   make([]float64, 2*(k-1)*sub),
		lookup: make([]int32, fineCells+1), min: math.Inf(1), max: math.Inf(-1)}
	for i := range k - 1 {
		f.inv[i] = float64(sub) / (centroids[i+1] - centroids[i])
	}
	lo, hi := centroids[0], centroids[k-1]
	f.cells = fineCells / (hi - lo)
	j := 0
	for c := range f.lookup {
		x := lo + float64(c)/f.cells
		for j < k-2 && centroids[j+1] <= x {
			j++
		}
		f.lookup[c] = int32(j)
	}
	return f
}

// add takes v when it lies within the centroids' range and reports
// whether it did. Values wait in pend and are binned finePending at a
// time (flush), so that one column's table stays in the cache while they
// are, rather than every column's table being touched for every row.
func (f *fineHist) add(v float64) bool {
	// Plain comparisons: math.Min and math.Max are calls here, and v is
	// never NaN.
	if v < f.min {
		f.min = v
	}
	if v > f.max {
		f.max = v
	}
	if !(v >= f.edges[0] && v <= f.edges[len(f.edges)-1]) {
		return false
	}
	f.pend[f.np] = v
	f.np++
	if f.np == len(f.pend) {
		f.flush()
	}
	return true
}

// flush bins the pending values.
func (f *fineHist) flush() {
	e := f.edges
	lo, last := e[0], len(e)-2
	top := len(f.lookup) - 2
	for _, v := range f.pend[:f.np] {
		// Clamped both ways: a profile's centroids a denormal apart
		// make cells infinite and the product NaN.
		c := max(0, min(int((v-lo)*f.cells), top))
		// The interval i with e[i] <= v < e[i+1] lies in
		// [lookup[c], lookup[c+1]].
		a, b := int(f.lookup[c]), int(f.lookup[c+1])
		for a < b {
			m := int(uint(a+b+1) >> 1)
			if e[m] <= v {
				a = m
			} else {
				b = m - 1
			}
		}
		i := min(a, last)
		j := max(0, min(int((v-e[i])*f.inv[i]), f.sub-1))
		k := 2 * (i*f.sub + j)
		f.bins[k]++
		f.bins[k+1] += v
	}
	f.np = 0
}

// each calls fn with every non-empty sub-bin's mean and count, in order.
func (f *fineHist) each(fn func(v, w float64)) {
	f.flush()
	for k := 0; k < len(f.bins); k += 2 {
		if n := f.bins[k]; n > 0 {
			fn(f.bins[k+1]/n, n)
		}
	}
}

// fineSide is the current side of a column held as a fineHist plus the
// values outside its range (sorted here), as weighted sorted points; each
// sub-bin's point also carries the sub-bin's bounds, over which the binned
// tests spread its mass (spreadBins), as they do a profile's centroids.
func fineSide(s *numStore, st *sorter) side {
	out := s.values()
	st.sort(out)
	f := s.fine
	f.flush()
	e := f.edges
	below := sort.SearchFloat64s(out, e[0])
	var n int
	for k := 0; k < len(f.bins); k += 2 {
		if f.bins[k] > 0 {
			n++
		}
	}
	sd := side{n: float64(s.n), min: f.min, max: f.max}
	sd.vals = make([]float64, 0, len(out)+n)
	sd.w = make([]float64, 0, len(out)+n)
	sd.lo = make([]float64, 0, len(out)+n)
	sd.hi = make([]float64, 0, len(out)+n)
	push := func(v, w, lo, hi float64) {
		if k := len(sd.vals) - 1; k >= 0 && v <= sd.vals[k] {
			// Equal neighbours (or a mean rounded onto the next
			// sub-bin's): one point.
			sd.w[k] += w
			sd.hi[k] = math.Max(sd.hi[k], hi)
			return
		}
		sd.vals, sd.w, sd.lo, sd.hi = append(sd.vals, v), append(sd.w, w), append(sd.lo, lo), append(sd.hi, hi)
	}
	for _, v := range out[:below] {
		push(v, 1, v, v)
	}
	for k := 0; k < len(f.bins); k += 2 {
		c := f.bins[k]
		if c == 0 {
			continue
		}
		i, j := (k/2)/f.sub, (k/2)%f.sub
		width := (e[i+1] - e[i]) / float64(f.sub)
		lo, hi := e[i]+float64(j)*width, e[i]+float64(j+1)*width
		if j == f.sub-1 {
			hi = e[i+1]
		}
		v := math.Min(math.Max(f.bins[k+1]/c, lo), hi)
		if c == 1 {
			// One value: the mean is the value, not a spread.
			push(v, c, v, v)
			continue
		}
		push(v, c, math.Max(lo, f.min), math.Min(hi, f.max))
	}
	for _, v := range out[below:] {
		push(v, 1, v, v)
	}
	st.recycle(out)
	vals, w := sd.vals, sd.w
	sd.std = func() float64 { return weightedStd(vals, w) }
	return sd
}

// weightedStd is the population standard deviation of weighted points.
func weightedStd(v, w []float64) float64 {
	var n, mean, m2 float64
	for i, x := range v {
		n += w[i]
		d := x - mean
		mean += d * w[i] / n
		m2 += w[i] * d * (x - mean)
	}
	return math.Sqrt(m2 / n)
}
