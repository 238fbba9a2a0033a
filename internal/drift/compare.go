package drift

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// Modes of a result.
const (
	ModeExact       = "exact"
	ModeApproximate = "approximate"
)

// Result is the outcome of a drift check; its JSON form is the contract of
// `mlship drift --output json` and the input of `mlship report`.
type Result struct {
	Columns        []ColumnResult `json:"columns"`
	DriftShare     float64        `json:"driftShare"`
	DatasetDrift   bool           `json:"datasetDrift"`
	DriftedColumns int            `json:"driftedColumns"`
	ShareThreshold float64        `json:"shareThreshold"`
	// Mode is "exact" when every statistic was computed on all values,
	// "approximate" when the memory budget forced fixed-bin histograms
	// for numerical columns.
	Mode         string      `json:"mode"`
	MemoryBudget int64       `json:"memoryBudget"`
	Reference    DatasetInfo `json:"reference"`
	Current      DatasetInfo `json:"current"`
	// Ignored are columns left out by configuration; ExtraColumns are in
	// the current data only (not compared).
	Ignored      []string `json:"ignored,omitempty"`
	ExtraColumns []string `json:"extraColumns,omitempty"`
	// UnknownColumns are configured (spec drift.columns) but absent from
	// the reference data: likely a typo.
	UnknownColumns []string `json:"unknownColumns,omitempty"`
}

// DatasetInfo describes one input.
type DatasetInfo struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	Rows   int64  `json:"rows"`
}

// ColumnResult is one column's test.
type ColumnResult struct {
	Name      string     `json:"name"`
	Type      ColumnType `json:"type"`
	Test      string     `json:"test"`
	Statistic float64    `json:"statistic"`
	// PValue is set for tests that have one (ks, chisquare); then
	// Statistic is the test statistic and drift means PValue < Threshold.
	// For distances drift means Statistic >= Threshold.
	PValue    *float64 `json:"pValue,omitempty"`
	Threshold float64  `json:"threshold"`
	Drift     bool     `json:"drift"`
	// Missing counts missing values (empty, NA, NaN, null, ±Inf …).
	Missing Missing `json:"missing"`
	// Count of non-missing values tested in each data set.
	Count Missing `json:"count"`
	// UnseenCategories are categories of the current data absent from the
	// reference (at most 20 listed; UnseenCount has them all).
	UnseenCategories []string `json:"unseenCategories,omitempty"`
	UnseenCount      int      `json:"unseenCount,omitempty"`
	UnseenRows       int64    `json:"unseenRows,omitempty"`
	// Extra are further tests asked for with Config.ExtraTests; they are
	// reported but do not decide the column's drift.
	Extra []TestScore `json:"extra,omitempty"`
	// Note explains a result that is not a plain test outcome.
	Note string `json:"note,omitempty"`
}

// TestScore is one extra test's outcome.
type TestScore struct {
	Test      string   `json:"test"`
	Statistic float64  `json:"statistic"`
	PValue    *float64 `json:"pValue,omitempty"`
	Threshold float64  `json:"threshold"`
	Drift     bool     `json:"drift"`
}

// Missing is a per-data-set count.
type Missing struct {
	Reference int64 `json:"reference"`
	Current   int64 `json:"current"`
}

