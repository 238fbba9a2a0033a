package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// MaxBytes bounds what is read from a metrics file: metrics are a handful
// of numbers per record, so anything larger is almost certainly the wrong
// file.
const MaxBytes = 64 << 20

// maxDepth bounds the nesting of objects inside a record.
const maxDepth = 8

// File is a parsed metrics file.
type File struct {
	// Final holds each metric's last value.
	Final map[string]float64
	// Records are the records in file order, each flattened to its
	// metrics (a record with none is an empty map).
	Records []map[string]float64
	// NotMetrics names the fields whose last value was not a metric (null,
	// a string, an array) with what it was, so that a gate on one can say
	// why the metric is missing.
	NotMetrics map[string]string
}

// Parse reads a metrics file; see the package documentation for the rules.
func Parse(r io.Reader) (*File, error) {
	dec := json.NewDecoder(io.LimitReader(r, MaxBytes+1))
	dec.UseNumber()
	out := &File{Final: map[string]float64{}, NotMetrics: map[string]string{}}
	for n := 1; ; n++ {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("object %d (byte %d): %w: want a JSON object or JSON Lines of objects", n, dec.InputOffset(), err)
		}
		if dec.InputOffset() > MaxBytes {
			return nil, fmt.Errorf("larger than %d MiB: not a metrics file", MaxBytes>>20)
		}
		if err := out.add(n, v); err != nil {
			return nil, err
		}
	}
	if len(out.Records) == 0 {
		return nil, errors.New(`empty: want a JSON object such as {"accuracy": 0.93}`)
	}
	if len(out.Final) == 0 {
		return nil, errors.New(`no numeric metrics found: want a JSON object such as {"accuracy": 0.93}`)
	}
	return out, nil
}

// add records one top-level value: an object, or an array of objects.
func (f *File) add(n int, v any) error {
	switch x := v.(type) {
	case map[string]any:
		return f.record(fmt.Sprintf("object %d", n), x)
	case []any:
		for i, e := range x {
			o, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("object %d is a JSON array whose element %d is a JSON %s, not an object of metric values", n, i, kind(e))
			}
			if err := f.record(fmt.Sprintf("object %d, element %d", n, i), o); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("object %d is a JSON %s, not an object of metric values", n, kind(v))
}

func (f *File) record(where string, o map[string]any) error {
	rec := map[string]float64{}
	cleared := map[string]string{}
	if err := flatten(rec, cleared, "", o, 0); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	for k, what := range cleared {
		delete(f.Final, k)
		f.NotMetrics[k] = what
	}
	for k, v := range rec {
		f.Final[k] = v
		delete(f.NotMetrics, k)
	}
	f.Records = append(f.Records, rec)
	return nil
}

func flatten(out map[string]float64, cleared map[string]string, prefix string, obj map[string]any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("metric %q is nested more than %d levels deep", prefix, maxDepth)
	}
	for k, v := range obj {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if k == "" {
			return fmt.Errorf("a metric under %q has an empty name", prefix)
		}
		if o, ok := v.(map[string]any); ok {
			if err := flatten(out, cleared, name, o, depth+1); err != nil {
				return err
			}
			continue
		}
		f, ok, err := Value(v)
		if err != nil {
			return fmt.Errorf("metric %q: %w", name, err)
		}
		if ok {
			out[name] = f
		} else {
			cleared[name] = describe(v)
		}
	}
	return nil
}

// Value is the rule for one decoded JSON value (decoded with UseNumber):
// a finite number or a boolean is a metric (ok); a number out of range is
// an error; anything else is not a metric.
func Value(v any) (f float64, ok bool, err error) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false, fmt.Errorf("%s is not a finite number", x)
		}
		return f, true, nil
	case bool:
		if x {
			return 1, true, nil
		}
		return 0, true, nil
	}
	return 0, false, nil
}

// describe says what a value that is not a metric is, for NotMetrics.
func describe(v any) string {
	s, ok := v.(string)
	if !ok {
		return "a JSON " + kind(v)
	}
	if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("the string %q, not a JSON number", s)
	}
	return "a JSON string"
}

func kind(v any) string {
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
	case map[string]any:
		return "object"
	}
	return "value"
}
