package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/mlship/mlship/internal/train/lineage"
)

// maxMetricsBytes bounds the metrics file read into memory.
const maxMetricsBytes = 64 << 20

// ReadMetrics reads a metrics file: one JSON object of final values
// ({"accuracy": 0.96}), or JSON Lines of step records
// ({"step": 1, "loss": 0.9} per line), or a JSON array of such records.
// Nested objects are flattened with dots ("per_class.setosa"); values
// that are not numbers are ignored. Final holds each metric's last value.
func ReadMetrics(path string) (*lineage.Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the metrics file: %w (does the training write it?)", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMetricsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the metrics file %s: %w", path, err)
	}
	if len(b) > maxMetricsBytes {
		return nil, fmt.Errorf("metrics file %s is larger than %d MiB", path, maxMetricsBytes>>20)
	}
	m, err := ParseMetrics(b)
	if err != nil {
		return nil, fmt.Errorf("metrics file %s: %w", path, err)
	}
	return m, nil
}

// ParseMetrics is ReadMetrics on bytes.
func ParseMetrics(b []byte) (*lineage.Metrics, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var records []map[string]float64
	for n := 1; ; n++ {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("record %d: %w (want a JSON object or JSON Lines of objects)", n, err)
		}
		switch v := v.(type) {
		case map[string]any:
			records = append(records, flatten(v))
		case []any:
			for i, e := range v {
				o, ok := e.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("record %d, element %d: want an object of metrics, got %T", n, i, e)
				}
				records = append(records, flatten(o))
			}
		default:
			return nil, fmt.Errorf("record %d: want an object of metrics, got %T", n, v)
		}
	}
	if len(records) == 0 {
		return nil, errors.New("no metrics in it: want a JSON object or JSON Lines of objects")
	}
	m := &lineage.Metrics{Final: map[string]float64{}}
	for _, r := range records {
		for k, v := range r {
			m.Final[k] = v
		}
	}
	if len(records) > 1 {
		m.History = records
	}
	return m, nil
}

func flatten(o map[string]any) map[string]float64 {
	out := map[string]float64{}
	var walk func(prefix string, o map[string]any, depth int)
	walk = func(prefix string, o map[string]any, depth int) {
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch v := o[k].(type) {
			case json.Number:
				f, err := v.Float64()
				if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
					out[prefix+k] = f
				}
			case map[string]any:
				if depth < 8 {
					walk(prefix+k+".", v, depth+1)
				}
			}
		}
	}
	walk("", o, 0)
	return out
}
