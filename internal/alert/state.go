package alert

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on what one history row holds (the body must fit 65,536 characters
// whatever the data: a sample may have 100,000 drifted columns).
const (
	maxColumnsPerRow = 10
	maxMetricsPerRow = 16
	maxNameLen       = 64
	// maxStateLen bounds the hidden state line read back from an issue
	// body (GitHub's body limit is 65,536 characters anyway).
	maxStateLen = 1 << 17
)

const statePrefix = "<!-- mlship:alert-state "

// Episode states.
const (
	episodeActive   = "active"
	episodeResolved = "resolved"
)

// row is one run in the history.
type row struct {
	Time         time.Time         `json:"t"`
	SampleSize   int64             `json:"n"`
	Drifted      []string          `json:"d,omitempty"`
	DriftedCount int               `json:"dc"`
	Share        string            `json:"s"`
	Metrics      map[string]string `json:"m,omitempty"`
	Alert        bool              `json:"a"`
	Report       string            `json:"r,omitempty"`
}

// state is what the issue remembers between runs.
type state struct {
	V           int       `json:"v"`
	Model       string    `json:"model"`
	Environment string    `json:"environment"`
	Episode     string    `json:"episode"`
	Since       time.Time `json:"since"`
	Resolved    time.Time `json:"resolved,omitzero"`
	Runs        int       `json:"runs"`
	Rows        []row     `json:"rows"`
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// formatNumber renders a statistic; non-finite values are kept visible.
func formatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func newRow(obs Observation, at time.Time) row {
	r := row{Time: at.UTC().Truncate(time.Second), SampleSize: obs.SampleSize, DriftedCount: len(obs.DriftedColumns), Share: formatNumber(obs.DatasetDriftShare), Alert: obs.Alert, Report: obs.ReportURL}
	for i, c := range obs.DriftedColumns {
		if i == maxColumnsPerRow {
			break
		}
		r.Drifted = append(r.Drifted, clip(c, maxNameLen))
	}
	names := make([]string, 0, len(obs.Metrics))
	for k := range obs.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, k := range names {
		if i == maxMetricsPerRow {
			break
		}
		if r.Metrics == nil {
			r.Metrics = map[string]string{}
		}
		r.Metrics[clip(k, maxNameLen)] = formatNumber(obs.Metrics[k])
	}
	return r
}

func (s *state) encode() string {
	b, _ := json.Marshal(s) // plain types only: cannot fail
	return statePrefix + base64.StdEncoding.EncodeToString(b) + " -->"
}

// decodeState reads the state line of a body (its second line). It fails
// on anything but what encode wrote for key; the caller then starts a
// fresh history.
func decodeState(body string, key Key) (*state, error) {
	_, rest, _ := strings.Cut(body, "\n")
	line, _, _ := strings.Cut(rest, "\n")
	line = strings.TrimSuffix(line, "\r")
	if len(line) > maxStateLen {
		return nil, fmt.Errorf("state line of %d bytes exceeds %d", len(line), maxStateLen)
	}
	enc, ok := strings.CutPrefix(line, statePrefix)
	if !ok {
		return nil, fmt.Errorf("no state line")
	}
	enc, ok = strings.CutSuffix(enc, " -->")
	if !ok {
		return nil, fmt.Errorf("state line not closed")
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("state line: %w", err)
	}
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("state line: %w", err)
	}
	if s.V != 1 || s.Model != key.Model || s.Environment != key.Environment {
		return nil, fmt.Errorf("state line is for version %d, model %q, environment %q", s.V, s.Model, s.Environment)
	}
	if s.Episode != episodeActive && s.Episode != episodeResolved {
		return nil, fmt.Errorf("state line: episode %q", s.Episode)
	}
	// Re-apply the row bounds: the body may have been edited.
	if len(s.Rows) > MaxHistory {
		s.Rows = s.Rows[len(s.Rows)-MaxHistory:]
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		if len(r.Drifted) > maxColumnsPerRow {
			r.Drifted = r.Drifted[:maxColumnsPerRow]
		}
		for j, c := range r.Drifted {
			r.Drifted[j] = clip(c, maxNameLen)
		}
		if len(r.Metrics) > maxMetricsPerRow {
			r.Metrics = nil
		}
		for k, v := range r.Metrics {
			if utf8.RuneCountInString(k) > maxNameLen || utf8.RuneCountInString(v) > 32 {
				delete(r.Metrics, k)
			}
		}
		r.Share = clip(r.Share, 32)
		r.Report = clip(r.Report, 2048)
	}
	if s.Runs < len(s.Rows) {
		s.Runs = len(s.Rows)
	}
	return &s, nil
}
