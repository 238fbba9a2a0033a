// Package setup_test checks the setup action's install script against a
// local HTTP server standing in for the GitHub release host.
package setup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mlship/mlship/internal/testenv"
)

// release builds a tar.gz holding an executable "mlship" that prints marker.
func release(t *testing.T, marker string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	script := "#!/bin/sh\necho " + marker + "\n"
	if err := tw.WriteHeader(&tar.Header{Name: "mlship", Mode: 0o755, Size: int64(len(script))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(script)); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

type host struct {
	files map[string][]byte
	hits  atomic.Int64
}

func (h *host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.hits.Add(1)
	b, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}

func runInstall(t *testing.T, env map[string]string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("bash", "install.sh")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func TestInstallRelease(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("the install script targets Linux and macOS runners")
	}
	arch := runtime.GOARCH
	asset := fmt.Sprintf("mlship_1.2.3_%s_%s.tar.gz", runtime.GOOS, arch)
	good := release(t, "released-1.2.3")
	sum := sha256.Sum256(good)

	tests := []struct {
		name      string
		checksums string
		wantErr   string
	}{
		{"good checksum", hex.EncodeToString(sum[:]) + "  " + asset + "\n", ""},
		{"bad checksum", strings.Repeat("0", 64) + "  " + asset + "\n", "checksum mismatch"},
		{"asset not listed", hex.EncodeToString(sum[:]) + "  other.tar.gz\n", "checksum mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &host{files: map[string][]byte{
				"/v1.2.3/" + asset:      good,
				"/v1.2.3/checksums.txt": []byte(tt.checksums),
			}}
			srv := httptest.NewServer(h)
			defer srv.Close()
			cache, ghPath, ghEnv := t.TempDir(), filepath.Join(t.TempDir(), "path"), filepath.Join(t.TempDir(), "env")
			env := map[string]string{"MLSHIP_VERSION": "v1.2.3", "MLSHIP_RELEASE_URL": srv.URL, "RUNNER_TOOL_CACHE": cache, "GITHUB_PATH": ghPath, "GITHUB_ENV": ghEnv}
			stdout, stderr, err := runInstall(t, env)
			bin := filepath.Join(cache, "mlship", "v1.2.3", runtime.GOOS+"-"+arch, "mlship")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(stdout+stderr, tt.wantErr) {
					t.Fatalf("install succeeded or said the wrong thing (err %v):\n%s%s", err, stdout, stderr)
				}
				if _, err := os.Stat(bin); err == nil {
					t.Errorf("a binary was installed despite the bad checksum")
				}
				return
			}
			if err != nil {
				t.Fatalf("install failed: %v\n%s%s", err, stdout, stderr)
			}
			out, err := exec.Command(bin).Output()
			if err != nil || strings.TrimSpace(string(out)) != "released-1.2.3" {
				t.Fatalf("installed binary: %q %v", out, err)
			}
			p, _ := os.ReadFile(ghPath)
			if strings.TrimSpace(string(p)) != filepath.Dir(bin) {
				t.Errorf("GITHUB_PATH = %q, want %s", p, filepath.Dir(bin))
			}
			// A second step of the same job reuses the tool cache: no download.
			before := h.hits.Load()
			if _, stderr, err := runInstall(t, env); err != nil {
				t.Fatalf("second install: %v %s", err, stderr)
			}
			if h.hits.Load() != before {
				t.Errorf("second install downloaded again")
			}
		})
	}
}

// TestInstallFallsBackToSource checks that a version with no release asset
// is built from the action's own source.
func TestInstallFallsBackToSource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mlship from source")
	}
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	cache := t.TempDir()
	env := map[string]string{"MLSHIP_VERSION": "v9.9.9", "MLSHIP_RELEASE_URL": srv.URL, "RUNNER_TOOL_CACHE": cache,
		"GOCACHE": os.Getenv("GOCACHE"), "GOPATH": os.Getenv("GOPATH"), "GOMODCACHE": os.Getenv("GOMODCACHE"), "GOFLAGS": os.Getenv("GOFLAGS"), "GOPROXY": os.Getenv("GOPROXY")}
	if env["GOCACHE"] == "" {
		out, _ := exec.Command("go", "env", "GOCACHE").Output()
		env["GOCACHE"] = strings.TrimSpace(string(out))
	}
	if env["GOMODCACHE"] == "" {
		out, _ := exec.Command("go", "env", "GOMODCACHE").Output()
		env["GOMODCACHE"] = strings.TrimSpace(string(out))
	}
	out := filepath.Join(t.TempDir(), "out")
	env["GITHUB_OUTPUT"] = out
	_, stderr, err := runInstall(t, env)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "building from source") {
		t.Errorf("no fallback message: %s", stderr)
	}
	b, _ := os.ReadFile(out)
	var bin string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "path=") {
			bin = strings.TrimPrefix(l, "path=")
		}
	}
	v, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(v), "mlship ") {
		t.Fatalf("built binary %s: %q %v", bin, v, err)
	}
}

// TestInstallVerifiesSignature checks the cosign signature over
// checksums.txt when a key is given: a release signed by that key
// installs, one signed by another key does not.
func TestInstallVerifiesSignature(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the cosign CLI")
	}
	t.Parallel()
	cosign := testenv.Tool(t, "cosign")
	keys := t.TempDir()
	for _, k := range []string{"release", "other"} {
		cmd := exec.Command(cosign, "generate-key-pair", "--output-key-prefix", filepath.Join(keys, k))
		cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=pw")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
		}
	}
	asset := fmt.Sprintf("mlship_1.2.3_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH)
	good := release(t, "signed-1.2.3")
	sum := sha256.Sum256(good)
	checksums := []byte(hex.EncodeToString(sum[:]) + "  " + asset + "\n")
	sumsFile := filepath.Join(keys, "checksums.txt")
	if err := os.WriteFile(sumsFile, checksums, 0o644); err != nil {
		t.Fatal(err)
	}
	sig := func(key string) []byte {
		cmd := exec.Command(cosign, "sign-blob", "--yes", "--tlog-upload=false", "--key", filepath.Join(keys, key+".key"), sumsFile)
		cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=pw")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cosign sign-blob: %v", err)
		}
		return out
	}
	for _, tt := range []struct {
		signer  string
		wantErr bool
	}{{"release", false}, {"other", true}} {
		h := &host{files: map[string][]byte{
			"/v1.2.3/" + asset:          good,
			"/v1.2.3/checksums.txt":     checksums,
			"/v1.2.3/checksums.txt.sig": sig(tt.signer),
		}}
		srv := httptest.NewServer(h)
		env := map[string]string{"MLSHIP_VERSION": "v1.2.3", "MLSHIP_RELEASE_URL": srv.URL, "RUNNER_TOOL_CACHE": t.TempDir(),
			"MLSHIP_COSIGN_KEY": filepath.Join(keys, "release.pub")}
		// install.sh finds cosign on PATH, as on a runner with
		// cosign-installer (exec keeps the last PATH given).
		env["PATH"] = filepath.Dir(cosign) + string(os.PathListSeparator) + os.Getenv("PATH")
		stdout, stderr, err := runInstall(t, env)
		srv.Close()
		if tt.wantErr {
			if err == nil || !strings.Contains(stdout+stderr, "does not verify") {
				t.Errorf("signed by %s: installed anyway or said the wrong thing (%v):\n%s%s", tt.signer, err, stdout, stderr)
			}
			continue
		}
		if err != nil {
			t.Errorf("signed by the release key: %v\n%s%s", err, stdout, stderr)
		}
	}
}
