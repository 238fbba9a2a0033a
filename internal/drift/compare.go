package drift

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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
	// NonFinite counts the ±Inf (and Parquet NaN) values among Missing.
	NonFinite Missing `json:"nonFinite"`
	// Extreme counts finite values beyond ExtremeLimit (1e100 in
	// magnitude): sentinels such as 1.7976931348623157e308, left out of
	// the tests (and of Missing and Count).
	Extreme Missing `json:"extreme"`
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
	// NotComputed: the test's statistic came out not a number (values
	// that overflow, a distribution with no spread…). The column then
	// counts as drifted (fail closed), Statistic is 0, PValue is unset and
	// Note says why.
	NotComputed bool `json:"notComputed,omitempty"`
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
	// NotComputed is as in ColumnResult: the statistic is not a number.
	NotComputed bool `json:"notComputed,omitempty"`
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
	if cur.profile != nil {
		return nil, errors.New("a reference profile can stand for the reference data only, not the current data")
	}
	for ds, src := range []Source{ref, cur} {
		rows, err := l.read(ctx, src, ds)
		if err != nil {
			return nil, err
		}
		info := DatasetInfo{Path: src.Path, Format: src.format(), Rows: rows}
		if ds == refSet {
			res.Reference = info
		} else {
			res.Current = info
		}
	}
	l.settle()
	res.Mode = ModeExact
	if l.approx {
		res.Mode = ModeApproximate
	}
	res.Ignored = l.ignored
	res.ExtraColumns = dedupe(l.extra)
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
	// Each worker's radix sort needs a buffer as large as the largest
	// column, charged to the memory budget. When it does not fit, and
	// against a profile (monitoring, where memory is what the profile is
	// there to save), no buffer is allocated: see sorter.
	var largest int64
	for _, c := range l.cols {
		if c.typ == Numerical && !l.approx {
			largest = max(largest, c.num[refSet].n, c.num[curSet].n)
		}
	}
	tight := ref.profile != nil || l.used+int64(min(workers, len(l.cols)))*8*largest > cfg.MemoryBudget
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(workers, len(l.cols)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &sorter{tight: tight}
			for i := range next {
				res.Columns[i] = testColumn(l.cols[i], cfg, res.Reference.Rows, l.approx, st)
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
func chooseTest(c *column, cfg Config, refRows int64) string {
	if c.cfg.Test != "" {
		return c.cfg.Test
	}
	small := refRows <= cfg.SmallSampleRows
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

func testColumn(c *column, cfg Config, refRows int64, approx bool, st *sorter) ColumnResult {
	r := testColumnCounts(c, cfg, refRows, approx, st)
	noteExtreme(&r)
	return r
}

func testColumnCounts(c *column, cfg Config, refRows int64, approx bool, st *sorter) ColumnResult {
	test := chooseTest(c, cfg, refRows)
	r := ColumnResult{
		Name: c.name, Type: c.typ, Test: test,
		Missing:   Missing{Reference: c.missing[refSet], Current: c.missing[curSet]},
		NonFinite: Missing{Reference: c.nonFinite[refSet], Current: c.nonFinite[curSet]},
		Extreme:   Missing{Reference: c.extreme[refSet], Current: c.extreme[curSet]},
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
	main, _ := lookupTest(test) // testFits found it
	tests := []*testDef{main}
	for _, e := range cfg.ExtraTests {
		if d, ok := lookupTest(e); ok && e != test && testFits(e, c.typ) == nil {
			tests = append(tests, d)
		}
	}
	var scores []score
	if c.typ == Numerical {
		r.Count = Missing{Reference: c.num[refSet].n, Current: c.num[curSet].n}
		if !bothPresent(&r) {
			return r
		}
		scores = scoreNumeric(c, tests, approx, st)
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
		scores = scoreCategorical(cs, tests)
	}
	o := verdict(main, scores[0], r.Threshold)
	r.Statistic, r.PValue, r.Drift = o.stat, o.p, o.drift
	if o.notComputed != "" {
		r.NotComputed, r.Note = true, o.notComputed
	}
	for i, d := range tests[1:] {
		ts := TestScore{Test: d.Name, Threshold: d.DefaultThreshold}
		o := verdict(d, scores[i+1], ts.Threshold)
		ts.Statistic, ts.PValue, ts.Drift, ts.NotComputed = o.stat, o.p, o.drift, o.notComputed != ""
		r.Extra = append(r.Extra, ts)
	}
	return r
}

// noteExtreme adds to a column's note how many extreme values were left out.
func noteExtreme(r *ColumnResult) {
	if r.Extreme.Reference+r.Extreme.Current == 0 {
		return
	}
	n := fmt.Sprintf("%d reference and %d current extreme values (|x| > 1e100, sentinels) left out of the test", r.Extreme.Reference, r.Extreme.Current)
	if r.Note == "" {
		r.Note = n
	} else {
		r.Note += "; " + n
	}
}

// bothPresent handles a column with no values in one data set: all missing
// in the current data but not in the reference is drift; nothing in either
// is not.
func bothPresent(r *ColumnResult) bool {
	switch {
	case r.Count.Reference > 0 && r.Count.Current > 0:
		return true
	case r.Count.Reference == 0 && r.Count.Current == 0 && r.Extreme.Reference+r.Extreme.Current > 0:
		r.Drift, r.NotComputed = true, true
		r.Note = "only missing and extreme values: not testable, counted as drift"
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

// dedupe drops repeated names, keeping the first (several current files
// list the same extra columns).
func dedupe(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func sum64(x []int64) int64 {
	var s int64
	for _, v := range x {
		s += v
	}
	return s
}
