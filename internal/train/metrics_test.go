package train

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReadMetrics checks train reads its metrics file through the one
// parser (internal/metrics holds the format's cases): final values, the
// per-step history, and a refusal that names the file.
func TestReadMetrics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m, err := ReadMetrics(write("log.jsonl", "{\"step\":1,\"loss\":0.9}\n{\"step\":2,\"loss\":0.5,\"ok\":true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]float64{"step": 2, "loss": 0.5, "ok": 1}; !reflect.DeepEqual(m.Final, want) {
		t.Errorf("final %v, want %v", m.Final, want)
	}
	if len(m.History) != 2 {
		t.Errorf("history %v, want 2 records", m.History)
	}
	m, err = ReadMetrics(write("final.json", `{"accuracy": 0.96}`))
	if err != nil || m.History != nil {
		t.Fatalf("one object: %+v, %v (want no history)", m, err)
	}
	bad := write("bad.json", "{\"loss\": 0.5}\n{\"loss\": 1e999}")
	if _, err := ReadMetrics(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "not a finite number") {
		t.Fatalf("err = %v, want the overflow refused, naming %s", err, bad)
	}
	if _, err := ReadMetrics(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "does the training write it") {
		t.Fatalf("err = %v", err)
	}
}
