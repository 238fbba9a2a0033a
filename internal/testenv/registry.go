package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// identityHeader is set by each registry StartRegistry runs to a random
// token, so that the readiness check cannot mistake another test's registry
// (which won a race for the same port) for its own.
const identityHeader = "X-Mlship-Testenv"

// StartRegistry starts the CNCF Distribution registry (built by Tool) on
// 127.0.0.1 and a free port, with filesystem storage in t.TempDir() (or
// WithStorageDir), deletes enabled and no authentication, and returns its
// "127.0.0.1:PORT". It returns once GET /v2/ answers, retrying on another
// port if the one it picked was taken meanwhile, and stops the registry in
// t.Cleanup. The registry's log goes into the test log when the test fails.
// go-containerregistry, crane and cosign talk plain HTTP to 127.0.0.1 on
// their own; oras needs --plain-http.
func StartRegistry(t testing.TB, opts ...Option) string {
	t.Helper()
	o := defaultRegistryOptions()
	for _, opt := range opts {
		opt(&o)
	}
	bin := Tool(t, "registry")
	storage := o.storageDir
	if storage == "" {
		storage = t.TempDir()
	}
	cfgDir := t.TempDir()

	const attempts = 5
	var errs []error
	for attempt := 1; attempt <= attempts; attempt++ {
		p, err := startRegistry(bin, cfgDir, storage, o)
		if err == nil {
			t.Cleanup(func() { p.stop(t, o.logAlways) })
			if attempt > 1 {
				t.Logf("testenv: registry listening on %s (attempt %d)", p.host, attempt)
			}
			return p.host
		}
		errs = append(errs, err)
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("testenv: starting the Distribution registry (%s) failed: %v", bin, errors.Join(errs...))
	return ""
}

var errPortTaken = errors.New("port already in use")

type registryProcess struct {
	host    string
	cmd     *exec.Cmd
	logs    *tailBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed
}

func startRegistry(bin, cfgDir, storage string, o registryOptions) (*registryProcess, error) {
	port, err := o.pickPort()
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	token := randomHex(16)
	cfg := filepath.Join(cfgDir, fmt.Sprintf("config-%d.yml", port))
	if err := os.WriteFile(cfg, registryConfig(host, storage, token, o), 0o644); err != nil {
		return nil, fmt.Errorf("writing the registry config: %w", err)
	}
	p := &registryProcess{host: host, logs: newTailBuffer(1 << 20), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", cfg)
	p.cmd.Env = registryEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(o.startTimeout)
	for {
		select {
		case <-p.done:
			logs := p.logs.String()
			if strings.Contains(logs, "address already in use") {
				return nil, fmt.Errorf("%s: %w", host, errPortTaken)
			}
			return nil, fmt.Errorf("registry on %s exited before it answered (%v); its log:\n%s", host, p.waitErr, logs)
		default:
		}
		if ready(client, host, token) {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("registry on %s did not answer GET /v2/ within %s; its log:\n%s", host, o.startTimeout, p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ready reports whether our registry (the one that sets token) answers GET /v2/.
func ready(client *http.Client, host, token string) bool {
	resp, err := client.Get("http://" + host + "/v2/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.Header.Get(identityHeader) == token
}

// stop ends the registry (SIGTERM, then SIGKILL after 5 s) and shows its log
// if the test failed or logAlways is set. A registry that died during the
// test fails it.
func (p *registryProcess) stop(t testing.TB, logAlways bool) {
	select {
	case <-p.done:
		t.Errorf("testenv: the registry on %s exited during the test (%v); its log:\n%s", p.host, p.waitErr, p.logs.String())
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.kill()
	}
	if logAlways || t.Failed() {
		t.Logf("testenv: log of the registry on %s:\n%s", p.host, p.logs.String())
	}
}

func (p *registryProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// registryConfig renders the registry's configuration. JSON strings are
// valid YAML scalars, so paths need no further quoting.
func registryConfig(host, storage, token string, o registryOptions) []byte {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return fmt.Appendf(nil, `version: 0.1
log:
  level: %s
  formatter: text
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  redirect:
    disable: true
  maintenance:
    uploadpurging:
      enabled: false
    readonly:
      enabled: %t
http:
  addr: %s
  secret: %s
  headers:
    X-Content-Type-Options: [nosniff]
    %s: [%s]
health:
  storagedriver:
    enabled: false
`, q(o.logLevel), q(storage), o.readOnly, q(host), q(token), identityHeader, q(token))
}

// registryEnv is the environment without REGISTRY_* variables (which would
// override the configuration) and with OpenTelemetry export turned off (the
// registry would otherwise try to send traces to localhost:4318).
func registryEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "REGISTRY_") || strings.HasPrefix(kv, "OTEL_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
		"OTEL_SDK_DISABLED=true",
	)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// BlobPath returns where a registry started WithStorageDir(storageDir) keeps
// the blob with the given digest ("sha256:<hex>"): tests overwrite it to
// simulate a tampered or corrupted registry.
func BlobPath(t testing.TB, storageDir, digest string) string {
	t.Helper()
	algo, hexPart, ok := strings.Cut(digest, ":")
	if !ok || algo == "" || len(hexPart) < 2 || strings.ContainsAny(hexPart, `/\.`) {
		t.Fatalf("testenv: BlobPath: %q is not a digest like sha256:<hex>", digest)
	}
	return filepath.Join(storageDir, "docker", "registry", "v2", "blobs", algo, hexPart[:2], hexPart, "data")
}

// InProcessRegistry starts go-containerregistry's pkg/registry on an
// httptest server and returns its "127.0.0.1:PORT"; it closes in t.Cleanup.
// It keeps everything in memory (chunked uploads included): for unit tests,
// not for GiB-sized benchmarks, which use StartRegistry. Pass
// registry.WithReferrersSupport(true) for the OCI 1.1 referrers API. Its
// request log goes into the test log when the test fails.
func InProcessRegistry(t testing.TB, opts ...registry.Option) string {
	t.Helper()
	logs := newTailBuffer(1 << 20)
	all := append([]registry.Option{registry.Logger(log.New(logs, "", log.Ltime|log.Lmicroseconds))}, opts...)
	s := httptest.NewServer(registry.New(all...))
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Logf("testenv: log of the in-process registry on %s:\n%s", s.Listener.Addr(), logs.String())
		}
	})
	return strings.TrimPrefix(s.URL, "http://")
}

// tailBuffer is a concurrency-safe writer that keeps about the last max
// bytes written, so a long benchmark's request log cannot eat the memory.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > b.max/2 {
		b.dropped += over
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("[... %d earlier bytes dropped ...]\n%s", b.dropped, b.buf)
	}
	return string(b.buf)
}
