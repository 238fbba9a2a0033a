package drift

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPipelinedCSVMatchesSequential: with the column types fixed, the
// pipelined CSV read gives the same result (every field of it) and the
// same errors as the one-goroutine read, on awkward files.
func TestPipelinedCSVMatchesSequential(t *testing.T) {
	t.Parallel()
	ref := genMixed(t, "ref.csv", 9000, 0, 0, 11)
	types := map[string]ColumnConfig{"x": {Type: Numerical}, "r": {Type: Numerical}, "cat": {Type: Categorical}, "t": {Type: Numerical}}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var big strings.Builder
	big.WriteString("t,cat,x,r,extra\n")
	for i := range 10000 {
		switch i % 7 {
		case 0:
			big.WriteString("NaN,\"red\",1.5,NA,z\n")
		case 1:
			big.WriteString("inf,\"gr\"\"een\",,3,z\n")
		case 2:
			big.WriteString("1e300,blue,-2.25,4,\"a,b\"\n")
		default:
			big.WriteString("0.5,amber, 3.0 ,2,z\n")
		}
	}
	cases := map[string]string{
		"mixed":   genMixed(t, "cur.csv", 7000, 0.3, 0.5, 12),
		"awkward": big.String(),
		"ragged":  "x,r,cat,t\n1,2,red,3\n1,2,red\n",
		"bad":     strings.Repeat("x,r,cat,t\n", 1) + strings.Repeat("1,2,red,3\n", 5000) + "oops,2,red,3\n",
		"empty":   "x,r,cat,t\n",
		"quoted":  "x,r,cat,t\n\"1.5\",2,\"multi\nline\",3\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cur := body
			if !strings.HasSuffix(body, ".csv") {
				cur = write(name+".csv", body)
			}
			for _, prof := range []bool{false, true} {
				var src Source = File(ref)
				if prof {
					p, err := BuildProfile(context.Background(), File(ref), Config{Columns: types})
					if err != nil {
						t.Fatal(err)
					}
					src = ProfileSource(p)
				}
				pipe, perr := Compare(context.Background(), src, File(cur), Config{Columns: types})
				seq, serr := Compare(context.Background(), src, File(cur), Config{Columns: types, sequential: true})
				if (perr == nil) != (serr == nil) || perr != nil && perr.Error() != serr.Error() {
					t.Fatalf("profile %v: errors differ: pipelined %v, sequential %v", prof, perr, serr)
				}
				a, _ := json.Marshal(pipe)
				b, _ := json.Marshal(seq)
				if string(a) != string(b) {
					t.Errorf("profile %v: results differ:\npipelined  %s\nsequential %s", prof, a, b)
				}
			}
		})
	}
}

// TestFineCurrentMatchesExactCurrent: against a profile's centroids, the
// current values binned into the centroids' sub-intervals (fineHist) give
// the statistics of the values kept one by one within a small part of the
// profile tolerances (one sub-bin: 1/(1024×8) of the data for ks), with
// the same verdicts, and the counts exactly. psi and kl also get 0.1% of
// their value (far apart, they weigh near-empty bins by a logarithm).
func TestFineCurrentMatchesExactCurrent(t *testing.T) {
	t.Parallel()
	ref := genMixed(t, "ref.csv", 30000, 0, 0, 21)
	prof, err := BuildProfile(context.Background(), File(ref), Config{})
	if err != nil {
		t.Fatal(err)
	}
	curs := map[string]string{
		"same":    genMixed(t, "same.csv", 20000, 0, 0, 22),
		"shifted": genMixed(t, "shift.csv", 20000, 0.5, 1, 23),
		"far":     genMixed(t, "far.csv", 3000, 6, 0, 24), // mostly outside the centroids
	}
	// 8 sub-bins an interval by default; a budget of 1.5 MiB leaves room
	// for 4 (the fewest used).
	for _, budget := range []int64{0, 3 << 19} {
		sub := map[int64]float64{0: 8, 3 << 19: 4}[budget]
		tol := map[string]float64{TestKS: 4.0 / (ProfileCentroids * sub), TestWasserstein: 5e-4 * 8 / sub, TestPSI: 2e-3, TestKL: 2e-3, TestJensenShannon: 1e-3}
		compareFine(t, prof, curs, budget, tol)
	}
}

