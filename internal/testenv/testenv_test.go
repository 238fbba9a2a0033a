package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// fakeTB records what a helper reports instead of failing the real test.
// Fatalf and Skipf end the goroutine they run in, like testing.T's.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Logf(format string, args ...any) {
	f.TB.Logf(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// capture runs fn with a fakeTB wrapping t in its own goroutine and returns
// the fakeTB once fn returned or called Fatalf/Skipf.
func capture(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func pushRandomImage(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("pushing to %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestRepoRoot(t *testing.T) {
	t.Parallel()
	root := RepoRoot(t)
	mod, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil || mod != ModulePath {
		t.Fatalf("RepoRoot = %s with module %q (%v), want module %s", root, mod, err, ModulePath)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "tools", "build.sh")); err != nil {
		t.Errorf("RepoRoot = %s has no internal/tools/build.sh: %v", root, err)
	}
}

func TestModulePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, gomod, want string
		wantErr           bool
	}{
		{"plain", "module github.com/mlship/mlship\n\ngo 1.26\n", "github.com/mlship/mlship", false},
		{"comment first", "// a tool\nmodule github.com/mlship/mlship/internal/tools/act\n", "github.com/mlship/mlship/internal/tools/act", false},
		{"quoted", "module \"example.com/x\"\n", "example.com/x", false},
		{"none", "go 1.26\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "go.mod")
			if err := os.WriteFile(p, []byte(tc.gomod), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := modulePath(p)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("modulePath = %q, %v; want %q, error %t", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestTools(t *testing.T) {
	t.Parallel()
	got := strings.Join(Tools(t), " ")
	if want := "act actionlint cosign cosign3 crane oras registry"; got != want {
		t.Errorf("Tools = %q, want %q", got, want)
	}
}

func TestToolUnknown(t *testing.T) {
	t.Parallel()
	f := capture(t, func(tb testing.TB) { Tool(tb, "skopeo-nope") })
	if !strings.Contains(f.fatal, `unknown tool "skopeo-nope"`) || !strings.Contains(f.fatal, "cosign") {
		t.Errorf("Tool of an unknown name: fatal = %q, want it to name the tool and list the pinned ones", f.fatal)
	}
}

func TestToolsDirEnv(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "crane")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho fake\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ToolsDirEnv, dir)
	if got := Tool(t, "crane"); got != fake {
		t.Errorf("Tool with %s=%s = %s, want %s", ToolsDirEnv, dir, got, fake)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	for _, tc := range []struct {
		name       string
		script     string
		wantOut    string
		wantFatals []string // empty: must succeed
	}{
		{"stdout only", "echo out; echo err >&2", "out\n", nil},
		{"failure shows stderr and status", "echo partial; echo 'it broke' >&2; exit 3",
			"", []string{"exit status 3", "it broke", "partial", "sh -c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got string
			f := capture(t, func(tb testing.TB) { got = Run(tb, t.TempDir(), "/bin/sh", "-c", tc.script) })
			if len(tc.wantFatals) == 0 {
				if f.fatal != "" || got != tc.wantOut {
					t.Errorf("Run = %q (fatal %q), want %q", got, f.fatal, tc.wantOut)
				}
				return
			}
			for _, w := range tc.wantFatals {
				if !strings.Contains(f.fatal, w) {
					t.Errorf("Run of a failing command: fatal = %q, want it to contain %q", f.fatal, w)
				}
			}
		})
	}
}

func TestTryCmd(t *testing.T) {
	t.Parallel()
	cmd := Command(t, "", "/bin/sh", "-c", `echo "$GREETING"; echo no >&2; exit 1`)
	cmd.Env = append(os.Environ(), "GREETING=hello")
	out, errOut, err := TryCmd(t, cmd)
	if err == nil || out != "hello\n" || errOut != "no\n" {
		t.Errorf("TryCmd = %q, %q, %v; want hello, no and an exit error", out, errOut, err)
	}
}

func TestBlobPath(t *testing.T) {
	t.Parallel()
	got := BlobPath(t, "/s", "sha256:abcdef")
	if want := filepath.FromSlash("/s/docker/registry/v2/blobs/sha256/ab/abcdef/data"); got != want {
		t.Errorf("BlobPath = %s, want %s", got, want)
	}
	for _, bad := range []string{"abcdef", "sha256:", "sha256:../../etc"} {
		f := capture(t, func(tb testing.TB) { BlobPath(tb, "/s", bad) })
		if f.fatal == "" {
			t.Errorf("BlobPath(%q) did not fail", bad)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	b := newTailBuffer(10)
	for i := range 10 {
		fmt.Fprintf(b, "line%d\n", i)
	}
	s := b.String()
	if !strings.HasSuffix(s, "line9\n") || !strings.Contains(s, "dropped") || strings.Contains(s, "line0") {
		t.Errorf("tailBuffer kept %q, want the tail and a note of what was dropped", s)
	}
}

func TestInProcessRegistry(t *testing.T) {
	t.Parallel()
	host := InProcessRegistry(t)
	want := pushRandomImage(t, host+"/testenv/random:v1")
	desc, err := remote.Head(must(name.ParseReference(host+"/testenv/random:v1")), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != want {
		t.Errorf("HEAD digest = %s, want %s", desc.Digest, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestStartRegistry pushes a random image to a real Distribution registry
// with go-containerregistry, reads its digest back with the pinned crane,
// checks that it lands in the storage directory, and deletes it.
func TestStartRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry (built on first use)")
	}
	t.Parallel()
	storage := t.TempDir()
	host := StartRegistry(t, WithStorageDir(storage))
	ref := host + "/testenv/random:v1"
	want := pushRandomImage(t, ref)

	// Every client the interop tests use reads it back.
	clients := [][]string{
		{"crane", "digest", ref},
		{"oras", "resolve", "--plain-http", ref},
	}
	if _, err := exec.LookPath("skopeo"); err == nil { // apt-get install skopeo; absent on a Go-only CI
		clients = append(clients, []string{"skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://" + ref})
	} else {
		t.Log("skopeo is not on $PATH: reading with crane and oras only")
	}
	for _, c := range clients {
		cmd := Command(t, "", c[0], c[1:]...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		if got := strings.TrimSpace(RunCmd(t, cmd)); got != want {
			t.Errorf("%s = %s, want %s", strings.Join(c, " "), got, want)
		}
	}
	if _, err := os.Stat(BlobPath(t, storage, want)); err != nil {
		t.Errorf("the manifest blob is not where BlobPath says: %v", err)
	}
	// Deletes are enabled.
	Run(t, "", "crane", "delete", host+"/testenv/random@"+want)
	resp, err := http.Get("http://" + host + "/v2/testenv/random/manifests/" + want)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a deleted manifest: %s %s, want 404", resp.Status, body)
	}
}

// TestStartRegistryParallel starts several registries at once: each must
// get its own port and its own storage.
func TestStartRegistryParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry (built on first use)")
	}
	t.Parallel()
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			host := StartRegistry(t)
			repo := fmt.Sprintf("testenv/only-in-%d", i)
			pushRandomImage(t, host+"/"+repo+":v1")
			resp, err := http.Get("http://" + host + "/v2/_catalog")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var catalog struct{ Repositories []string }
			if err := json.NewDecoder(resp.Body).Decode(&catalog); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(catalog.Repositories, ","); got != repo {
				t.Errorf("catalog of %s = %q, want only %q", host, got, repo)
			}
		})
	}
}

func TestStartRegistryReadOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry (built on first use)")
	}
	t.Parallel()
	host := StartRegistry(t, WithReadOnly())
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(must(name.ParseReference(host+"/testenv/ro:v1")), img, remote.WithContext(t.Context())); err == nil {
		t.Errorf("push to a read-only registry succeeded")
	}
}

// TestToolVersions runs every pinned tool and checks that it reports the
// version pinned in internal/tools.
func TestToolVersions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tool string
		args []string
		want string
	}{
		{"registry", []string{"--version"}, "v3.1.2"},
		{"cosign", []string{"version"}, "v2.6.5"},
		{"act", []string{"--version"}, "0.2.89"},
		{"oras", []string{"version"}, "1.3.6"},
		{"crane", []string{"version"}, "v0.22.1"},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			t.Parallel()
			cmd := Command(t, t.TempDir(), tc.tool, tc.args...)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no config of the user's
			if out := RunCmd(t, cmd); !strings.Contains(out, tc.want) {
				t.Errorf("%s %s = %q, want version %s", tc.tool, strings.Join(tc.args, " "), out, tc.want)
			}
		})
	}
}

