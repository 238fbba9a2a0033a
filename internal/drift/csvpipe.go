package drift

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
)

// The pipelined CSV read: when every column's type is fixed before the
// data are read (a reference profile's types, or types the configuration
// declares), one goroutine splits the records and parses the numerical
// fields while the caller's goroutine stores them (addNumber, the budget
// checks, a profile's fine histograms). Nothing the loader holds is
// touched by the parser; what it sends is blocks of parsed values, with
// the text of the fields that did not parse as numbers (missing markers,
// categories, bad values), which the caller's goroutine takes exactly as
// the sequential read does, in the same order, with the same errors.

// csvBlock is a run of parsed records.
type csvBlock struct {
	rows  int
	vals  []float64 // rows × slots; NaN where raw holds the field
	raw   []byte    // fields kept as text, concatenated
	rawAt []int32   // per raw field: its index in vals
	rawTo []int32   // per raw field: its end in raw
	lines []int     // line of each record
	offs  []int64   // input offset after each record
	err   error     // what stopped the parser after these rows (nil: more follow, or the end)
	last  bool
}

// pipeSlot is one column as the parser sees it.
type pipeSlot struct {
	pos     int
	numeric bool
}

// typesFixed reports whether no column's type can change while reading.
func (l *loader) typesFixed() bool {
	for _, c := range l.cols {
		if !c.declared {
			return false
		}
	}
	return runtime.GOMAXPROCS(0) > 1
}

type csvSlot struct {
	pos int
	c   *column
}

func (l *loader) scanCSVPipelined(ctx context.Context, s *csvScanner, path string, ds int, size int64, header []string, slots []csvSlot, headerEnd int64) (int64, error) {
	width := len(header)
	ps := make([]pipeSlot, len(slots))
	for i, sl := range slots {
		ps[i] = pipeSlot{pos: sl.pos, numeric: sl.c.typ == Numerical}
	}
	per := max(16, min(4096, (1<<16)/max(1, len(slots))))
	const nblocks = 3
	free := make(chan *csvBlock, nblocks)
	full := make(chan *csvBlock, nblocks)
	for range nblocks {
		free <- &csvBlock{vals: make([]float64, 0, per*len(slots)), lines: make([]int, 0, per), offs: make([]int64, 0, per)}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		parseCSVBlocks(s, path, width, header, ps, per, free, full, stop)
	}()
	finish := func() {
		close(stop)
		<-done
	}
	var rows int64
	for {
		var b *csvBlock
		select {
		case b = <-full:
		case <-ctx.Done():
			finish()
			return rows, ctx.Err()
		}
		ri := 0
		for r := 0; r < b.rows; r++ {
			rows++
			row := b.vals[r*len(slots) : (r+1)*len(slots)]
			for i, sl := range slots {
				idx := int32(r*len(slots) + i)
				var err error
				if ri < len(b.rawAt) && b.rawAt[ri] == idx {
					from := int32(0)
					if ri > 0 {
						from = b.rawTo[ri-1]
					}
					err = l.addField(sl.c, ds, b.raw[from:b.rawTo[ri]])
					ri++
				} else if v := row[i]; math.IsNaN(v) {
					sl.c.missing[ds]++ // "NaN", "nan": pandas' missing markers
				} else {
					l.addNumber(sl.c, ds, v)
				}
				if err != nil {
					finish()
					return rows, &DataError{File: path, Line: b.lines[r], Row: rows, Column: sl.c.name, Err: err}
				}
			}
			if rows%budgetEvery == 0 {
				if err := ctx.Err(); err != nil {
					finish()
					return rows, err
				}
				if rows == budgetEvery {
					l.reserveRows(ds, size, b.offs[r]-headerEnd, rows)
				}
				if err := l.checkBudget(); err != nil {
					finish()
					return rows, &DataError{File: path, Line: b.lines[r], Row: rows, Err: err}
				}
			}
		}
		if b.err != nil || b.last {
			err := b.err
			finish()
			if err != nil {
				return rows, err
			}
			break
		}
		free <- b
	}
	if rows == 0 {
		return 0, &DataError{File: path, Err: errors.New("the file has a header but no data rows")}
	}
	if err := l.checkBudget(); err != nil {
		return rows, &DataError{File: path, Err: err}
	}
	return rows, nil
}

// parseCSVBlocks is the parser goroutine: it fills free blocks with
// records and sends them on full until the input ends, an error stops it
// (sent in the last block) or stop is closed.
func parseCSVBlocks(s *csvScanner, path string, width int, header []string, slots []pipeSlot, per int, free <-chan *csvBlock, full chan<- *csvBlock, stop <-chan struct{}) {
	var rows int64
	for {
		var b *csvBlock
		select {
		case b = <-free:
		case <-stop:
			return
		}
		b.rows, b.vals, b.raw, b.rawAt, b.rawTo = 0, b.vals[:0], b.raw[:0], b.rawAt[:0], b.rawTo[:0]
		b.lines, b.offs = b.lines[:0], b.offs[:0]
		for b.rows < per {
			if !s.Next() {
				b.err, b.last = s.Err(), true
				break
			}
			rows++
			fields := s.Fields()
			if len(fields) != width {
				de := &DataError{File: path, Line: s.Line(), Row: rows}
				if len(fields) < width {
					de.Column = header[len(fields)]
					de.Err = fmt.Errorf("ragged row: %d fields where the header has %d (this column and those after it are missing)", len(fields), width)
				} else {
					de.Err = fmt.Errorf("ragged row: %d fields where the header has %d (extra field %d has no column)", len(fields), width, width+1)
				}
				b.err, b.last = de, true
				break
			}
			for _, sl := range slots {
				f := fields[sl.pos]
				if sl.numeric {
					if v, ok := parseNumber(f); ok {
						b.vals = append(b.vals, v)
						continue
					}
				}
				b.rawAt = append(b.rawAt, int32(len(b.vals)))
				b.vals = append(b.vals, 0)
				b.raw = append(b.raw, f...)
				b.rawTo = append(b.rawTo, int32(len(b.raw)))
			}
			b.lines = append(b.lines, s.Line())
			b.offs = append(b.offs, s.Offset())
			b.rows++
		}
		select {
		case full <- b:
		case <-stop:
			return
		}
		if b.last {
			return
		}
	}
}
