package drift

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchRows and benchCols size the monitor benchmarks: bench/drift/gendata's
// shape (normal columns, the current data shifted by 0.05σ, every other
// column 5% wider), small enough to run in seconds.
const (
	benchRows = 200000
	benchCols = 20
)

// writeBenchCSV writes gendata's columns: reference (shifted false) or
// current (true).
func writeBenchCSV(b testing.TB, path string, rows, cols int, shifted bool) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	seed := uint64(1)
	if shifted {
		seed = 2
	}
	rng := rand.New(rand.NewPCG(seed, 42))
	for c := range cols {
		if c > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, "f%02d", c)
	}
	w.WriteByte('\n')
	buf := make([]byte, 0, 32)
	for range rows {
		for c := range cols {
			if c > 0 {
				w.WriteByte(',')
			}
			v := rng.NormFloat64()*float64(1+c%5) + float64(c)
			if shifted {
				v += 0.05 * float64(1+c%5)
				if c%2 == 1 {
					v = float64(c) + (v-float64(c))*1.05
				}
			}
			buf = strconv.AppendFloat(buf[:0], v, 'f', 6, 64)
			w.Write(buf)
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

func benchFiles(b *testing.B) (ref, cur string, prof *Profile) {
	b.Helper()
	dir := b.TempDir()
	ref, cur = filepath.Join(dir, "reference.csv"), filepath.Join(dir, "current.csv")
	writeBenchCSV(b, ref, benchRows, benchCols, false)
	writeBenchCSV(b, cur, benchRows, benchCols, true)
	prof, err := BuildProfile(context.Background(), File(ref), Config{})
	if err != nil {
		b.Fatal(err)
	}
	return ref, cur, prof
}

// BenchmarkMonitorAgainstProfile is monitor's statistical work: the
// current sample against the reference profile.
func BenchmarkMonitorAgainstProfile(b *testing.B) {
	_, cur, prof := benchFiles(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compare(context.Background(), ProfileSource(prof), File(cur), Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDriftAgainstFullReference is its counterpart: the current
// sample against the full reference data.
func BenchmarkDriftAgainstFullReference(b *testing.B) {
	ref, cur, _ := benchFiles(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compare(context.Background(), File(ref), File(cur), Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
