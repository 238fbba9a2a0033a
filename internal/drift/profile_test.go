package drift

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// genMixed writes rows of: a continuous normal column "x" (mean mu), a
// rounded column "r" with few distinct values, a categorical column "cat"
// whose shares move with skew, and a heavy-tailed column "t".
func genMixed(t testing.TB, name string, rows int, mu, skew float64, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	var b strings.Builder
	b.WriteString("x,r,cat,t\n")
	cats := []string{"red", "green", "blue", "amber", "violet"}
	for range rows {
		k := int(math.Abs(rng.NormFloat64()*(1.5+skew))) % len(cats)
		fmt.Fprintf(&b, "%.6f,%d,%s,%.6f\n", rng.NormFloat64()+mu, int(math.Round(rng.NormFloat64()*3+mu*2)), cats[k], rng.ExpFloat64()*rng.ExpFloat64()*(1+mu))
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Tolerances of profile-based statistics against the full reference, for
// continuous columns summarised by ProfileCentroids equal-mass centroids
// (docs/monitoring.md explains them). Columns with at most that many
// distinct values and categorical columns are exact.
const (
	tolKS          = 2.0 / ProfileCentroids // a centroid's mass moves the CDF at most by its share
	tolWasserstein = 0.005
	tolBinned      = 0.01 // psi, kl, jensenshannon
)

// TestProfileAgreesWithFullReference: on seeded data, drift against the
// profile equals drift against the full reference exactly for categorical
// columns (chi-squared, jensenshannon, psi, kl) and for numerical columns
// with few distinct values, and stays within the stated tolerances for
// continuous ones, with the same verdicts.
func TestProfileAgreesWithFullReference(t *testing.T) {
	t.Parallel()
	ref := genMixed(t, "ref.csv", 20000, 0, 0, 1)
	curs := map[string]string{
		"same":    genMixed(t, "same.csv", 5000, 0, 0, 2),
		"shifted": genMixed(t, "shift.csv", 5000, 0.5, 1, 3),
		"small":   genMixed(t, "small.csv", 400, 0.1, 0.2, 4),
	}
	prof, err := BuildProfile(context.Background(), File(ref), Config{})
	if err != nil {
		t.Fatal(err)
	}
	// The profile survives its own encoding.
	var buf bytes.Buffer
	if err := WriteProfile(&buf, prof); err != nil {
		t.Fatal(err)
	}
	t.Logf("profile: %d bytes for %d columns", buf.Len(), len(prof.Columns))
	if buf.Len() > 4*32<<10 {
		t.Errorf("profile is %d bytes: more than 32 KiB a column", buf.Len())
	}
	parsed, err := ParseProfile(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for name, cur := range curs {
		for _, test := range []string{TestKS, TestWasserstein, TestPSI, TestKL, TestJensenShannon, TestChiSquare} {
			t.Run(name+"/"+test, func(t *testing.T) {
				t.Parallel()
				cfg := Config{Columns: map[string]ColumnConfig{}}
				for _, c := range []string{"x", "r", "t"} {
					if test != TestChiSquare {
						cfg.Columns[c] = ColumnConfig{Test: test}
					}
				}
				if test != TestKS && test != TestWasserstein {
					cfg.Columns["cat"] = ColumnConfig{Test: test}
				}
				full, err := Compare(context.Background(), File(ref), File(cur), cfg)
				if err != nil {
					t.Fatal(err)
				}
				byProf, err := Compare(context.Background(), ProfileSource(parsed), File(cur), cfg)
				if err != nil {
					t.Fatal(err)
				}
				for i, f := range full.Columns {
					p := byProf.Columns[i]
					if f.Name != p.Name || f.Test != p.Test || f.Count != p.Count || f.Missing != p.Missing {
						t.Fatalf("column %s: full %+v, profile %+v", f.Name, f, p)
					}
					exact := f.Name == "cat" || f.Name == "r"
					tol := map[string]float64{TestKS: tolKS, TestWasserstein: tolWasserstein}[f.Test]
					if tol == 0 {
						tol = tolBinned
					}
					if exact {
						tol = 0
					}
					if !exact {
						t.Logf("column %s %s: full %.6g profile %.6g difference %.2g", f.Name, f.Test, f.Statistic, p.Statistic, math.Abs(f.Statistic-p.Statistic))
					}
					if d := math.Abs(f.Statistic - p.Statistic); d > tol || (exact && f.Statistic != p.Statistic) {
						t.Errorf("column %s %s: full %v, profile %v (difference %.3g, tolerance %g)", f.Name, f.Test, f.Statistic, p.Statistic, d, tol)
					}
					if exact && (f.PValue == nil) != (p.PValue == nil) || exact && f.PValue != nil && *f.PValue != *p.PValue {
						t.Errorf("column %s %s: p-values differ: %v, %v", f.Name, f.Test, f.PValue, p.PValue)
					}
					if f.Drift != p.Drift {
						t.Errorf("column %s %s: verdict full %v, profile %v (%v vs %v)", f.Name, f.Test, f.Drift, p.Drift, f.Statistic, p.Statistic)
					}
				}
			})
		}
	}
}

func TestProfileColumnTypesHold(t *testing.T) {
	t.Parallel()
	ref := writeFile(t, "ref.csv", "a,b\n1,x\n2,y\n3,x\n")
	prof, err := BuildProfile(context.Background(), File(ref), Config{})
	if err != nil {
		t.Fatal(err)
	}
	cur := writeFile(t, "cur.csv", "b,a\nx,1\ny,seven\n")
	_, err = Compare(context.Background(), ProfileSource(prof), File(cur), Config{})
	if err == nil || !strings.Contains(err.Error(), `"seven"`) {
		t.Fatalf("text in a numerical column of the profile: err = %v", err)
	}
	if _, err := Compare(context.Background(), ProfileSource(prof), File(cur), Config{Columns: map[string]ColumnConfig{"a": {Type: Categorical}}}); err == nil {
		t.Fatal("a configured type that contradicts the profile was accepted")
	}
	if _, err := Compare(context.Background(), File(ref), ProfileSource(prof), Config{}); err == nil {
		t.Fatal("a profile as the current data was accepted")
	}
}

func TestParseProfileRefusesBadProfiles(t *testing.T) {
	t.Parallel()
	ok := `{"version":1,"source":{"path":"r","format":"csv","rows":3},"mode":"exact","columns":[{"name":"a","type":"numerical","missing":0,"count":3,"exact":true,"min":1,"max":3,"mean":2,"std":0.8,"values":[1,2,3],"weights":[1,1,1]}]}`
	if _, err := ParseProfile(strings.NewReader(ok)); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"version":      strings.Replace(ok, `"version":1`, `"version":2`, 1),
		"unsorted":     strings.Replace(ok, `[1,2,3]`, `[1,3,2]`, 1),
		"weights":      strings.Replace(ok, `[1,1,1]`, `[1,1,5]`, 1),
		"negative":     strings.Replace(ok, `[1,1,1]`, `[1,-1,3]`, 1),
		"outside":      strings.Replace(ok, `"max":3`, `"max":2`, 1),
		"type":         strings.Replace(ok, `"numerical"`, `"text"`, 1),
		"unknown":      strings.Replace(ok, `"mode"`, `"moda"`, 1),
		"rows":         strings.Replace(ok, `"rows":3`, `"rows":2`, 1),
		"no columns":   `{"version":1,"source":{"rows":0},"columns":[]}`,
		"dup":          strings.Replace(ok, `]}`, `,{"name":"a","type":"categorical","missing":0,"count":0}]}`, 1),
		"categories":   `{"version":1,"source":{"rows":3},"columns":[{"name":"c","type":"categorical","missing":0,"count":3,"categories":[{"label":"x","count":2}]}]}`,
		"not json":     `{"version":1,`,
		"values w/o n": strings.Replace(ok, `"count":3`, `"count":0`, 1),
	} {
		if _, err := ParseProfile(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseProfile: whatever the bytes, ParseProfile returns a checked
// profile or an error, and a checked profile can be compared against
// without a panic.
func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(`{"version":1,"source":{"path":"r","format":"csv","rows":3},"mode":"exact","columns":[{"name":"a","type":"numerical","missing":0,"count":3,"exact":true,"min":1,"max":3,"mean":2,"std":0.8,"values":[1,2,3],"weights":[1,1,1]}]}`))
	f.Add([]byte(`{"version":1,"source":{"rows":3},"columns":[{"name":"a","type":"categorical","missing":0,"count":3,"categories":[{"label":"x","count":2},{"label":"y","count":1}]}]}`))
	cur := filepath.Join(f.TempDir(), "cur.csv")
	if err := os.WriteFile(cur, []byte("a\n1\n2\nx\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfile(bytes.NewReader(b))
		if err != nil {
			return
		}
		_, _ = Compare(context.Background(), ProfileSource(p), File(cur), Config{ExtraTests: []string{TestKS, TestPSI, TestJensenShannon}})
	})
}

// TestFilesGzipJSONL: the current data from several files — CSV, gzipped
// CSV and JSON Lines (gzipped too) — reads as the one file holding the
// same rows.
func TestFilesGzipJSONL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ref := writeFile(t, "ref.csv", "a,b\n1,x\n2,y\n3,x\n4,z\n")
	whole := writeFile(t, "whole.csv", "a,b\n1,x\n5,y\n7,x\n2,z\n")
	gzw := func(name string, data string) string {
		p := filepath.Join(dir, name)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(data))
		zw.Close()
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	part1 := gzw("p1.csv.gz", "b,a,extra\nx,1,q\ny,5,q\n")
	part2 := writeFile(t, "p2.jsonl", `{"a": 7, "b": "x", "extra": [1]}`+"\n\n")
	part3 := gzw("p3.ndjson.gz", `{"b": "z", "a": 2}`+"\n")
	want, err := Compare(context.Background(), File(ref), File(whole), Config{})
	if err != nil {
		t.Fatal(err)
	}
	paths, err := ExpandPaths([]string{part1, filepath.Join(filepath.Dir(part2), "p2.json*"), part3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Compare(context.Background(), File(ref), Files(paths...), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Current.Rows != 4 || len(got.ExtraColumns) != 1 {
		t.Fatalf("rows %d extra %v", got.Current.Rows, got.ExtraColumns)
	}
	for i := range want.Columns {
		w, g := want.Columns[i], got.Columns[i]
		if w.Statistic != g.Statistic || w.Count != g.Count {
			t.Errorf("column %s: whole %+v, parts %+v", w.Name, w, g)
		}
	}
	if _, err := ExpandPaths([]string{filepath.Join(dir, "none*.csv")}); err == nil {
		t.Error("a pattern matching nothing was accepted")
	}
	bad := writeFile(t, "bad.jsonl", `{"a": {"x": 1}, "b": "x"}`+"\n")
	if _, err := Compare(context.Background(), File(ref), File(bad), Config{}); err == nil || !strings.Contains(err.Error(), "bad.jsonl:1") {
		t.Errorf("nested JSON value: err = %v", err)
	}
}

// FuzzJSONL: arbitrary bytes as JSON Lines current data never panic.
func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":"x"}` + "\n" + `{"a":null}`))
	f.Add([]byte(`{"b":"x","a":1e999}` + "\n" + `[1]`))
	dir := f.TempDir()
	ref := filepath.Join(dir, "ref.csv")
	if err := os.WriteFile(ref, []byte("a,b\n1,x\n2,y\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "cur.jsonl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Compare(context.Background(), File(ref), File(p), Config{})
	})
}

// TestMergeProfiles: the profile of two halves merged is the profile of
// the whole: exactly for categorical and few-valued columns and the
// moments, and within the stated tolerances for drift on continuous ones.
func TestMergeProfiles(t *testing.T) {
	t.Parallel()
	a := genMixed(t, "a.csv", 10000, 0, 0, 21)
	b := genMixed(t, "b.csv", 10000, 0, 0, 22)
	whole := filepath.Join(t.TempDir(), "whole.csv")
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if err := os.WriteFile(whole, append(ab, bb[bytes.IndexByte(bb, '\n')+1:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	pa, err := BuildProfile(context.Background(), File(a), Config{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := BuildProfile(context.Background(), File(b), Config{})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := BuildProfile(context.Background(), File(whole), Config{})
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Merge(pa, pb)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range pw.Columns {
		m := merged.Columns[i]
		if m.Count != w.Count || m.Min != w.Min || m.Max != w.Max || math.Abs(m.Mean-w.Mean) > 1e-12*math.Max(1, math.Abs(w.Mean)) || math.Abs(m.Std-w.Std) > 1e-9*w.Std {
			t.Errorf("column %s: merged count %d min %v max %v mean %v std %v, whole %d %v %v %v %v", w.Name, m.Count, m.Min, m.Max, m.Mean, m.Std, w.Count, w.Min, w.Max, w.Mean, w.Std)
		}
		if (w.Name == "cat" || w.Name == "r") && fmt.Sprint(m.Categories, m.Values, m.Weights, m.Exact) != fmt.Sprint(w.Categories, w.Values, w.Weights, w.Exact) {
			t.Errorf("column %s: merged %+v, whole %+v", w.Name, m, w)
		}
	}
	cur := genMixed(t, "cur.csv", 5000, 0.5, 1, 23)
	cfg := Config{ExtraTests: []string{TestKS, TestPSI, TestJensenShannon}}
	rw, err := Compare(context.Background(), ProfileSource(pw), File(cur), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := Compare(context.Background(), ProfileSource(merged), File(cur), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range rw.Columns {
		m := rm.Columns[i]
		if math.Abs(m.Statistic-w.Statistic) > tolWasserstein || m.Drift != w.Drift {
			t.Errorf("column %s: merged %v, whole %v", w.Name, m.Statistic, w.Statistic)
		}
		for j := range w.Extra {
			tol := map[string]float64{TestKS: tolKS}[w.Extra[j].Test]
			if tol == 0 {
				tol = tolBinned
			}
			if math.Abs(m.Extra[j].Statistic-w.Extra[j].Statistic) > tol {
				t.Errorf("column %s %s: merged %v, whole %v", w.Name, w.Extra[j].Test, m.Extra[j].Statistic, w.Extra[j].Statistic)
			}
		}
	}
	bad := *pb
	bad.Columns = bad.Columns[:2]
	if _, err := Merge(pa, &bad); err == nil {
		t.Error("profiles of different columns merged")
	}
}

// TestScanColumns: the named columns of CSV, gzipped JSON Lines and
// Parquet files stream as text, missing values as "".
func TestScanColumns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csvPath := writeFile(t, "a.csv", "y,x,cat\n1,2.5,a\nNA,3,\n")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"cat":"b","x":4,"y":null}` + "\n" + `{"x":"5"}` + "\n"))
	zw.Close()
	jsonPath := filepath.Join(dir, "b.jsonl.gz")
	if err := os.WriteFile(jsonPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pq := writeParquet(t, "c.parquet", []pqRow{{X: 6, N: 7, Cat: "c", Flag: true}, {N: 8, Cat: "d"}})
	var got []string
	err := ScanColumns(context.Background(), []string{csvPath, jsonPath}, []string{"x", "cat"}, func(v []string) error {
		got = append(got, strings.Join(v, "|"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = ScanColumns(context.Background(), []string{pq}, []string{"x", "cat", "n", "flag"}, func(v []string) error {
		got = append(got, strings.Join(v, "|"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "2.5|a 3| 4|b 5| 6|c|7|true |d|8|false"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
	if err := ScanColumns(context.Background(), []string{csvPath}, []string{"nope"}, func([]string) error { return nil }); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing column: %v", err)
	}
}
