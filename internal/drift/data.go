package drift

import (
	"fmt"
	"math"
	"strconv"
	"unsafe"
)

// ColumnType says how a column is tested.
type ColumnType string

const (
	// Numerical columns hold numbers; they get distribution tests.
	Numerical ColumnType = "numerical"
	// Categorical columns hold labels; they get tests on category shares.
	Categorical ColumnType = "categorical"
)

const (
	refSet = 0
	curSet = 1
)

// chunkLen is how many values one storage chunk of a numeric column holds.
// Chunks avoid the copying (and the transient double memory) of growing
// one slice.
const chunkLen = 1 << 16

// numStore holds one data set's values of a numerical column: all of them
// (exact mode) or a histogram (approximate mode). Values go into base,
// reserved up front from the estimated row count, then into fixed-size
// chunks if the estimate was short; neither path copies what is stored.
type numStore struct {
	base   []float64
	chunks [][]float64
	n      int64
	// capBytes is the memory held by base and chunks (their capacity),
	// which the loader charges against the memory budget.
	capBytes int64
	hist     *binHist
	// pending is the bin count of a histogram not made yet: the switch to
	// approximate mode came before this column had values to set its
	// range (Parquet reads column by column), so the first pendingLen
	// values are kept and then binned over their own range.
	pending int
	// fine, when not nil, bins the values within a reference profile's
	// centroids (see fineHist); base and chunks then hold only the values
	// outside them. Its memory is in capBytes.
	fine *fineHist
}

// pendingLen is how many values set a pending histogram's range.
const pendingLen = 1024

