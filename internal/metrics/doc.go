// Package metrics owns the metrics file: the one parser that train (final
// values and per-step history, recorded in run.json) and eval (the values
// gates are checked against) both read it with.
//
// # Format
//
// A metrics file is one JSON object, a sequence of JSON objects (JSON Lines,
// or objects one after another), or a JSON array of objects. Each object is
// a record; when several records name the same metric, the last one wins,
// so a training log of one record per step gives the final values.
//
// # Values
//
//   - Numbers are metrics. A number that does not fit a float64 (1e999) is
//     an error: it cannot be compared with a bound.
//   - NaN and Infinity are not JSON: the file is refused where they appear
//     (Python's json.dumps writes them unless allow_nan=False).
//   - Booleans are metrics: true is 1, false is 0 ("converged": true can be
//     gated with min: 1).
//   - Nested objects are flattened with "." ({"eval": {"f1": 0.9}} gives
//     "eval.f1"), at most 8 levels deep; deeper nesting is an error.
//   - null, strings (a number written as a string, "0.93", included) and
//     arrays are not metrics. They clear an earlier record's value of the
//     same name, so that a later record never leaves an older number
//     standing for the final value, and File.NotMetrics names them: a gate
//     on such a field fails as a missing metric, saying what the field
//     held, instead of passing or failing on an older value. Other readers
//     see the field simply absent, so a run id or a version written as a
//     string does not refuse the file.
//   - An empty metric name is an error, and so is a file with no record or
//     with no metric at all.
package metrics
