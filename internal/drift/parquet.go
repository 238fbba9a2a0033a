package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// readParquet reads one Parquet file's flat columns into the columns.
func (l *loader) readParquet(ctx context.Context, path string, ds int) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("opening data file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("reading data file: %w", err)
	}
	if st.Size() == 0 {
		return 0, &DataError{File: path, Err: errors.New("the file is empty: expected a Parquet file")}
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return 0, &DataError{File: path, Err: fmt.Errorf("not a readable Parquet file: %w", err)}
	}
	schema := pf.Schema()
	var names []string
	var leaves []parquet.LeafColumn
	for _, p := range schema.Columns() {
		leaf, ok := schema.Lookup(p...)
		if !ok || leaf.MaxRepetitionLevel > 0 {
			continue // repeated (list) columns are not tabular data
		}
		names = append(names, strings.Join(p, "."))
		leaves = append(leaves, leaf)
	}
	if len(names) == 0 {
		return 0, &DataError{File: path, Err: errors.New("the Parquet file has no flat columns")}
	}
	if ds == refSet {
		err = l.defineColumns(path, names)
		// Physical types decide inference in Parquet.
		for i, n := range names {
			c := l.byName[n]
			if c == nil || c.cfg.Ignore || c.declared {
				continue
			}
			if !isNumericKind(leaves[i].Node.Type().Kind()) {
				c.typ, c.cat = Categorical, newCatStore()
			}
		}
	} else {
		err = l.matchColumns(path, names)
	}
	if err != nil {
		return 0, err
	}
	rows := pf.NumRows()
	if rows == 0 {
		return 0, &DataError{File: path, Err: errors.New("the file has no data rows")}
	}
	// The row count is known: reserve exactly, when it fits the budget.
	var numeric int64
	for _, c := range l.cols {
		if c.typ == Numerical && !(ds == curSet && l.fineEligible(c)) {
			numeric++
		}
	}
	if !l.approx && l.used+8*numeric*rows <= l.cfg.MemoryBudget {
		for _, c := range l.cols {
			if c.typ == Numerical && !(ds == curSet && l.fineEligible(c)) {
				s := &c.num[ds]
				before := s.capBytes
				s.reserve(rows)
				l.used += s.capBytes - before
			}
		}
	}
	buf := make([]parquet.Value, 4096)
	var scratch []byte
	for _, c := range l.cols {
		leaf := leaves[c.pos[ds]]
		var row int64
		for _, rg := range pf.RowGroups() {
			pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
			for {
				page, err := pages.ReadPage()
				if err == io.EOF {
					break
				}
				if err != nil {
					pages.Close()
					return rows, &DataError{File: path, Column: c.name, Err: fmt.Errorf("reading a page: %w", err)}
				}
				vr := page.Values()
				for {
					n, err := vr.ReadValues(buf)
					for _, v := range buf[:n] {
						row++
						if v.IsNull() {
							c.missing[ds]++
							continue
						}
						scratch = scratch[:0]
						if aerr := l.addParquetValue(c, ds, v, &scratch); aerr != nil {
							pages.Close()
							return rows, &DataError{File: path, Row: row, Column: c.name, Err: aerr}
						}
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						pages.Close()
						return rows, &DataError{File: path, Column: c.name, Err: fmt.Errorf("reading values: %w", err)}
					}
				}
				parquet.Release(page)
				if err := ctx.Err(); err != nil {
					pages.Close()
					return rows, err
				}
				if err := l.checkBudget(); err != nil {
					pages.Close()
					return rows, &DataError{File: path, Column: c.name, Err: err}
				}
			}
			pages.Close()
		}
	}
	if err := l.checkBudget(); err != nil {
		return rows, &DataError{File: path, Err: err}
	}
	return rows, nil
}

func isNumericKind(k parquet.Kind) bool {
	switch k {
	case parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
		return true
	}
	return false
}

func (l *loader) addParquetValue(c *column, ds int, v parquet.Value, scratch *[]byte) error {
	switch v.Kind() {
	case parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
		var x float64
		switch v.Kind() {
		case parquet.Int32:
			x = float64(v.Int32())
		case parquet.Int64:
			x = float64(v.Int64())
		case parquet.Float:
			x = float64(v.Float())
		default:
			x = v.Double()
		}
		if c.typ == Numerical {
			l.addNumber(c, ds, x)
			return nil
		}
		*scratch = strconv.AppendFloat(*scratch, x, 'g', -1, 64)
	case parquet.Boolean:
		*scratch = strconv.AppendBool(*scratch, v.Boolean())
	case parquet.ByteArray, parquet.FixedLenByteArray:
		*scratch = append(*scratch, v.ByteArray()...)
	default:
		*scratch = append(*scratch, v.String()...)
	}
	return l.addField(c, ds, *scratch)
}