// settle makes a pending store's histogram from the values it holds and
// returns the change in memory held.
func (s *numStore) settle() int64 {
	if s.pending == 0 {
		return 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	s.each(func(v float64) {
		lo = math.Min(lo, v)
		hi = math.Max(hi, v)
	})
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	h := newBinHist(lo, hi, s.pending)
	s.each(h.add)
	before := s.capBytes
	*s = numStore{hist: h, n: s.n}
	return histBytes(h.nb) - before
}

// firstChunkLen is the first chunk's capacity; later chunks double up to
// chunkLen. Starting small keeps a wide file (many columns, few rows) from
// reserving chunkLen values per column.
const firstChunkLen = 4

func (s *numStore) add(v float64) {
	if len(s.base) < cap(s.base) {
		s.base = append(s.base, v)
		s.n++
		return
	}
	if s.hist != nil {
		s.hist.add(v)
		s.n++
		return
	}
	k := len(s.chunks)
	if k == 0 || len(s.chunks[k-1]) == cap(s.chunks[k-1]) {
		size := firstChunkLen
		if k > 0 {
			size = min(2*cap(s.chunks[k-1]), chunkLen)
		}
		s.chunks = append(s.chunks, make([]float64, 0, size))
		s.capBytes += 8 * int64(size)
		k++
	}
	s.chunks[k-1] = append(s.chunks[k-1], v)
	s.n++
}

// reserve makes room for n values in base, moving what is stored there.
func (s *numStore) reserve(n int64) {
	if s.hist != nil || int64(cap(s.base)) >= n {
		return
	}
	nb := make([]float64, 0, n)
	nb = append(nb, s.base...)
	for _, c := range s.chunks {
		nb = append(nb, c...)
	}
	s.base, s.chunks = nb, nil
	s.capBytes = 8 * n
}

// values returns every value as one slice (base itself when nothing
// overflowed into chunks), releasing the storage it copied from.
func (s *numStore) values() []float64 {
	if len(s.chunks) == 0 {
		out := s.base
		s.base = nil
		return out
	}
	size := len(s.base)
	for _, c := range s.chunks {
		size += len(c)
	}
	out := make([]float64, 0, size)
	out = append(out, s.base...)
	s.base = nil
	for i, c := range s.chunks {
		out = append(out, c...)
		s.chunks[i] = nil
	}
	s.chunks = nil
	s.capBytes = 0
	if s.fine != nil {
		s.capBytes = fineBytes(len(s.fine.edges), s.fine.sub)
	}
	return out
}

// eachWeighted calls f with every value held and its weight: 1 for a
// value, a sub-bin's count for a fineHist's sub-bin mean.
func (s *numStore) eachWeighted(f func(v, w float64)) {
	s.each(func(v float64) { f(v, 1) })
	if s.fine != nil {
		s.fine.each(f)
	}
}

func (s *numStore) each(f func(float64)) {
	for _, v := range s.base {
		f(v)
	}
	for _, c := range s.chunks {
		for _, v := range c {
			f(v)
		}
	}
}

// catStore is a categorical column's dictionary, shared by both data sets,
// and the count of each category per data set.
type catStore struct {
	index  map[string]int32
	labels []string
	counts [2][]int64
	bytes  int64 // memory held by labels and the map, roughly
}

func newCatStore() *catStore { return &catStore{index: map[string]int32{}} }

func (c *catStore) add(ds int, b []byte) {
	id, ok := c.index[string(b)]
	if !ok {
		c.addLabel(string(b))
		id = int32(len(c.labels) - 1)
	}
	c.counts[ds][id]++
}

func (c *catStore) addLabel(s string) {
	c.index[s] = int32(len(c.labels))
	c.labels = append(c.labels, s)
	c.counts[0] = append(c.counts[0], 0)
	c.counts[1] = append(c.counts[1], 0)
	c.bytes += int64(len(s)) + 64
}

func (c *catStore) addString(ds int, s string, n int64) {
	id, ok := c.index[s]
	if !ok {
		c.addLabel(s)
		id = int32(len(c.labels) - 1)
	}
	c.counts[ds][id] += n
}

// column is one column of both data sets.
type column struct {
	name     string
	typ      ColumnType
	declared bool          // type fixed by the configuration, not inferred
	cfg      *ColumnConfig // never nil: the loader's zero config when none
	num      [2]numStore
	cat      *catStore
	// prof is the reference's summary when the reference is a profile.
	prof    *ColumnProfile
	missing [2]int64
	// nonFinite counts ±Inf (and NaN from Parquet) per data set, a part of
	// missing; extreme counts finite values beyond ExtremeLimit, left out
	// of the tests and not in missing.
	nonFinite [2]int64
	extreme   [2]int64
	pos       [2]int // field index in each file's header; -1 if absent
}

// ExtremeLimit is the largest magnitude a numerical value may have to take
// part in the tests. Beyond it a value is a sentinel (1.7976931348623157e308,
// 1e308, …), not a measurement: nothing measured comes near 1e100 (the
// observable universe holds about 1e80 atoms), and below it the squared
// differences that variances, distances and histogram ranges need, summed
// over 2^63 rows, stay far from float64's overflow at 1.8e308. One such
// sentinel would otherwise make the standard deviation overflow (the normed
// Wasserstein distance of a 5-sigma shift became 0) or a histogram's range
// infinite. Extreme values are counted per column (extreme) and noted.
const ExtremeLimit = 1e100

// columnOverhead is the memory charged per column for its bookkeeping
// (the column, its result, its header name), so that a wide file's columns
// count against the memory budget too.
const columnOverhead = 512

// naValues are pandas' default missing-value markers (read_csv na_values).
var naValues = map[string]bool{
	"": true, "#N/A": true, "#N/A N/A": true, "#NA": true, "-1.#IND": true, "-1.#QNAN": true,
	"-NaN": true, "-nan": true, "1.#IND": true, "1.#QNAN": true, "<NA>": true, "N/A": true,
	"NA": true, "NULL": true, "NaN": true, "None": true, "n/a": true, "nan": true, "null": true,
}

func isMissing(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(b) > 8 {
		return false
	}
	return naValues[string(b)]
}

// parseNumber parses a decimal number (surrounding spaces allowed). ok is
// false for anything else. NaN and ±Inf parse but are reported as missing
// by the caller.
func parseNumber(b []byte) (float64, bool) {
	if v, ok := parseSimpleDecimal(b); ok {
		return v, true
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return 0, false
	}
	// Reject hexadecimal and underscores, which strconv accepts but CSV
	// tools do not read as numbers.
	c := b[0]
	if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'i' || c == 'I' || c == 'n' || c == 'N') {
		return 0, false
	}
	for _, c := range b {
		if c == 'x' || c == 'X' || c == '_' || c == 'p' || c == 'P' {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	if err != nil {
		// Out-of-range literals come back as ±Inf with ErrRange: keep
		// them as such (they count as missing).
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseSimpleDecimal is the fast path for the common [-]digits[.digits]
// [e[-]digits] whose digits, the point left out, make an integer of at
// most 2^53 and whose power of ten is at most 22 in magnitude: then
// mantissa and power of ten are exact doubles and one multiplication or
// division rounds correctly (Clinger 1990), the same result as
// strconv.ParseFloat. Anything else reports ok=false.
func parseSimpleDecimal(b []byte) (float64, bool) {
	i, n := 0, len(b)
	if n == 0 {
		return 0, false
	}
	neg := false
	switch b[0] {
	case '-':
		neg = true
		i++
	case '+':
		i++
	}
	var mant uint64
	start := i
	for ; i < n; i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		mant = mant*10 + uint64(d)
	}
	digits := i - start
	exp := 0
	if i < n && b[i] == '.' {
		i++
		fstart := i
		for ; i < n; i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			mant = mant*10 + uint64(d)
		}
		exp = fstart - i
		digits += i - fstart
	}
	// 19 digits cannot overflow the uint64.
	if digits == 0 || digits > 19 || mant > 1<<53 {
		return 0, false
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < n && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		if i == n {
			return 0, false
		}
		e := 0
		for ; i < n; i++ {
			c := b[i]
			if c < '0' || c > '9' || e > 1000 {
				return 0, false
			}
			e = e*10 + int(c-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != n {
		return 0, false
	}
	f := float64(mant)
	switch {
	case mant == 0:
		f = 0
	case exp == 0:
	case exp > 0 && exp <= 22:
		f *= pow10[exp]
	case exp < 0 && exp >= -22:
		f /= pow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

// promote turns an inferred numerical column into a categorical one, the
// numbers seen so far becoming labels in Go's shortest formatting.
func (c *column) promote() error {
	if c.num[0].hist != nil || c.num[1].hist != nil {
		return fmt.Errorf("column %q turned out to hold text after the memory budget was exceeded: declare its type (drift.columns.%s.type: \"categorical\") or raise the memory budget", c.name, c.name)
	}
	c.typ = Categorical
	c.cat = newCatStore()
	for ds := range c.num {
		counts := map[float64]int64{}
		c.num[ds].each(func(v float64) { counts[v]++ })
		for v, n := range counts {
			c.cat.addString(ds, strconv.FormatFloat(v, 'g', -1, 64), n)
		}
		c.num[ds] = numStore{}
	}
	return nil
}

// binHist is the approximate mode's fixed-bin histogram: nb equal bins
// over [lo, hi] plus an underflow and an overflow bin; each bin keeps its
// count and the sum of its values, so a bin is represented by the mean of
// what fell in it.
type binHist struct {
	lo, hi, scale float64
	nb            int
	counts        []float64
	sums          []float64
	// Running moments and range of what was added (Welford).
	n, mean, m2 float64
	min, max    float64
}

// approxBins is the number of regular bins per column in approximate mode
// when the memory budget allows; minApproxBins the fewest it uses (a
// budget too small for those is refused).
const (
	approxBins    = 4096
	minApproxBins = 256
)

func newBinHist(lo, hi float64, nb int) *binHist {
	span := hi - lo
	if !(span > 0) {
		span = math.Max(math.Abs(lo), 1)
	}
	lo -= span / 4
	hi += span / 4
	return &binHist{
		lo: lo, hi: hi, nb: nb, scale: float64(nb) / (hi - lo),
		counts: make([]float64, nb+2),
		sums:   make([]float64, nb+2),
		min:    math.Inf(1), max: math.Inf(-1),
	}
}

// addWeighted adds w values v (a sub-bin's mean and count).
func (h *binHist) addWeighted(v, w float64) {
	var i int
	switch {
	case v < h.lo:
		i = 0
	case v >= h.hi:
		i = h.nb + 1
	default:
		i = 1 + min(int((v-h.lo)*h.scale), h.nb-1)
	}
	h.counts[i] += w
	h.sums[i] += v * w
	h.n += w
	d := v - h.mean
	h.mean += d * w / h.n
	h.m2 += w * d * (v - h.mean)
	h.min = math.Min(h.min, v)
	h.max = math.Max(h.max, v)
}

func (h *binHist) add(v float64) {
	var i int
	switch {
	case v < h.lo:
		i = 0
	case v >= h.hi:
		i = h.nb + 1
	default:
		i = 1 + min(int((v-h.lo)*h.scale), h.nb-1)
	}
	h.counts[i]++
	h.sums[i] += v
	h.n++
	d := v - h.mean
	h.mean += d / h.n
	h.m2 += d * (v - h.mean)
	h.min = math.Min(h.min, v)
	h.max = math.Max(h.max, v)
}

// points returns the non-empty bins as sorted representative values (bin
// means) and their weights.
func (h *binHist) points() (vals, weights []float64) {
	for i, n := range h.counts {
		if n == 0 {
			continue
		}
		vals = append(vals, h.sums[i]/n)
		weights = append(weights, n)
	}
	return vals, weights
}

// histBytes is the memory one binHist of nb bins holds.
func histBytes(nb int) int64 { return int64(nb+2) * 16 }
