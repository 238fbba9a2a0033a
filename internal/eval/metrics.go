package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/mlship/mlship/internal/metrics"
)

// ReadMetricsFile reads a metrics file's final values; see
// internal/metrics for the format and the rules every reader applies.
func ReadMetricsFile(path string) (Metrics, error) {
	f, err := readMetrics(path)
	if err != nil {
		return nil, err
	}
	return f.Final, nil
}

// ParseMetrics reads a metrics file's final values; see internal/metrics.
func ParseMetrics(r io.Reader) (Metrics, error) {
	f, err := metrics.Parse(r)
	if err != nil {
		return nil, err
	}
	return f.Final, nil
}

func readMetrics(path string) (*metrics.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading metrics file %s: %w (the eval command must write it; see eval.metricsFile in the spec)", path, err)
	}
	defer fh.Close()
	f, err := metrics.Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("metrics file %s: %w", path, err)
	}
	return f, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
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

// exampleValue reads a per-example value with the metrics file's rule
// (internal/metrics.Value): one rule for what counts as a number.
func exampleValue(raw json.RawMessage) (float64, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, false, err
	}
	return metrics.Value(v)
}
