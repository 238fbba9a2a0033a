package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseParam parses one --param override "name=value". The value is
// read as JSON when it is a JSON number, boolean or quoted string, and as
// a plain string otherwise ("lr=0.3" is a number, "opt=adam" a string).
func ParseParam(s string) (string, any, error) {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || !paramName.MatchString(k) {
		return "", nil, fmt.Errorf("parameter %q: want name=value with a name of letters, digits and _ (not starting with a digit)", s)
	}
	val, err := parseValue(v)
	if err != nil {
		return "", nil, fmt.Errorf("parameter %q: %w", s, err)
	}
	return k, val, nil
}

func parseValue(v string) (any, error) {
	t := strings.TrimSpace(v)
	if t == "true" || t == "false" {
		return t == "true", nil
	}
	if strings.HasPrefix(t, `"`) {
		var s string
		if err := json.Unmarshal([]byte(t), &s); err != nil {
			return nil, fmt.Errorf("quoted value %s is not a JSON string: %w", t, err)
		}
		return s, nil
	}
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		return i, nil
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && json.Valid([]byte(t)) {
		return f, nil
	}
	return v, nil
}

// normalize maps CUE/JSON numbers to int64 when integral and float64
// otherwise, so "200" from a spec and from --param hash the same.
func normalize(v any) any {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return f
	case float64:
		if n == float64(int64(n)) && n < 1<<53 && n > -(1<<53) {
			return int64(n)
		}
		return n
	case float32:
		return normalize(float64(n))
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case uint64:
		return normalize(float64(n))
	}
	return v
}

// ErrUndeclaredParam marks an override (--param, a matrix entry) of a
// hyperparameter the spec does not declare: the training would get a value
// the spec, its digest and its reviewers never saw, so it is refused, as
// sweep keys are.
var ErrUndeclaredParam = errors.New("undeclared hyperparameter")

// EffectiveParams merges overrides into the spec's hyperparameters. Every
// override must name a declared hyperparameter (sweep keys are checked
// against the same list when the spec loads).
func EffectiveParams(spec map[string]any, overrides map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range spec {
		out[k] = normalize(v)
	}
	for _, k := range sortedNames(overrides) {
		if !paramName.MatchString(k) {
			return nil, fmt.Errorf("parameter name %q: want letters, digits and _", k)
		}
		if _, ok := spec[k]; !ok {
			return nil, undeclared(k, spec)
		}
		out[k] = normalize(overrides[k])
	}
	return out, nil
}

func undeclared(k string, spec map[string]any) error {
	if len(spec) == 0 {
		return fmt.Errorf("parameter %q: %w: the spec declares no hyperparameters; declare it under train.hyperparameters with its default", k, ErrUndeclaredParam)
	}
	return fmt.Errorf("parameter %q is not a declared hyperparameter (declared: %s): %w; declare it under train.hyperparameters with its default, or fix its spelling", k, strings.Join(sortedNames(spec), ", "), ErrUndeclaredParam)
}

func sortedNames(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParamEnv renders parameters as MLSHIP_PARAM_<NAME>=value, sorted, with
// the name upper-cased; numbers in their shortest JSON form, strings raw.
func ParamEnv(params map[string]any) []string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, "MLSHIP_PARAM_"+strings.ToUpper(k)+"="+formatValue(params[k]))
	}
	return env
}

func formatValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// FormatParam renders name=value so that ParseParam reads it back as the
// same value (strings that would parse as something else are quoted).
func FormatParam(name string, v any) string {
	s := formatValue(v)
	if str, ok := v.(string); ok {
		if back, _ := parseValue(str); back != any(str) {
			q, _ := json.Marshal(str)
			s = string(q)
		}
	}
	return name + "=" + s
}

func encodeParams(params map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(params); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