// TestBuildScript checks build.sh's refusals and that it skips a tool
// already built for the pinned version.
func TestBuildScript(t *testing.T) {
	t.Parallel()
	script := filepath.Join(RepoRoot(t), "internal", "tools", "build.sh")
	t.Run("unknown tool", func(t *testing.T) {
		t.Parallel()
		_, stderr, err := TryCmd(t, Command(t, "", "bash", script, t.TempDir(), "nope"))
		if err == nil || !strings.Contains(stderr, `unknown tool "nope"`) {
			t.Errorf("build.sh DIR nope: err %v, stderr %q; want a refusal naming the tool", err, stderr)
		}
	})
	t.Run("no dir", func(t *testing.T) {
		t.Parallel()
		_, stderr, err := TryCmd(t, Command(t, "", "bash", script))
		if err == nil || !strings.Contains(stderr, "usage") {
			t.Errorf("build.sh without DIR: err %v, stderr %q; want usage", err, stderr)
		}
	})
	t.Run("up to date", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("builds crane on first use")
		}
		dir := filepath.Join(RepoRoot(t), ".cache", "tools")
		Run(t, "", "bash", script, dir, "crane") // builds it if needed
		out := Run(t, "", "bash", script, dir, "crane")
		if !strings.Contains(out, "crane v0.22.1 up to date") {
			t.Errorf("build.sh after a build = %q, want up to date", out)
		}
	})
}

// TestStartRegistryPortTaken makes the first port StartRegistry picks busy
// with an impostor that answers GET /v2/ like a registry: StartRegistry must
// not take it for its own, and must retry on another port.
func TestStartRegistryPortTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry (built on first use)")
	}
	t.Parallel()
	impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
		w.Header().Set(identityHeader, "someone else")
	}))
	defer impostor.Close()
	busy := impostor.Listener.Addr().(*net.TCPAddr).Port
	picks := 0
	pick := func() (int, error) {
		picks++
		if picks == 1 {
			return busy, nil
		}
		return freePort()
	}
	host := StartRegistry(t, func(o *registryOptions) { o.pickPort = pick })
	if picks < 2 || host == impostor.Listener.Addr().String() {
		t.Fatalf("StartRegistry = %s after %d port picks; want a second port, not the impostor's %d", host, picks, busy)
	}
	pushRandomImage(t, host+"/testenv/retried:v1")
}
