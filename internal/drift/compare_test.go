package drift

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// Expected values for testdata/{reference,current}.csv, computed with
// pandas 1.5.3 + SciPy 1.10.1 by testdata/gen.py ("python3 gen.py expect").
var testdataExpect = map[string]map[string][2]float64{ // column → test → {statistic, p}
	"a": {"ks": {0.177696732624263, 9.263765709587427e-12}, "wasserstein": {0.35506503987475546, 0},
		"psi": {0.1754138230109805, 0}, "kl": {0.0805072738672475, 0}, "jensenshannon": {0.14430596219223446, 0}},
	"b": {"ks": {0.05294802867383513, 0.1920551501510797}, "wasserstein": {0.18179158728671935, 0},
		"psi": {0.07262534785664314, 0}, "kl": {0.027818195550404178, 0}, "jensenshannon": {0.09141798414591852, 0}},
	"c": {"chisquare": {231.22118991914405, 7.529682528439366e-50},
		"psi": {2.015865092717267, 0}, "kl": {0.2900942570980877, 0}, "jensenshannon": {0.30978620210233276, 0}},
	"d": {"ks": {0.00753584229390681, 1.0}, "wasserstein": {0.01174371061685529, 0},
		"psi": {0.0011009808629393399, 0}, "kl": {0.0005499404492983182, 0}, "jensenshannon": {0.01173084292010378, 0}},
}

func TestCompareMatchesPandasSciPy(t *testing.T) {
	t.Parallel()
	ref, cur := File("testdata/reference.csv"), File("testdata/current.csv")
	for _, test := range []string{"ks", "wasserstein", "chisquare", "psi", "kl", "jensenshannon"} {
		t.Run(test, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Columns: map[string]ColumnConfig{}}
			for col, tests := range testdataExpect {
				if _, ok := tests[test]; ok {
					cfg.Columns[col] = ColumnConfig{Test: test}
				}
			}
			res, err := Compare(context.Background(), ref, cur, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Columns {
				want, ok := testdataExpect[c.Name][test]
				if !ok {
					continue
				}
				if c.Test != test {
					t.Fatalf("column %s ran %s, want %s", c.Name, c.Test, test)
				}
				if !closeRel(c.Statistic, want[0], 1e-9) {
					t.Errorf("column %s %s statistic = %v, want %v", c.Name, test, c.Statistic, want[0])
				}
				if hasPValue(test) && (c.PValue == nil || !closeRel(*c.PValue, want[1], sigDigits6)) {
					t.Errorf("column %s %s p-value = %v, want %v", c.Name, test, c.PValue, want[1])
				}
			}
		})
	}
}

