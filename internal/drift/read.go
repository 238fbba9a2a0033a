package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// DataError is bad input data, naming the file and, where it applies, the
// line, the data row and the column.
type DataError struct {
	File   string
	Line   int    // 0 when not about one line
	Row    int64  // data row, 1-based (the header is not a row); 0 when not about one row
	Column string // "" when not about one column
	Err    error
}

func (e *DataError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Row > 0 {
		fmt.Fprintf(&b, "row %d", e.Row)
		if e.Column != "" {
			b.WriteString(", ")
		} else {
			b.WriteString(": ")
		}
	}
	if e.Column != "" {
		fmt.Fprintf(&b, "column %q: ", e.Column)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *DataError) Unwrap() error { return e.Err }

// loader reads both data sets into columns, keeping track of memory.
type loader struct {
	cfg     Config
	cols    []*column
	byName  map[string]*column
	used    int64 // bytes held by exact numeric values and dictionaries
	approx  bool
	extra   []string // columns only in the current data set
	ignored []string
	zero    ColumnConfig // the configuration of unconfigured columns
	// noFine keeps every current value even against a profile's
	// centroids (Config.exactCurrent, for tests).
	noFine bool
	// noPipe reads CSV on one goroutine (Config.sequential, for tests).
	noPipe bool
}

func newLoader(cfg Config) *loader {
	return &loader{cfg: cfg, byName: map[string]*column{}, noFine: cfg.exactCurrent, noPipe: cfg.sequential}
}

// defineColumns sets up the columns from the reference's header.
func (l *loader) defineColumns(file string, names []string) error {
	for i, n := range names {
		if _, dup := l.byName[n]; dup {
			return &DataError{File: file, Line: 1, Err: fmt.Errorf("column %q appears twice in the header: column names must be unique", n)}
		}
		cc := &l.zero
		if x, ok := l.cfg.Columns[n]; ok {
			cc = &x
		}
		c := &column{name: n, cfg: cc, pos: [2]int{i, -1}}
		if cc.Ignore {
			l.ignored = append(l.ignored, n)
			c.pos[0] = -1
			l.byName[n] = c
			continue
		}
		switch cc.Type {
		case Categorical:
			c.typ, c.declared, c.cat = Categorical, true, newCatStore()
		case Numerical:
			c.typ, c.declared = Numerical, true
		default:
			c.typ = Numerical // until a value says otherwise
		}
		l.byName[n] = c
		l.cols = append(l.cols, c)
		l.used += columnOverhead + int64(len(n))
	}
	if len(l.cols) == 0 {
		return &DataError{File: file, Err: errors.New("no columns to compare (all are ignored)")}
	}
	return nil
}

// matchColumns maps the current data set's header onto the reference's
// columns; every reference column must be present.
func (l *loader) matchColumns(file string, names []string) error {
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			return &DataError{File: file, Line: 1, Err: fmt.Errorf("column %q appears twice in the header: column names must be unique", n)}
		}
		seen[n] = true
		c, ok := l.byName[n]
		if !ok {
			l.extra = append(l.extra, n)
			continue
		}
		if c.cfg.Ignore {
			continue
		}
		c.pos[1] = i
	}
	for _, c := range l.cols {
		if c.pos[1] < 0 {
			return &DataError{File: file, Column: c.name, Err: errors.New("column is in the reference data but missing here: add it, or set drift.columns." + c.name + ".ignore: true in the spec")}
		}
	}
	return nil
}

// addNumber takes one value of numerical column c in data set ds, from
// CSV or Parquet alike: a non-finite value counts as missing (and as
// non-finite), a value beyond ExtremeLimit as extreme; neither is tested.
func (l *loader) addNumber(c *column, ds int, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		c.missing[ds]++
		c.nonFinite[ds]++
		return
	}
	if v > ExtremeLimit || v < -ExtremeLimit {
		c.extreme[ds]++
		return
	}
	s := &c.num[ds]
	if s.fine == nil && ds == curSet && s.n == 0 && l.fineEligible(c) {
		l.startFine(c)
	}
	if s.fine != nil && s.fine.add(v) {
		s.n++
		return
	}
	before := s.capBytes
	s.add(v)
	l.used += s.capBytes - before
	if s.pending > 0 && s.n >= pendingLen {
		l.used += s.settle()
	}
}

// settle makes the histograms still pending at the end of the data.
func (l *loader) settle() {
	for _, c := range l.cols {
		for ds := range c.num {
			l.used += c.num[ds].settle()
		}
	}
}

// addField takes one CSV field of column c in data set ds.
func (l *loader) addField(c *column, ds int, b []byte) error {
	if c.typ == Numerical {
		if v, ok := parseNumber(b); ok {
			if math.IsNaN(v) { // "NaN", "nan": pandas' missing markers
				c.missing[ds]++
				return nil
			}
			l.addNumber(c, ds, v)
			return nil
		}
		if isMissing(b) {
			c.missing[ds]++
			return nil
		}
		if c.declared {
			return fmt.Errorf("value %q is not a number, but the column is declared numerical", truncate(b))
		}
		if err := l.promote(c); err != nil {
			return err
		}
	}
	if isMissing(b) {
		c.missing[ds]++
		return nil
	}
	before := c.cat.bytes
	c.cat.add(ds, b)
	l.used += c.cat.bytes - before
	return nil
}

