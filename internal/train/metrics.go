package train

import (
	"fmt"
	"os"

	"github.com/mlship/mlship/internal/metrics"
	"github.com/mlship/mlship/internal/train/lineage"
)

// ReadMetrics reads the training's metrics file with the one metrics
// parser (internal/metrics, whose package doc gives the rules): Final
// holds each metric's last value, History every record when there are
// several (a log of one record per step).
func ReadMetrics(path string) (*lineage.Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the metrics file: %w (does the training write it?)", err)
	}
	defer f.Close()
	mf, err := metrics.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("metrics file %s: %w", path, err)
	}
	m := &lineage.Metrics{Final: mf.Final}
	if len(mf.Records) > 1 {
		m.History = mf.Records
	}
	return m, nil
}