func TestCompareDefaultsAndReporting(t *testing.T) {
	t.Parallel()
	res, err := Compare(context.Background(), File("testdata/reference.csv"), File("testdata/current.csv"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]ColumnResult{}
	for _, c := range res.Columns {
		byName[c.Name] = c
	}
	// 800 reference rows <= 1000: KS and chi-squared.
	want := map[string]struct {
		typ   ColumnType
		test  string
		drift bool
	}{
		"a": {Numerical, TestKS, true}, "b": {Numerical, TestKS, false},
		"c": {Categorical, TestChiSquare, true}, "d": {Numerical, TestKS, false},
	}
	for name, w := range want {
		c := byName[name]
		if c.Type != w.typ || c.Test != w.test || c.Drift != w.drift {
			t.Errorf("column %s: type %s test %s drift %v, want %s %s %v", name, c.Type, c.Test, c.Drift, w.typ, w.test, w.drift)
		}
	}
	if got := byName["a"].Missing; got != (Missing{Reference: 1, Current: 0}) {
		t.Errorf("a missing = %+v, want 1 in the reference", got)
	}
	c := byName["c"]
	if c.Missing.Current != 1 || c.UnseenCount != 1 || len(c.UnseenCategories) != 1 || c.UnseenCategories[0] != "w" || c.UnseenRows == 0 {
		t.Errorf("c: missing %+v, unseen %v (%d, %d rows), want 1 missing and unseen [w]", c.Missing, c.UnseenCategories, c.UnseenCount, c.UnseenRows)
	}
	if res.DriftedColumns != 2 || res.DriftShare != 0.5 || !res.DatasetDrift || res.Mode != ModeExact {
		t.Errorf("drifted %d share %v dataset %v mode %s, want 2, 0.5, true, exact", res.DriftedColumns, res.DriftShare, res.DatasetDrift, res.Mode)
	}
	if res.Reference.Rows != 800 || res.Current.Rows != 837 {
		t.Errorf("rows %d/%d, want 800/837", res.Reference.Rows, res.Current.Rows)
	}
	// A higher share threshold: no data set drift.
	res, err = Compare(context.Background(), File("testdata/reference.csv"), File("testdata/current.csv"), Config{ShareThreshold: 0.75})
	if err != nil {
		t.Fatal(err)
	}
	if res.DatasetDrift {
		t.Errorf("share %v >= 0.75 reported as drift", res.DriftShare)
	}
}

// writeFile writes content into a temporary file and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareBadData(t *testing.T) {
	t.Parallel()
	good := "x,y\n1,a\n2,b\n"
	cases := []struct {
		name     string
		ref, cur string
		cfg      Config
		want     []string // substrings of the error
	}{
		{"empty reference", "", good, Config{}, []string{"ref.csv", "empty", "header"}},
		{"blank lines only", "\n\n\r\n", good, Config{}, []string{"ref.csv", "empty"}},
		{"header only", "x,y\n", good, Config{}, []string{"ref.csv", "no data rows"}},
		{"missing header", "1,2\n3,4\n", good, Config{}, []string{"ref.csv:1", "missing header"}},
		{"ragged short row", "x,y\n1,a\n2\n", good, Config{}, []string{"ref.csv:3", "row 2", `column "y"`, "ragged"}},
		{"ragged long row", good, "x,y\n1,a,zz\n", Config{}, []string{"cur.csv:2", "row 1", "ragged", "3 fields"}},
		{"non-numeric in declared numerical", "x,y\n1,a\n2,b\n", "x,y\n1,a\n2,b\nthree,c\n", Config{Columns: map[string]ColumnConfig{"x": {Type: Numerical}}}, []string{"cur.csv:4", "row 3", `column "x"`, `"three"`, "declared numerical"}},
		{"column missing in current", good, "x\n1\n", Config{}, []string{"cur.csv", `column "y"`, "missing"}},
		{"duplicate column", "x,x\n1,2\n", good, Config{}, []string{"ref.csv", `"x"`, "twice"}},
		{"unclosed quote", "x,y\n1,\"a\n", good, Config{}, []string{"ref.csv:2", "quoted field not closed"}},
		{"junk after quote", "x,y\n1,\"a\"b\n", good, Config{}, []string{"ref.csv:2", "after the closing quote"}},
		{"unknown test", good, good, Config{Columns: map[string]ColumnConfig{"x": {Test: "t-test"}}}, []string{`column "x"`, "unknown drift test"}},
		{"test for the wrong type", good, good, Config{Columns: map[string]ColumnConfig{"y": {Type: Categorical, Test: TestKS}}}, []string{`column "y"`, "numerical"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ref := writeFile(t, "ref.csv", c.ref)
			cur := writeFile(t, "cur.csv", c.cur)
			_, err := Compare(context.Background(), File(ref), File(cur), c.cfg)
			if err == nil {
				t.Fatalf("no error, want one containing %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Compare(context.Background(), File("testdata/nope.csv"), File("testdata/current.csv"), Config{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestCompareInference(t *testing.T) {
	t.Parallel()
	// "n" starts numeric then turns text in the current file: both data
	// sets become categorical. "q" is quoted text with commas and newlines.
	ref := writeFile(t, "ref.csv", "n,q,e\n1,\"a,b\",\n2,\"line\nbreak\",NA\n2,\"say \"\"hi\"\"\",\n")
	cur := writeFile(t, "cur.csv", "q,n,e,extra\n\"a,b\",1,,9\nzz,oops,null,9\n")
	res, err := Compare(context.Background(), File(ref), File(cur), Config{Columns: map[string]ColumnConfig{"nn": {Type: Numerical}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.UnknownColumns) != 1 || res.UnknownColumns[0] != "nn" {
		t.Errorf("unknown columns %v, want [nn]", res.UnknownColumns)
	}
	got := map[string]ColumnResult{}
	for _, c := range res.Columns {
		got[c.Name] = c
	}
	if got["n"].Type != Categorical || got["n"].Test != TestChiSquare {
		t.Errorf("n: %s/%s, want categorical/chisquare after promotion", got["n"].Type, got["n"].Test)
	}
	if u := got["n"].UnseenCategories; len(u) != 1 || u[0] != "oops" {
		t.Errorf("n unseen = %v, want [oops]", u)
	}
	if u := got["q"].UnseenCategories; len(u) != 1 || u[0] != "zz" {
		t.Errorf("q unseen = %v, want [zz]", u)
	}
	if c := got["e"]; c.Drift || c.Note == "" || c.Missing != (Missing{3, 2}) {
		t.Errorf("e (all missing): %+v, want a note, no drift, 3/2 missing", c)
	}
	if len(res.ExtraColumns) != 1 || res.ExtraColumns[0] != "extra" {
		t.Errorf("extra columns %v, want [extra]", res.ExtraColumns)
	}
}

func TestCompareAllMissingInCurrentIsDrift(t *testing.T) {
	t.Parallel()
	ref := writeFile(t, "ref.csv", "x\n1\n2\n3\n")
	cur := writeFile(t, "cur.csv", "x\nNA\nnull\nnan\n")
	res, err := Compare(context.Background(), File(ref), File(cur), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Columns[0]; !c.Drift || c.Missing.Current != 3 || !res.DatasetDrift {
		t.Errorf("got %+v, want drift with 3 missing", c)
	}
}

// genCSV writes rows of numeric columns drawn from N(mu, 1).
func genCSV(t testing.TB, dir, name string, rows, cols int, mu float64, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	for c := 0; c < cols; c++ {
		if c > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "c%d", c)
	}
	b.WriteByte('\n')
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.6f", rng.NormFloat64()+mu*float64(c%2))
		}
		b.WriteByte('\n')
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApproximateModeTracksExact(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ref := genCSV(t, dir, "ref.csv", 30000, 4, 0, 1)
	cur := genCSV(t, dir, "cur.csv", 30000, 4, 0.3, 2)
	cfg := Config{ExtraTests: []string{TestKS, TestPSI}}
	exact, err := Compare(context.Background(), File(ref), File(cur), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MemoryBudget = 1 << 20 // forces histograms (4096 bins) part-way through the reference
	approx, err := Compare(context.Background(), File(ref), File(cur), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if exact.Mode != ModeExact || approx.Mode != ModeApproximate {
		t.Fatalf("modes %s/%s, want exact/approximate", exact.Mode, approx.Mode)
	}
	for i, e := range exact.Columns {
		a := approx.Columns[i]
		if math.Abs(a.Statistic-e.Statistic) > 0.01 || a.Drift != e.Drift {
			t.Errorf("%s wasserstein: approximate %v (drift %v), exact %v (drift %v)", e.Name, a.Statistic, a.Drift, e.Statistic, e.Drift)
		}
		if math.Abs(a.Extra[0].Statistic-e.Extra[0].Statistic) > 0.005 || a.Extra[0].Drift != e.Extra[0].Drift {
			t.Errorf("%s ks: approximate %v, exact %v", e.Name, a.Extra[0].Statistic, e.Extra[0].Statistic)
		}
		if math.Abs(a.Extra[1].Statistic-e.Extra[1].Statistic) > 0.02 {
			t.Errorf("%s psi: approximate %v, exact %v", e.Name, a.Extra[1].Statistic, e.Extra[1].Statistic)
		}
	}
}

type pqRow struct {
	X    float64 `parquet:"x,optional"`
	N    int64   `parquet:"n"`
	Cat  string  `parquet:"cat"`
	Flag bool    `parquet:"flag"`
}

func writeParquet(t *testing.T, name string, rows []pqRow) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[pqRow](f)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParquetMatchesCSV(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	var csvRef, csvCur strings.Builder
	var pr, pc []pqRow
	gen := func(n int, shift float64, rows *[]pqRow, b *strings.Builder) {
		b.WriteString("x,n,cat,flag\n")
		for i := 0; i < n; i++ {
			r := pqRow{X: rng.NormFloat64() + shift, N: int64(rng.IntN(50)), Cat: []string{"a", "b", "c"}[rng.IntN(3)], Flag: rng.IntN(4) == 0}
			*rows = append(*rows, r)
			fmt.Fprintf(b, "%s,%d,%s,%t\n", strconvG(r.X), r.N, r.Cat, r.Flag)
		}
	}
	gen(1500, 0, &pr, &csvRef)
	gen(1300, 0.2, &pc, &csvCur)
	pres, err := Compare(context.Background(), File(writeParquet(t, "ref.parquet", pr)), File(writeParquet(t, "cur.parquet", pc)), Config{})
	if err != nil {
		t.Fatal(err)
	}
	cres, err := Compare(context.Background(), File(writeFile(t, "ref.csv", csvRef.String())), File(writeFile(t, "cur.csv", csvCur.String())), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pres.Columns) != 4 {
		t.Fatalf("parquet columns %d, want 4", len(pres.Columns))
	}
	for i, p := range pres.Columns {
		c := cres.Columns[i]
		if p.Name != c.Name || p.Type != c.Type || p.Test != c.Test || p.Statistic != c.Statistic || p.Drift != c.Drift {
			t.Errorf("parquet %+v != csv %+v", p, c)
		}
	}
	if pres.Reference.Format != "parquet" || pres.Reference.Rows != 1500 {
		t.Errorf("reference info %+v", pres.Reference)
	}
}

func strconvG(x float64) string { return fmt.Sprint(x) }

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1GiB": 1 << 30, "512MiB": 512 << 20, "200MB": 200e6, "64k": 64 << 10, "1024": 1024, "1.5GiB": 3 << 29} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "12 parsecs", "-1MB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) succeeded", in)
		}
	}
}

// BenchmarkDrift1M is drift on 1,000,000 rows × 20 numeric columns from
// CSV (normed Wasserstein, plus KS as an extra test), the workload of
// bench/drift/run.sh. The data is generated once into a temporary
// directory (about 380 MB); -short uses 100,000 rows.
func BenchmarkDrift1M(b *testing.B) {
	rows := 1000000
	if testing.Short() {
		rows = 100000
	}
	dir := b.TempDir()
	ref := genCSV(b, dir, "ref.csv", rows, 20, 0, 1)
	cur := genCSV(b, dir, "cur.csv", rows, 20, 0.05, 2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Compare(context.Background(), File(ref), File(cur), Config{ExtraTests: []string{TestKS}}); err != nil {
			b.Fatal(err)
		}
	}
}

func osWriteFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