func (l *loader) promote(c *column) error {
	held := c.num[0].capBytes + c.num[1].capBytes
	if err := c.promote(); err != nil {
		return err
	}
	l.used += c.cat.bytes - held
	return nil
}

func truncate(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// checkBudget switches every numeric column to histograms once the exact
// values would exceed the memory budget. The histograms get as many bins
// as the budget leaves room for (at most approxBins); a budget that cannot
// hold minApproxBins per column and data set is refused rather than
// exceeded.
func (l *loader) checkBudget() error {
	if l.used <= l.cfg.MemoryBudget {
		return nil
	}
	if !l.approx {
		if err := l.switchToHistograms(); err != nil {
			return err
		}
	}
	if l.used <= l.cfg.MemoryBudget {
		return nil
	}
	return l.overBudget()
}

// overBudget is the refusal when what cannot shrink exceeds the budget:
// category dictionaries (named when they are most of it), or the columns'
// own bookkeeping.
func (l *loader) overBudget() error {
	var worst *column
	var cats, exact, numeric int64
	for _, c := range l.cols {
		if c.cat != nil {
			cats += c.cat.bytes
			if worst == nil || c.cat.bytes > worst.cat.bytes {
				worst = c
			}
		}
		if c.typ == Numerical {
			numeric++
			exact += c.num[0].capBytes + c.num[1].capBytes
		}
	}
	if worst != nil && cats > l.cfg.MemoryBudget/2 {
		return fmt.Errorf("the memory budget of %d bytes is exceeded by category labels: column %q alone has %d distinct values (%d bytes); declare it ignored (drift.columns.%s.ignore: true), or raise the budget", l.cfg.MemoryBudget, worst.name, len(worst.cat.labels), worst.cat.bytes, worst.name)
	}
	need := l.used
	if !l.approx {
		need = l.used - exact + 2*numeric*histBytes(minApproxBins)
	}
	return fmt.Errorf("the memory budget of %d bytes cannot hold %d columns: raise it to at least %d bytes (--memory-budget or drift.memoryBudget) or ignore columns", l.cfg.MemoryBudget, len(l.cols), need)
}

// switchToHistograms moves every numeric column to histograms sized to
// what the budget leaves room for.
func (l *loader) switchToHistograms() error {
	var numeric, exact int64
	for _, c := range l.cols {
		if c.typ == Numerical {
			numeric++
			exact += c.num[0].capBytes + c.num[1].capBytes
		}
	}
	if numeric == 0 {
		return nil // only dictionaries: they are what they are
	}
	if l.used-exact > l.cfg.MemoryBudget {
		return l.overBudget() // not the numbers' fault
	}
	room := l.cfg.MemoryBudget - (l.used - exact)
	nb := int(min(room/(2*numeric*16)-2, approxBins))
	if nb < minApproxBins {
		need := l.used - exact + 2*numeric*histBytes(minApproxBins)
		return fmt.Errorf("the memory budget of %d bytes cannot hold %d numerical columns even as %d-bin histograms: raise it to at least %d bytes (--memory-budget or drift.memoryBudget) or ignore columns", l.cfg.MemoryBudget, numeric, minApproxBins, need)
	}
	l.approx = true
	for _, c := range l.cols {
		if c.typ != Numerical {
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for ds := range c.num {
			c.num[ds].eachWeighted(func(v, _ float64) {
				lo = math.Min(lo, v)
				hi = math.Max(hi, v)
			})
		}
		if p := c.prof; p != nil && p.Count > 0 {
			lo, hi = math.Min(lo, p.Min), math.Max(hi, p.Max)
		}
		if math.IsInf(lo, 1) {
			// Nothing seen yet: the first values will set the range.
			for ds := range c.num {
				c.num[ds].pending = nb
			}
			continue
		}
		for ds := range c.num {
			if ds == refSet && c.prof != nil {
				continue // the profile is the reference
			}
			s := &c.num[ds]
			h := newBinHist(lo, hi, nb)
			s.eachWeighted(h.addWeighted)
			if f := s.fine; f != nil {
				// The values' range, not their sub-bins' means'.
				h.min, h.max = math.Min(h.min, f.min), math.Max(h.max, f.max)
			}
			l.used += histBytes(nb) - s.capBytes
			*s = numStore{hist: h, n: s.n}
		}
	}
	return nil
}

// read reads one data set: a file, or a reference profile.
func (l *loader) read(ctx context.Context, src Source, ds int) (int64, error) {
	switch src.format() {
	case "profile":
		if err := l.defineFromProfile(src.profile); err != nil {
			return 0, err
		}
		return src.profile.Source.Rows, nil
	case "files":
		if ds == refSet {
			return 0, errors.New("the reference data is one file (or a profile); several files can be the current data")
		}
		return l.readFiles(ctx, src.paths, ds)
	case "csv", "parquet", "jsonl":
		return l.readOne(ctx, src.Path, src.format(), ds, true)
	}
	return 0, fmt.Errorf("%s: unknown data format %q: use csv, parquet or jsonl", src.Path, src.Format)
}

// budgetEvery is how many rows pass between memory checks.
const budgetEvery = 4096

// reserveRows makes room in every exact numeric column of data set ds for
// the rows the file is expected to hold, estimated from its size and the
// bytes per row so far (plus 3%), when that fits the budget. Storing then
// never copies, and memory is 8 bytes a value rather than up to twice that
// for a growing slice.
func (l *loader) reserveRows(ds int, size, consumed, rows int64) {
	if l.approx || size <= 0 || consumed <= 0 || rows <= 0 {
		return
	}
	est := int64(float64(size)/(float64(consumed)/float64(rows))*1.03) + 1024
	var numeric int64
	for _, c := range l.cols {
		if c.typ == Numerical && !(ds == curSet && l.fineEligible(c)) {
			numeric++
		}
	}
	if l.used+8*numeric*est > l.cfg.MemoryBudget {
		return
	}
	for _, c := range l.cols {
		if c.typ == Numerical && !(ds == curSet && l.fineEligible(c)) {
			s := &c.num[ds]
			before := s.capBytes
			s.reserve(est)
			l.used += s.capBytes - before
		}
	}
}

func (l *loader) scanCSV(ctx context.Context, r io.Reader, path string, ds int, size int64) (int64, error) {
	s := newCSVScanner(r, path)
	if !s.Next() {
		if s.Err() != nil {
			return 0, s.Err()
		}
		return 0, &DataError{File: path, Err: errors.New("the file is empty: expected a header row naming the columns, then data rows")}
	}
	header := make([]string, len(s.Fields()))
	allNumeric := true
	for i, b := range s.Fields() {
		name := strings.TrimSpace(string(b))
		if name == "" {
			name = "Unnamed: " + strconv.Itoa(i)
		}
		header[i] = name
		if _, ok := parseNumber(b); !ok {
			allNumeric = false
		}
	}
	if allNumeric {
		return 0, &DataError{File: path, Line: s.Line(), Err: fmt.Errorf("missing header: the first row (%s) holds only numbers; the first row must name the columns", truncate([]byte(strings.Join(header, ","))))}
	}
	var err error
	if ds == refSet {
		err = l.defineColumns(path, header)
	} else {
		err = l.matchColumns(path, header)
	}
	if err != nil {
		return 0, err
	}
	// The columns in field order, for the hot loop.
	slots := make([]csvSlot, 0, len(l.cols))
	for _, c := range l.cols {
		slots = append(slots, csvSlot{c.pos[ds], c})
	}
	width := len(header)
	headerEnd := s.Offset()
	if l.typesFixed() && !l.noPipe {
		return l.scanCSVPipelined(ctx, s, path, ds, size, header, slots, headerEnd)
	}
	var rows int64
	for s.Next() {
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
			return rows, de
		}
		for _, sl := range slots {
			if err := l.addField(sl.c, ds, fields[sl.pos]); err != nil {
				return rows, &DataError{File: path, Line: s.Line(), Row: rows, Column: sl.c.name, Err: err}
			}
		}
		if rows%budgetEvery == 0 {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
			if rows == budgetEvery {
				l.reserveRows(ds, size, s.Offset()-headerEnd, rows)
			}
			if err := l.checkBudget(); err != nil {
				return rows, &DataError{File: path, Line: s.Line(), Row: rows, Err: err}
			}
		}
	}
	if s.Err() != nil {
		return rows, s.Err()
	}
	if rows == 0 {
		return 0, &DataError{File: path, Err: errors.New("the file has a header but no data rows")}
	}
	if err := l.checkBudget(); err != nil {
		return rows, &DataError{File: path, Err: err}
	}
	return rows, nil
}

// fineEligible reports whether the current values of c are binned into a
// fineHist: the reference is a profile whose column is centroids (not
// exact), and the values are exact (not the memory budget's histograms).
func (l *loader) fineEligible(c *column) bool {
	p := c.prof
	return p != nil && !p.Exact && p.Count > 0 && len(p.Values) >= 2 && !l.approx && !l.noFine
}

// startFine gives c's current data a fineHist, sized so that all the
// numerical columns' together take at most a quarter of the memory budget;
// when that cannot give fineMinSub sub-bins per interval, the values are
// kept as they are.
func (l *loader) startFine(c *column) {
	var numeric int64
	for _, x := range l.cols {
		if x.typ == Numerical {
			numeric++
		}
	}
	sub := fineSub(len(c.prof.Values), numeric, l.cfg.MemoryBudget/4)
	if sub == 0 {
		return
	}
	s := &c.num[curSet]
	s.fine = newFineHist(c.prof.Values, sub)
	b := fineBytes(len(c.prof.Values), sub)
	s.capBytes += b
	l.used += b
}