func compareFine(t *testing.T, prof *Profile, curs map[string]string, budget int64, tol map[string]float64) {
	t.Helper()
	for name, cur := range curs {
		for _, test := range []string{TestKS, TestWasserstein, TestPSI, TestKL, TestJensenShannon} {
			cfg := Config{MemoryBudget: budget, Columns: map[string]ColumnConfig{"x": {Test: test}, "t": {Test: test}, "r": {Test: test}}}
			fine, err := Compare(context.Background(), ProfileSource(prof), File(cur), cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.exactCurrent = true
			exact, err := Compare(context.Background(), ProfileSource(prof), File(cur), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if fine.Mode != ModeExact || exact.Mode != ModeExact {
				t.Fatalf("budget %d: modes %s and %s", budget, fine.Mode, exact.Mode)
			}
			for i, f := range fine.Columns {
				e := exact.Columns[i]
				if f.Count != e.Count || f.Missing != e.Missing || f.Extreme != e.Extreme || f.Drift != e.Drift {
					t.Errorf("%s %s column %s: fine %+v, exact %+v", name, test, f.Name, f, e)
				}
				d := math.Abs(f.Statistic - e.Statistic)
				t.Logf("budget %d: %s %s column %s: fine %.6g exact %.6g difference %.2g", budget, name, test, f.Name, f.Statistic, e.Statistic, d)
				// psi and kl of data far apart weigh near-empty bins by
				// a logarithm: a relative part of the tolerance.
				if d > tol[test]+1e-3*math.Abs(e.Statistic) {
					t.Errorf("budget %d: %s %s column %s: fine %v, exact %v: difference %.3g above %g", budget, name, test, f.Name, f.Statistic, e.Statistic, d, tol[test])
				}
			}
		}
	}
}

// TestFineCurrentUnderBudget: a current sample that moved beyond the
// profile's centroids (so its values are kept one by one) and outgrows the
// memory budget switches to histograms like any other, the binned part
// folded in: counts are kept and the drift is still found.
func TestFineCurrentUnderBudget(t *testing.T) {
	t.Parallel()
	ref := genMixed(t, "ref.csv", 20000, 0, 0, 31)
	prof, err := BuildProfile(context.Background(), File(ref), Config{})
	if err != nil {
		t.Fatal(err)
	}
	cur := genMixed(t, "far.csv", 300000, 3, 0, 32)
	res, err := Compare(context.Background(), ProfileSource(prof), File(cur), Config{MemoryBudget: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != ModeApproximate {
		t.Fatalf("mode %s: the budget should have forced histograms", res.Mode)
	}
	for _, c := range res.Columns {
		if c.Count.Current+c.Missing.Current+c.Extreme.Current != 300000 {
			t.Errorf("column %s: %d values, %d missing, %d extreme: not 300000", c.Name, c.Count.Current, c.Missing.Current, c.Extreme.Current)
		}
		if c.Type == Numerical && !c.Drift {
			t.Errorf("column %s: a 3-sigma shift not found (%s %v)", c.Name, c.Test, c.Statistic)
		}
	}
}

// TestFineHostileCentroids: a profile (it comes from a registry) whose
// centroids lie a denormal apart, or span nearly the whole allowed range,
// makes the sub-bins' scales infinite or the products NaN: every value
// still lands in a bin, nothing panics, the counts hold.
func TestFineHostileCentroids(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cur := filepath.Join(dir, "cur.csv")
	var b strings.Builder
	b.WriteString("x\n")
	for _, v := range []string{"0", "5e-324", "1e-320", "0.5", "1", "-1", "2", "1e99", "-1e99", "4.9e-324"} {
		for range 600 {
			b.WriteString(v + "\n")
		}
	}
	if err := os.WriteFile(cur, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, vals := range map[string][]float64{
		"denormal": {0, 5e-324, 1e-323, 1},
		"wide":     {-1.9e100, -1e-300, 0, 1.9e100},
		"two":      {0, 5e-324},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := make([]float64, len(vals))
			for i := range w {
				w[i] = 1000
			}
			lo, hi := vals[0], vals[len(vals)-1]
			var mean float64
			for _, v := range vals {
				mean += v / float64(len(vals))
			}
			p := &Profile{Version: ProfileVersion, Mode: ModeExact, Source: DatasetInfo{Path: "p", Format: "csv", Rows: int64(1000 * len(vals))},
				Columns: []ColumnProfile{{Name: "x", Type: Numerical, Count: int64(1000 * len(vals)), Min: lo, Max: hi, Mean: mean, Std: 0,
					Values: vals, Weights: w}}}
			if err := p.Check(); err != nil {
				t.Fatal(err)
			}
			for _, test := range []string{TestKS, TestWasserstein, TestPSI, TestKL, TestJensenShannon} {
				res, err := Compare(context.Background(), ProfileSource(p), File(cur), Config{Columns: map[string]ColumnConfig{"x": {Test: test}}})
				if err != nil {
					t.Fatal(err)
				}
				if c := res.Columns[0]; c.Count.Current != 6000 {
					t.Errorf("%s: %d current values, want 6000", test, c.Count.Current)
				}
			}
		})
	}
}
