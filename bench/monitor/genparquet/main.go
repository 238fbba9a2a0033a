// Command genparquet writes the wide part of the monitor benchmark: a
// reference and a current Parquet file of float64 columns f000…, drawn as
// bench/drift/gendata draws its CSV columns (column c is normal with mean c
// and sd 1+c%5; in the current file shifted by +0.05 sd, and every other
// column scaled ×1.05 about its mean). Row groups hold -group rows, so the
// writer never buffers the whole file.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/parquet-go/parquet-go"
)

func main() {
	refRows := flag.Int("reference-rows", 100000, "rows of reference.parquet")
	rows := flag.Int("rows", 1000000, "rows of current.parquet")
	cols := flag.Int("cols", 200, "float64 columns")
	group := flag.Int("group", 50000, "rows per row group")
	dir := flag.String("dir", ".", "output directory")
	flag.Parse()
	for i, f := range []struct {
		name string
		rows int
	}{{"reference.parquet", *refRows}, {"current.parquet", *rows}} {
		if err := write(fmt.Sprintf("%s/%s", *dir, f.name), f.rows, *cols, *group, i == 1); err != nil {
			fmt.Fprintln(os.Stderr, "genparquet:", err)
			os.Exit(1)
		}
	}
}

func write(path string, rows, cols, group int, shifted bool) error {
	if cols < 1 || cols > 1000 || rows < 1 || group < 1 {
		return fmt.Errorf("%s: need 1 <= cols <= 1000, rows >= 1 and group >= 1 (got cols %d, rows %d, group %d)", path, cols, rows, group)
	}
	g := parquet.Group{}
	for c := 0; c < cols; c++ {
		g[fmt.Sprintf("f%03d", c)] = parquet.Leaf(parquet.DoubleType)
	}
	schema := parquet.NewSchema("bench", g)
	// The schema orders columns by name; f000… sort in column order.
	index := make([]int, cols)
	for c := range index {
		leaf, ok := schema.Lookup(fmt.Sprintf("f%03d", c))
		if !ok {
			return fmt.Errorf("%s: column f%03d missing from the schema", path, c)
		}
		index[c] = leaf.ColumnIndex
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := parquet.NewWriter(f, schema)
	seed := uint64(1)
	if shifted {
		seed = 2
	}
	rng := rand.New(rand.NewPCG(seed, 42))
	const batch = 1000
	buf := make([]parquet.Row, 0, batch)
	for r := 0; r < rows; r++ {
		row := make(parquet.Row, cols)
		for c := 0; c < cols; c++ {
			v := rng.NormFloat64()*float64(1+c%5) + float64(c)
			if shifted {
				v += 0.05 * float64(1+c%5)
				if c%2 == 1 {
					v = float64(c) + (v-float64(c))*1.05
				}
			}
			row[index[c]] = parquet.DoubleValue(v).Level(0, 0, index[c])
		}
		buf = append(buf, row)
		if len(buf) == batch || r == rows-1 {
			if _, err := w.WriteRows(buf); err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", path, err)
			}
			buf = buf[:0]
		}
		if (r+1)%group == 0 {
			if err := w.Flush(); err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
