package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
)

// Metrics maps a metric name to its value.
type Metrics map[string]float64

// Names returns the metric names, sorted.
func (m Metrics) Names() []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// maxMetricsBytes bounds what is read from a metrics file: metrics are a
// handful of numbers, so anything larger is almost certainly the wrong file.
const maxMetricsBytes = 64 << 20

// ReadMetricsFile reads a metrics file; see ParseMetrics for the format.
func ReadMetricsFile(path string) (Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading metrics file %s: %w (the eval command must write it; see eval.metricsFile in the spec)", path, err)
	}
	defer f.Close()
	m, err := ParseMetrics(f)
	if err != nil {
		return nil, fmt.Errorf("metrics file %s: %w", path, err)
	}
	return m, nil
}

// ParseMetrics reads one JSON object or a sequence of them (JSON Lines, or
// concatenated objects). Numbers and booleans (1/0) become metrics; nested
// objects are flattened with "." ("eval": {"f1": 0.9} → "eval.f1"); strings
// and nulls are ignored. When several objects name the same metric, the last
// one wins, so a training log of one line per epoch gives the final values.
func ParseMetrics(r io.Reader) (Metrics, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxMetricsBytes+1))
	dec.UseNumber()
	out := Metrics{}
	objects := 0
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("object %d (byte %d): %w: want a JSON object or JSON Lines of objects", objects+1, dec.InputOffset(), err)
		}
		if dec.InputOffset() > maxMetricsBytes {
			return nil, fmt.Errorf("larger than %d MiB: not a metrics file", maxMetricsBytes>>20)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("object %d is a JSON %s, not an object of metric values", objects+1, jsonKind(v))
		}
		objects++
		if err := flatten(out, "", obj, 0); err != nil {
			return nil, fmt.Errorf("object %d: %w", objects, err)
		}
	}
	if objects == 0 {
		return nil, fmt.Errorf("empty: want a JSON object such as {\"accuracy\": 0.93}")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no numeric metrics found: want a JSON object such as {\"accuracy\": 0.93}")
	}
	return out, nil
}

func flatten(out Metrics, prefix string, obj map[string]any, depth int) error {
	if depth > 8 {
		return fmt.Errorf("metric %q is nested more than 8 levels deep", prefix)
	}
	for k, v := range obj {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if name == "" {
			return fmt.Errorf("a metric has an empty name")
		}
		switch x := v.(type) {
		case json.Number:
			f, err := strconv.ParseFloat(string(x), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return fmt.Errorf("metric %q: %s is not a finite number", name, x)
			}
			out[name] = f
		case bool:
			out[name] = b2f(x)
		case map[string]any:
			if err := flatten(out, name, x, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	}
	return "value"
}

// Examples are per-example results: for each example id, its metric values.
// They feed the paired bootstrap.
type Examples struct {
	// IDs in file order.
	IDs []string
	// Values[metric][i] is the metric of example IDs[i]; NaN when absent.
	Values map[string][]float64
	index  map[string]int
}

// Len is the number of examples.
func (e *Examples) Len() int {
	if e == nil {
		return 0
	}
	return len(e.IDs)
}

// ReadExamplesFile reads a per-example JSON Lines file.
func ReadExamplesFile(path string) (*Examples, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading examples file %s: %w", path, err)
	}
	defer f.Close()
	ex, err := ParseExamples(f)
	if err != nil {
		return nil, fmt.Errorf("examples file %s: %w", path, err)
	}
	return ex, nil
}

// ParseExamples reads JSON Lines of {"id": ..., "<metric>": value, ...}. The
// id is a string or a number and must be unique; numbers and booleans are
// metric values, other fields (labels, predictions as strings) are ignored.
// Blank lines are skipped.
func ParseExamples(r io.Reader) (*Examples, error) {
	ex := &Examples{Values: map[string][]float64{}, index: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, fmt.Errorf("line %d: %w: want one JSON object per line", line, err)
		}
		rawID, ok := obj["id"]
		if !ok {
			return nil, fmt.Errorf("line %d: no \"id\" field: each example needs an id to pair it with the baseline's", line)
		}
		id, err := exampleID(rawID)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if _, dup := ex.index[id]; dup {
			return nil, fmt.Errorf("line %d: duplicate id %q", line, id)
		}
		i := len(ex.IDs)
		ex.index[id] = i
		ex.IDs = append(ex.IDs, id)
		for k, raw := range obj {
			if k == "id" {
				continue
			}
			v, ok, err := exampleValue(raw)
			if err != nil {
				return nil, fmt.Errorf("line %d: field %q: %w", line, k, err)
			}
			if !ok {
				continue
			}
			col := ex.Values[k]
			for len(col) < i {
				col = append(col, math.NaN())
			}
			ex.Values[k] = append(col, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(ex.IDs) == 0 {
		return nil, fmt.Errorf("no examples: want JSON Lines such as {\"id\": \"1\", \"accuracy\": 1}")
	}
	for k, col := range ex.Values {
		for len(col) < len(ex.IDs) {
			col = append(col, math.NaN())
		}
		ex.Values[k] = col
	}
	return ex, nil
}

func exampleID(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("\"id\" is %s: want a string or a number", string(raw))
}

func exampleValue(raw json.RawMessage) (float64, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, false, err
	}
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false, fmt.Errorf("%s is not a finite number", x)
		}
		return f, true, nil
	case bool:
		return b2f(x), true, nil
	}
	return 0, false, nil
}
