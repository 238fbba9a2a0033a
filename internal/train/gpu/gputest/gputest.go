// Package gputest installs a stand-in nvidia-smi for tests: a shell
// script that prints what a real nvidia-smi printed (driver 580.159.04,
// H100 80GB HBM3) for hosts with 0, 1 or 8 GPUs, or a broken driver.
package gputest

import (
	"embed"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

//go:embed nvidia-smi banner.txt query-1.csv query-8.csv
var files embed.FS

// Host describes the stand-in: the directory to put first on PATH.
type Host struct {
	// Dir holds the nvidia-smi script.
	Dir string
	// Marker is a file to which every nvidia-smi invocation appends its arguments.
	Marker string
}

// Path returns PATH with Dir first.
func (h Host) Path() string { return h.Dir + string(os.PathListSeparator) + processPath() }

// processPath is the PATH this process hands its children.
func processPath() string {
	for _, kv := range os.Environ() {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return ""
}

// Install writes the stand-in into a temporary directory. gpus is "0",
// "1", "8" or "broken" (the driver cannot be reached, exit status 9).
func Install(t testing.TB, gpus string) Host {
	t.Helper()
	dir := t.TempDir()
	ents, err := files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "gpus"), []byte(gpus+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Host{Dir: dir, Marker: filepath.Join(dir, "invocations.log")}
}

// Lookup returns an environment lookup over PATH (Dir first) and extra
// ("CUDA_VISIBLE_DEVICES=0,1"), for gpu.WithLookupEnv.
func (h Host) Lookup(extra ...string) func(string) (string, bool) {
	env := map[string]string{"PATH": h.Path()}
	for _, kv := range extra {
		k, v, _ := cut(kv)
		env[k] = v
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}
