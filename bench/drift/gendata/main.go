// Command gendata writes the drift benchmark's data: a reference and a
// current CSV of ROWS rows × COLS numeric columns, the current one shifted
// slightly (mean +0.05 sd and scale ×1.05 on every other column).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	rows := flag.Int("rows", 1000000, "rows per file")
	cols := flag.Int("cols", 20, "numeric columns")
	dir := flag.String("dir", ".", "output directory")
	flag.Parse()
	for i, name := range []string{"reference.csv", "current.csv"} {
		if err := write(fmt.Sprintf("%s/%s", *dir, name), *rows, *cols, i == 1); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func write(path string, rows, cols int, shifted bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	seed := uint64(1)
	if shifted {
		seed = 2
	}
	rng := rand.New(rand.NewPCG(seed, 42))
	for c := 0; c < cols; c++ {
		if c > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, "f%02d", c)
	}
	w.WriteByte('\n')
	buf := make([]byte, 0, 32)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
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
		return err
	}
	return f.Close()
}
