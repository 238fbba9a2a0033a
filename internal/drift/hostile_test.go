package drift

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// writeColumn writes a one-column CSV ("x") of vals plus extra literal
// lines.
func writeColumn(t *testing.T, name string, vals []float64, extra ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("x\n")
	for _, v := range vals {
		fmt.Fprintf(&b, "%.6f\n", v)
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return writeFile(t, name, b.String())
}

func normals(n int, mu float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64() + mu
	}
	return out
}

// TestSentinelDoesNotHideShift: one MaxFloat64 sentinel in each file must
// not turn a 5-sigma shift into "no drift" (the standard deviation
// overflowed and the normed Wasserstein distance became 0), whatever the
// test; the sentinels are counted as extreme and said so.
func TestSentinelDoesNotHideShift(t *testing.T) {
	t.Parallel()
	const sentinel = "1.7976931348623157e308"
	for _, neg := range []bool{false, true} {
		s := sentinel
		if neg {
			s = "-" + sentinel
		}
		ref := writeColumn(t, "ref.csv", normals(2000, 0, 1), s)
		cur := writeColumn(t, "cur.csv", normals(2000, 5, 2), s)
		for _, test := range []string{"", TestWasserstein, TestKS, TestPSI, TestKL, TestJensenShannon} {
			t.Run(fmt.Sprintf("%s/neg=%v", test, neg), func(t *testing.T) {
				t.Parallel()
				cfg := Config{Columns: map[string]ColumnConfig{"x": {Test: test}}}
				res, err := Compare(context.Background(), File(ref), File(cur), cfg)
				if err != nil {
					t.Fatal(err)
				}
				c := res.Columns[0]
				if !c.Drift || c.NotComputed {
					t.Fatalf("5-sigma shift with a sentinel: %+v, want drift (computed)", c)
				}
				if c.Extreme != (Missing{Reference: 1, Current: 1}) || c.Count != (Missing{Reference: 2000, Current: 2000}) {
					t.Errorf("extreme %+v count %+v, want 1/1 extreme and 2000/2000 tested", c.Extreme, c.Count)
				}
				if !strings.Contains(c.Note, "extreme") {
					t.Errorf("note %q does not mention the extreme values", c.Note)
				}
			})
		}
	}
}

// TestSentinelApproximateMode: the same in the bounded-memory mode.
func TestSentinelApproximateMode(t *testing.T) {
	t.Parallel()
	s := "1.7976931348623157e308"
	ref := writeColumn(t, "ref.csv", normals(20000, 0, 3), s)
	cur := writeColumn(t, "cur.csv", normals(20000, 5, 4), s)
	res, err := Compare(context.Background(), File(ref), File(cur), Config{MemoryBudget: 32 << 10, ExtraTests: []string{TestKS, TestPSI, TestKL}})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Columns[0]
	if res.Mode != ModeApproximate || !c.Drift || c.Extreme.Reference != 1 || c.Extreme.Current != 1 {
		t.Fatalf("mode %s column %+v, want approximate, drift, 1/1 extreme", res.Mode, c)
	}
	for _, e := range c.Extra {
		if !e.Drift || e.NotComputed {
			t.Errorf("extra %s: %+v, want drift", e.Test, e)
		}
	}
}

// TestNear1e308DoesNotPanic: values near ±1e308 made psi and kl index
// out of range (the histogram's range overflowed to +Inf); whatever such
// values are, every test returns a result and never panics, in Compare and
// in the binning itself.
func TestNear1e308DoesNotPanic(t *testing.T) {
	t.Parallel()
	vals := make([]float64, 0, 60)
	for i := range 50 {
		vals = append(vals, float64(i))
	}
	ref := writeColumn(t, "ref.csv", vals, "1e308", "-1e308", "1.5e308")
	cur := writeColumn(t, "cur.csv", vals[10:], "-1.7e308", "1e308", "9e307")
	for _, test := range []string{TestPSI, TestKL, TestJensenShannon, TestWasserstein, TestKS} {
		t.Run(test, func(t *testing.T) {
			t.Parallel()
			res, err := Compare(context.Background(), File(ref), File(cur), Config{Columns: map[string]ColumnConfig{"x": {Test: test}}})
			if err != nil {
				t.Fatal(err)
			}
			c := res.Columns[0]
			if c.Extreme != (Missing{Reference: 3, Current: 3}) {
				t.Errorf("extreme %+v, want 3/3", c.Extreme)
			}
			if c.NotComputed {
				t.Errorf("not computed: %+v", c)
			}
		})
	}
	// The binning on its own, with a range that overflows.
	for _, pair := range [][2][]float64{
		{{-1e308, 0, 1e308}, {-1.7e308, 1.7e308}},
		{{-math.MaxFloat64, math.MaxFloat64}, {0}},
	} {
		vals := append([]float64(nil), pair[0]...)
		for i := range 30 {
			vals = append(vals, float64(i))
		}
		sortFloatsSimple(vals)
		cur := append([]float64(nil), pair[1]...)
		sortFloatsSimple(cur)
		rp, cp := binSortedExact(vals, cur)
		if sum(rp) != float64(len(vals)) || sum(cp) != float64(len(cur)) {
			t.Errorf("binned %v/%v of %d/%d values", sum(rp), sum(cp), len(vals), len(cur))
		}
	}
}