// Compare reads the reference and current data (each in one streaming
// pass), tests every column and decides whether the data set drifted.
func Compare(ctx context.Context, ref, cur Source, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := newLoader(cfg)
	res := &Result{ShareThreshold: cfg.ShareThreshold, MemoryBudget: cfg.MemoryBudget}
	for ds, src := range []Source{ref, cur} {
		var rows int64
		var err error
		switch src.format() {
		case "csv":
			rows, err = l.readCSV(ctx, src.Path, ds)
		case "parquet":
			rows, err = l.readParquet(ctx, src.Path, ds)
		default:
			return nil, fmt.Errorf("%s: unknown data format %q: use csv or parquet", src.Path, src.Format)
		}
		if err != nil {
			return nil, err
		}
		info := DatasetInfo{Path: src.Path, Format: src.format(), Rows: rows}
		if ds == refSet {
			res.Reference = info
		} else {
			res.Current = info
		}
		for _, c := range l.cols {
			c.rows[ds] = rows
		}
	}
	res.Mode = ModeExact
	if l.approx {
		res.Mode = ModeApproximate
	}
	res.Ignored = l.ignored
	res.ExtraColumns = l.extra
	for name := range cfg.Columns {
		if _, ok := l.byName[name]; !ok {
			res.UnknownColumns = append(res.UnknownColumns, name)
		}
	}
	sort.Strings(res.UnknownColumns)

	res.Columns = make([]ColumnResult, len(l.cols))
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(workers, len(l.cols)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch []uint64 // the radix sort's buffer, reused
			for i := range next {
				res.Columns[i] = testColumn(l.cols[i], cfg, l.approx, &scratch)
				l.cols[i] = nil // let the column's data go
			}
		}()
	}
feed:
	for i := range l.cols {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, c := range res.Columns {
		if c.Drift {
			res.DriftedColumns++
		}
	}
	res.DriftShare = float64(res.DriftedColumns) / float64(len(res.Columns))
	res.DatasetDrift = res.DriftShare >= cfg.ShareThreshold
	return res, nil
}

// chooseTest picks the configured test or the default for the type and the
// reference size.
func chooseTest(c *column, cfg Config) string {
	if c.cfg.Test != "" {
		return c.cfg.Test
	}
	small := c.rows[refSet] <= cfg.SmallSampleRows
	if c.typ == Numerical {
		if small {
			return TestKS
		}
		return TestWasserstein
	}
	if small {
		return TestChiSquare
	}
	return TestJensenShannon
}

func testColumn(c *column, cfg Config, approx bool, scratch *[]uint64) ColumnResult {
	test := chooseTest(c, cfg)
	r := ColumnResult{
		Name: c.name, Type: c.typ, Test: test,
		Missing: Missing{Reference: c.missing[refSet], Current: c.missing[curSet]},
	}
	r.Threshold = defaultThreshold(test)
	if c.cfg.Threshold != nil {
		r.Threshold = *c.cfg.Threshold
	}
	if err := testFits(test, c.typ); err != nil {
		// An inferred type the configured test does not fit.
		r.Note = fmt.Sprintf("%v; the column was inferred %s: declare its type or pick another test", err, c.typ)
		return r
	}
	tests := []string{test}
	for _, e := range cfg.ExtraTests {
		if e != test && testFits(e, c.typ) == nil {
			tests = append(tests, e)
		}
	}
	var scores []score
	if c.typ == Numerical {
		r.Count = Missing{Reference: c.num[refSet].n, Current: c.num[curSet].n}
		if !bothPresent(&r) {
			return r
		}
		if approx {
			scores = testNumericApprox(c, tests)
		} else {
			scores = testNumericExact(c, tests, scratch)
		}
	} else {
		cs := c.cat
		r.Count = Missing{Reference: sum64(cs.counts[refSet]), Current: sum64(cs.counts[curSet])}
		var unseen []string
		for id, n := range cs.counts[curSet] {
			if n > 0 && cs.counts[refSet][id] == 0 {
				unseen = append(unseen, cs.labels[id])
				r.UnseenRows += n
			}
		}
		sort.Strings(unseen)
		r.UnseenCount = len(unseen)
		if len(unseen) > 20 {
			unseen = unseen[:20]
		}
		r.UnseenCategories = unseen
		if !bothPresent(&r) {
			return r
		}
		scores = testCategorical(cs, tests)
	}
	r.Statistic, r.PValue, r.Drift = verdict(test, scores[0], r.Threshold)
	for i, e := range tests[1:] {
		ts := TestScore{Test: e, Threshold: defaultThreshold(e)}
		ts.Statistic, ts.PValue, ts.Drift = verdict(e, scores[i+1], ts.Threshold)
		r.Extra = append(r.Extra, ts)
	}
	return r
}

