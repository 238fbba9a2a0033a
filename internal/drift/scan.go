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
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
)

// ScanColumns streams the named columns of data files (CSV, JSON Lines or
// Parquet, gzip as for Files), calling fn once a row with the row's values
// as text: "" for a missing value (an empty field, a pandas NA marker,
// JSON null or an absent key, a Parquet null). Each file must hold every
// named column. Memory does not grow with the rows.
func ScanColumns(ctx context.Context, paths []string, names []string, fn func(vals []string) error) error {
	for _, p := range paths {
		if err := scanColumnsFile(ctx, p, names, fn); err != nil {
			return err
		}
	}
	return nil
}

func scanColumnsFile(ctx context.Context, path string, names []string, fn func([]string) error) error {
	format, gz := fileFormat(path)
	if format == "parquet" {
		if gz {
			return &DataError{File: path, Err: errors.New("gzip-compressed Parquet is not read: store it uncompressed")}
		}
		return scanParquetColumns(ctx, path, names, fn)
	}
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening data file: %w", err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); gz || bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return &DataError{File: path, Err: fmt.Errorf("not a readable gzip file: %w", err)}
		}
		defer zr.Close()
		r = zr
	}
	vals := make([]string, len(names))
	if format == "jsonl" {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 1<<16), maxJSONLine)
		line := 0
		var fields map[string]json.RawMessage
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			clear(fields)
			if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
				return &DataError{File: path, Line: line, Err: fmt.Errorf("not a JSON object: %v", err)}
			}
			for i, n := range names {
				vals[i] = jsonText(fields[n])
			}
			if err := fn(vals); err != nil {
				return &DataError{File: path, Line: line, Err: err}
			}
			if line%budgetEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if err := sc.Err(); err != nil {
			return &DataError{File: path, Line: line + 1, Err: fmt.Errorf("reading: %w", err)}
		}
		return nil
	}
	s := newCSVScanner(r, path)
	if !s.Next() {
		if s.Err() != nil {
			return s.Err()
		}
		return &DataError{File: path, Err: errors.New("the file is empty: expected a header row")}
	}
	pos := make([]int, len(names))
	for i := range pos {
		pos[i] = -1
	}
	for j, b := range s.Fields() {
		h := strings.TrimSpace(string(b))
		for i, n := range names {
			if h == n {
				pos[i] = j
			}
		}
	}
	for i, p := range pos {
		if p < 0 {
			return &DataError{File: path, Line: 1, Column: names[i], Err: errors.New("column not in the header")}
		}
	}
	var rows int64
	for s.Next() {
		rows++
		f := s.Fields()
		for i, p := range pos {
			vals[i] = ""
			if p < len(f) && !isMissing(f[p]) {
				vals[i] = string(f[p])
			}
		}
		if err := fn(vals); err != nil {
			return &DataError{File: path, Line: s.Line(), Row: rows, Err: err}
		}
		if rows%budgetEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return s.Err()
}

// jsonText is a JSON value as text: strings unquoted, null and absent "".
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func scanParquetColumns(ctx context.Context, path string, names []string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening data file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading data file: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return &DataError{File: path, Err: fmt.Errorf("not a readable Parquet file: %w", err)}
	}
	idx := make([]int, len(names))
	for i, n := range names {
		leaf, ok := pf.Schema().Lookup(strings.Split(n, ".")...)
		if !ok || leaf.MaxRepetitionLevel > 0 {
			return &DataError{File: path, Column: n, Err: errors.New("no such flat column")}
		}
		idx[i] = leaf.ColumnIndex
	}
	vals := make([]string, len(names))
	buf := make([]parquet.Row, 256)
	var row int64
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				row++
				for i := range vals {
					vals[i] = ""
				}
				for _, v := range r {
					for i, ci := range idx {
						if v.Column() == ci && !v.IsNull() {
							vals[i] = parquetText(v)
						}
					}
				}
				if ferr := fn(vals); ferr != nil {
					rows.Close()
					return &DataError{File: path, Row: row, Err: ferr}
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				return &DataError{File: path, Err: fmt.Errorf("reading rows: %w", err)}
			}
			if ctx.Err() != nil {
				rows.Close()
				return ctx.Err()
			}
		}
		rows.Close()
	}
	return nil
}

func parquetText(v parquet.Value) string {
	switch v.Kind() {
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}