func sum(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s
}

func sortFloatsSimple(x []float64) {
	var scratch []uint64
	sortFloats(x, &scratch)
}

// TestNonFiniteCounted: ±Inf and NaN are counted apart from the other
// missing markers, in CSV and in Parquet.
func TestNonFiniteCounted(t *testing.T) {
	t.Parallel()
	vals := normals(100, 0, 5)
	ref := writeColumn(t, "ref.csv", vals, "inf", "-Inf", "NA", "1e999")
	cur := writeColumn(t, "cur.csv", vals, "NA", "-inf")
	res, err := Compare(context.Background(), File(ref), File(cur), Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Columns[0]
	if c.NonFinite != (Missing{Reference: 3, Current: 1}) || c.Missing != (Missing{Reference: 4, Current: 2}) {
		t.Fatalf("nonFinite %+v missing %+v, want 3/1 non-finite within 4/2 missing", c.NonFinite, c.Missing)
	}
	rows := []pqRow{{X: math.Inf(1), Cat: "a"}, {X: math.NaN(), Cat: "b"}, {X: 1e200, Cat: "a"}}
	for i := range 40 {
		rows = append(rows, pqRow{X: float64(i + 1), N: int64(i), Cat: "a"}) // 0 would be null (optional)
	}
	p := writeParquet(t, "ref.parquet", rows)
	res, err = Compare(context.Background(), File(p), File(p), Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Columns {
		if c.Name == "x" && (c.NonFinite.Reference != 2 || c.Extreme.Reference != 1 || c.Count.Reference != 40) {
			t.Fatalf("parquet x: %+v, want 2 non-finite, 1 extreme, 40 tested", c)
		}
	}
}

// heapPeak runs f while sampling the live heap and returns the largest
// value seen above the heap before f.
func heapPeak(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			mu.Lock()
			peak = max(peak, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}

// TestMemoryBudgetWideFile: 100,000 columns × 3 rows with a 64 MiB budget
// took 2.7 GB (every column reserved a 512 KiB chunk for its first value).
// The heap above the baseline, less the result itself (the output, 232
// bytes a column), must stay within the budget.
func TestMemoryBudgetWideFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes two 2 MB files with 100,000 columns")
	}
	cols := 100000
	dir := t.TempDir()
	write := func(name string, shift float64) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for c := range cols {
			if c > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, "c%d", c)
		}
		w.WriteByte('\n')
		for r := range 3 {
			for c := range cols {
				if c > 0 {
					w.WriteByte(',')
				}
				fmt.Fprintf(w, "%d", r+c%7+int(shift))
			}
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	ref, cur := write("ref.csv", 0), write("cur.csv", 1)
	const budget = 64 << 20
	// Collect often so that the sampled heap is close to what is live
	// (with the default GOGC the heap may grow to twice that).
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	var res *Result
	var err error
	peak := heapPeak(func() {
		res, err = Compare(context.Background(), File(ref), File(cur), Config{MemoryBudget: budget, Workers: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Columns) != cols {
		t.Fatalf("%d columns, want %d", len(res.Columns), cols)
	}
	out := uint64(cols) * uint64(unsafe.Sizeof(ColumnResult{}))
	t.Logf("peak heap above baseline: %.1f MiB, of which the result %.1f MiB (budget 64 MiB), mode %s", float64(peak)/(1<<20), float64(out)/(1<<20), res.Mode)
	// The budget bounds what the statistics hold; the sampled heap also
	// holds garbage not yet collected, which depends on GC timing (under
	// load a run peaked at 96 MiB). Half the budget again is allowed for
	// that: the code before the budget held 2.7 GB here.
	if limit := uint64(budget + budget/2); peak-out > limit {
		t.Fatalf("peak heap %.1f MiB less the result %.1f MiB exceeds the 64 MiB budget by more than GC slack (limit %d MiB)", float64(peak)/(1<<20), float64(out)/(1<<20), limit>>20)
	}
}

// TestMemoryBudgetTooSmall: a budget that cannot hold even the per-column
// summaries is refused with a message saying what it needs, not exceeded.
func TestMemoryBudgetTooSmall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ref := genCSV(t, dir, "ref.csv", 5000, 50, 0, 1)
	cur := genCSV(t, dir, "cur.csv", 5000, 50, 0.3, 2)
	_, err := Compare(context.Background(), File(ref), File(cur), Config{MemoryBudget: 16 << 10})
	if err == nil || !strings.Contains(err.Error(), "memory budget") {
		t.Fatalf("err = %v, want a memory budget refusal", err)
	}
}

// FuzzBinnedTests: any finite values, however extreme, are binned into
// range and scored by every numeric test without a panic.
func FuzzBinnedTests(f *testing.F) {
	f.Add(1e308, -1e308, 0.5, math.MaxFloat64, -math.MaxFloat64, 1.0)
	f.Add(0.0, 0.0, 0.0, 1e-308, 5e-324, -5e-324)
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g float64) {
		var ref, cur []float64
		for _, v := range []float64{a, b, c} {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				ref = append(ref, v)
			}
		}
		for _, v := range []float64{d, e, g} {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				cur = append(cur, v)
			}
		}
		for i := range 25 {
			ref = append(ref, float64(i))
			cur = append(cur, float64(i)/2)
		}
		sortFloatsSimple(ref)
		sortFloatsSimple(cur)
		rp, cp := binSortedExact(ref, cur)
		if sum(rp) != float64(len(ref)) || sum(cp) != float64(len(cur)) {
			t.Fatalf("binned %v/%v of %d/%d", sum(rp), sum(cp), len(ref), len(cur))
		}
		s := &numericSample{r: exactSide(ref), c: exactSide(cur)}
		for _, name := range []string{TestKS, TestWasserstein, TestPSI, TestKL, TestJensenShannon} {
			d, _ := lookupTest(name)
			_ = d.numeric(s)
		}
	})
}

