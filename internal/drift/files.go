package drift

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Files is a Source made of several files read one after the other as one
// data set (the current data only): CSV, Parquet or JSON Lines by
// extension, each optionally gzip-compressed (.gz, or gzip's magic bytes).
// Every file must hold the reference's columns.
func Files(paths ...string) Source {
	if len(paths) == 1 {
		return File(paths[0])
	}
	return Source{Path: strings.Join(paths, ", "), paths: paths}
}

// ExpandPaths expands glob patterns (a path with *, ? or [) into the files
// they match, sorted, keeping plain paths as given; a pattern matching
// nothing is an error.
func ExpandPaths(patterns []string) ([]string, error) {
	var out []string
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?[") {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("pattern %q matches no file", p)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	if len(out) == 0 {
		return nil, errors.New("no data files given")
	}
	return out, nil
}

// fileFormat is a path's format by extension, after a .gz suffix.
func fileFormat(path string) (format string, gz bool) {
	p := strings.ToLower(path)
	if strings.HasSuffix(p, ".gz") {
		gz, p = true, strings.TrimSuffix(p, ".gz")
	}
	switch filepath.Ext(p) {
	case ".parquet", ".pq":
		return "parquet", gz
	case ".jsonl", ".ndjson":
		return "jsonl", gz
	}
	return "csv", gz
}

// readFiles reads several files into data set ds.
func (l *loader) readFiles(ctx context.Context, paths []string, ds int) (int64, error) {
	var rows int64
	for i, p := range paths {
		n, err := l.readOne(ctx, p, "", ds, i == 0)
		if err != nil {
			return rows, err
		}
		rows += n
	}
	return rows, nil
}

// readOne reads one file of any supported format; first says whether it
// is the data set's first file (only that one reserves storage from its
// size, and, for the reference, defines the columns).
func (l *loader) readOne(ctx context.Context, path, format string, ds int, first bool) (int64, error) {
	f, gz := fileFormat(path)
	if format != "" {
		f = format
	}
	if ds == refSet && !first {
		return 0, errors.New("the reference data is one file")
	}
	if f == "parquet" {
		if gz {
			return 0, &DataError{File: path, Err: errors.New("gzip-compressed Parquet is not read: Parquet compresses its pages itself; store it uncompressed")}
		}
		return l.readParquet(ctx, path, ds)
	}
	fh, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("opening data file: %w", err)
	}
	defer fh.Close()
	var size int64
	if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() && first {
		size = st.Size()
	}
	br := bufio.NewReaderSize(fh, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); gz || bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, &DataError{File: path, Err: fmt.Errorf("not a readable gzip file: %w", err)}
		}
		defer zr.Close()
		r, size = zr, 0
	}
	if f == "jsonl" {
		return l.scanJSONL(ctx, r, path, ds)
	}
	return l.scanCSV(ctx, r, path, ds, size)
}

// maxJSONLine bounds one JSON Lines record.
const maxJSONLine = 64 << 20

// scanJSONL reads JSON Lines: one object a line, its keys the columns (the
// first object's keys, in order, name them); null and absent keys are
// missing values, numbers numerical, strings and booleans labels.
func (l *loader) scanJSONL(ctx context.Context, r io.Reader, path string, ds int) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxJSONLine)
	line := 0
	var rows int64
	var cols []*column
	var fields map[string]json.RawMessage
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		clear(fields)
		if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
			return rows, &DataError{File: path, Line: line, Err: fmt.Errorf("not a JSON object: %v", err)}
		}
		if cols == nil {
			names, err := objectKeys(b)
			if err != nil {
				return rows, &DataError{File: path, Line: line, Err: err}
			}
			if ds == refSet {
				err = l.defineColumns(path, names)
			} else {
				err = l.matchColumns(path, names)
			}
			if err != nil {
				return rows, err
			}
			cols = l.cols
		}
		rows++
		for _, c := range cols {
			raw, ok := fields[c.name]
			if err := l.addJSON(c, ds, raw, ok); err != nil {
				return rows, &DataError{File: path, Line: line, Row: rows, Column: c.name, Err: err}
			}
		}
		if rows%budgetEvery == 0 {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
			if err := l.checkBudget(); err != nil {
				return rows, &DataError{File: path, Line: line, Err: err}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return rows, &DataError{File: path, Line: line + 1, Err: fmt.Errorf("reading: %w", err)}
	}
	if rows == 0 {
		return 0, &DataError{File: path, Err: errors.New("no JSON objects: expected one object a line")}
	}
	if err := l.checkBudget(); err != nil {
		return rows, &DataError{File: path, Err: err}
	}
	return rows, nil
}

func (l *loader) addJSON(c *column, ds int, raw json.RawMessage, present bool) error {
	if !present || len(raw) == 0 || string(raw) == "null" {
		c.missing[ds]++
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("bad string: %w", err)
		}
		return l.addField(c, ds, []byte(s))
	case '{', '[':
		return fmt.Errorf("value %s is an object or array: flatten it into columns", truncate(raw))
	}
	return l.addField(c, ds, raw) // numbers, true, false
}

// objectKeys are a JSON object's keys in the order written.
func objectKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