func verdict(test string, s score, threshold float64) (float64, *float64, bool) {
	stat := finite(s.stat)
	if hasPValue(test) {
		p := finite(s.p)
		return stat, &p, p < threshold
	}
	return stat, nil, stat >= threshold
}

// bothPresent handles a column with no values in one data set: all missing
// in the current data but not in the reference is drift; nothing in either
// is not.
func bothPresent(r *ColumnResult) bool {
	switch {
	case r.Count.Reference > 0 && r.Count.Current > 0:
		return true
	case r.Count.Reference == 0 && r.Count.Current == 0:
		r.Note = "no values in either data set: not tested"
	case r.Count.Current == 0:
		r.Drift = true
		r.Note = "every current value is missing: counted as drift"
	default:
		r.Drift = true
		r.Note = "every reference value is missing: counted as drift"
	}
	return false
}

// finite keeps JSON encodable: NaN becomes 0, ±Inf the largest float.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

func sum64(x []int64) int64 {
	var s int64
	for _, v := range x {
		s += v
	}
	return s
}

func testNumericExact(c *column, tests []string, scratch *[]uint64) []score {
	ref := c.num[refSet].values()
	cur := c.num[curSet].values()
	sortFloats(ref, scratch)
	sortFloats(cur, scratch)
	out := make([]score, len(tests))
	for i, test := range tests {
		switch test {
		case TestKS:
			d, p, _ := KSTwoSample(ref, cur)
			out[i] = score{d, p}
		case TestWasserstein:
			out[i] = score{NormedWasserstein(WassersteinSorted(ref, cur), PopStd(ref)), math.NaN()}
		default:
			// psi, kl, jensenshannon: Evidently's binning.
			rp, cp := binSortedExact(ref, cur)
			out[i] = score{binnedScore(test, rp, cp), math.NaN()}
		}
	}
	return out
}

type score struct{ stat, p float64 }

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

// binnedScore scores two count vectors over the same bins.
func binnedScore(test string, rc, cc []float64) float64 {
	rp, cp := normalize(rc), normalize(cc)
	if rp == nil || cp == nil {
		return math.NaN()
	}
	switch test {
	case TestJensenShannon:
		return JensenShannonDistance(rp, cp)
	case TestPSI:
		fillZeros(rp)
		fillZeros(cp)
		return PSI(rp, cp)
	case TestKL:
		fillZeros(rp)
		fillZeros(cp)
		return KLDivergence(rp, cp)
	}
	return math.NaN()
}

func testNumericApprox(c *column, tests []string) []score {
	rs, cs := &c.num[refSet], &c.num[curSet]
	rv, rw := rs.hist.points()
	cv, cw := cs.hist.points()
	out := make([]score, len(tests))
	for i, test := range tests {
		switch test {
		case TestKS:
			d := ksWeighted(rv, rw, cv, cw)
			_, p, _ := KSPValue(d, int(rs.n), int(cs.n), max(rs.n, cs.n) <= maxAutoExactN)
			out[i] = score{d, p}
		case TestWasserstein:
			std := math.Sqrt(rs.m2 / float64(rs.n))
			out[i] = score{NormedWasserstein(WassersteinWeighted(rv, rw, cv, cw), std), math.NaN()}
		default:
			lo, hi := math.Min(rs.min, cs.min), math.Max(rs.max, cs.max)
			edges := histEdges(lo, hi, sturgesBins(rs.n+cs.n))
			rb := make([]float64, len(edges)-1)
			cb := make([]float64, len(edges)-1)
			for i, v := range rv {
				rb[max(histIndex(edges, v), 0)] += rw[i]
			}
			for i, v := range cv {
				cb[max(histIndex(edges, v), 0)] += cw[i]
			}
			out[i] = score{binnedScore(test, rb, cb), math.NaN()}
		}
	}
	return out
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

func testCategorical(cs *catStore, tests []string) []score {
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
	for i, test := range tests {
		if test == TestChiSquare {
			s, p, _ := ChiSquareHomogeneity(rc, cc)
			out[i] = score{s, p}
			continue
		}
		out[i] = score{binnedScore(test, rc, cc), math.NaN()}
	}
	return out
}