// TestApproximateParquetColumnByColumn: Parquet is read column by column,
// so when the budget runs out in the first column the others have no
// values to set their histogram's range; they must not be binned over an
// arbitrary [0, 1] (everything would land in the overflow bins).
func TestApproximateParquetColumnByColumn(t *testing.T) {
	t.Parallel()
	mk := func(name string, shift float64, seed uint64) string {
		rng := rand.New(rand.NewPCG(seed, 5))
		rows := make([]pqRow, 30000)
		for i := range rows {
			rows[i] = pqRow{X: rng.NormFloat64() + 10 + shift, N: int64(rng.NormFloat64()*300 + 5000 + shift*300), Cat: "a"}
		}
		return writeParquet(t, name, rows)
	}
	ref, cur := mk("ref.parquet", 0, 1), mk("cur.parquet", 0.3, 2)
	cfg := Config{Columns: map[string]ColumnConfig{"cat": {Ignore: true}, "flag": {Ignore: true}}, ExtraTests: []string{TestKS}}
	exact, err := Compare(context.Background(), File(ref), File(cur), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MemoryBudget = 200 << 10
	approx, err := Compare(context.Background(), File(ref), File(cur), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if approx.Mode != ModeApproximate {
		t.Fatalf("mode %s", approx.Mode)
	}
	for i, e := range exact.Columns {
		a := approx.Columns[i]
		if math.Abs(a.Statistic-e.Statistic) > 0.01 || a.Drift != e.Drift || math.Abs(a.Extra[0].Statistic-e.Extra[0].Statistic) > 0.005 {
			t.Errorf("%s: approximate %v (ks %v), exact %v (ks %v)", e.Name, a.Statistic, a.Extra[0].Statistic, e.Statistic, e.Extra[0].Statistic)
		}
	}
}

// TestMemoryBudgetCategories: category dictionaries cannot be binned; a
// column with more distinct labels than the budget holds is refused,
// naming it, instead of growing without bound.
func TestMemoryBudgetCategories(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("x,id\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "%d,user-%08d\n", i%10, i)
	}
	p := writeFile(t, "ids.csv", b.String())
	_, err := Compare(context.Background(), File(p), File(p), Config{MemoryBudget: 256 << 10, Columns: map[string]ColumnConfig{"id": {Type: Categorical}}})
	if err == nil || !strings.Contains(err.Error(), `column "id"`) || !strings.Contains(err.Error(), "ignore") {
		t.Fatalf("err = %v, want a refusal naming column id", err)
	}
	if _, err := Compare(context.Background(), File(p), File(p), Config{MemoryBudget: 256 << 10, Columns: map[string]ColumnConfig{"id": {Ignore: true}}}); err != nil {
		t.Fatalf("with id ignored: %v", err)
	}
}
