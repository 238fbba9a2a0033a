package spec

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestMonitorSection: the monitor section loads with its defaults, and
// MonitorDrift lays it over the drift section: columns and thresholds it
// sets win, the rest default to drift's, prediction and label are ignored.
func TestMonitorSection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `name: "iris"
version: "1.0.0"
registry: repository: "ghcr.io/acme/iris"
eval: metrics: accuracy: direction: "maximize"
drift: {
	reference: "data/ref.csv"
	current:   "data/cur.csv"
	shareThreshold: 0.3
	columns: {a: test: "psi", b: ignore: true}
}
monitor: {
	current: "samples/*.csv.gz"
	columns: a: test: "ks"
	prediction: "pred"
	label:      "species"
	alert: dispatch: "retrain.yml"
}
`
	if err := os.WriteFile(filepath.Join(dir, "model.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	mo := m.Monitor
	if mo == nil || mo.Current != "samples/*.csv.gz" || mo.Alert.History != 10 || len(mo.Alert.Labels) != 1 || mo.Alert.Labels[0] != "mlship-alert" || mo.Alert.Dispatch != "retrain.yml" || mo.Alert.FailOnAlert {
		t.Fatalf("monitor = %+v", mo)
	}
	d := m.MonitorDrift()
	if d.ShareThreshold != 0.3 || d.MemoryBudget != "1GiB" {
		t.Errorf("share %v budget %q, want drift's 0.3 and 1GiB", d.ShareThreshold, d.MemoryBudget)
	}
	if d.Columns["a"].Test != "ks" || !d.Columns["b"].Ignore || !d.Columns["pred"].Ignore || !d.Columns["species"].Ignore {
		t.Errorf("columns %+v", d.Columns)
	}
	if m.Drift.Columns["a"].Test != "psi" {
		t.Error("MonitorDrift changed the drift section")
	}
	share := 0.8
	m.Monitor.ShareThreshold = &share
	if got := m.MonitorDrift().ShareThreshold; got != 0.8 {
		t.Errorf("monitor.shareThreshold 0.8 gave %v", got)
	}
	var none Model
	if d := none.MonitorDrift(); len(d.Columns) != 0 || d.ShareThreshold != 0 {
		t.Errorf("no sections: %+v", d)
	}
}
