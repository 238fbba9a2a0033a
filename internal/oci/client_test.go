package oci

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/testenv"
)

// TestErrNotFound: every way of "not there", registry or layout, is
// ErrNotFound; a failure whose text merely says "not found" is not.
func TestErrNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	// Failures are retried (fast here) before they are classified.
	c := NewClient(WithRetries(3, time.Millisecond))
	pushed, err := c.Push(ctx, modelSource(writeModel(t, 64)), host+"/acme/m:1")
	if err != nil {
		t.Fatal(err)
	}
	lay := filepath.Join(t.TempDir(), "lay")
	if _, err := c.Push(ctx, modelSource(writeModel(t, 64)), "oci:"+lay+":1"); err != nil {
		t.Fatal(err)
	}
	// A registry whose 500 says "not found" in words: a failure, not absence.
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"errors":[{"code":"UNKNOWN","message":"404 Not Found: MANIFEST_UNKNOWN not found in layout"}]}`))
	}))
	t.Cleanup(liar.Close)
	bare := strings.TrimPrefix(liar.URL, "http://")
	none := "sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		name string
		call func() error
		want bool
	}{
		{"registry missing tag (Manifest)", func() error { _, _, _, err := c.Manifest(ctx, host+"/acme/m:nope"); return err }, true},
		{"registry missing tag (Resolve, HEAD)", func() error { _, err := c.Resolve(ctx, host+"/acme/m:nope"); return err }, true},
		{"registry missing digest", func() error { _, _, _, err := c.Manifest(ctx, host+"/acme/m@"+none); return err }, true},
		{"registry missing repository (ListTags)", func() error { _, err := c.ListTags(ctx, host+"/acme/none"); return err }, true},
		{"registry missing blob", func() error { _, err := c.Blob(ctx, host+"/acme/m", none, 1<<20); return err }, true},
		{"registry Tag of a missing source", func() error { _, err := c.Tag(ctx, host+"/acme/m:nope", "x"); return err }, true},
		{"layout missing tag", func() error { _, _, _, err := c.Manifest(ctx, "oci:"+lay+":nope"); return err }, true},
		{"layout missing digest (Resolve)", func() error { _, err := c.Resolve(ctx, "oci:"+lay+"@"+none); return err }, true},
		{"layout missing blob", func() error { _, err := c.Blob(ctx, "oci:"+lay, none, 1<<20); return err }, true},
		{"no layout at all", func() error { _, _, _, err := c.Manifest(ctx, "oci:"+lay+"-absent:1"); return err }, true},
		{"500 that says not found", func() error { _, _, _, err := c.Manifest(ctx, bare+"/acme/m:1"); return err }, false},
		{"unreachable registry", func() error { _, _, _, err := c.Manifest(ctx, "127.0.0.1:1/acme/m:1"); return err }, false},
	} {
		err := tc.call()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := errors.Is(err, ErrNotFound); got != tc.want {
			t.Errorf("%s: errors.Is(ErrNotFound) = %v, want %v (%v)", tc.name, got, tc.want, err)
		}
	}
	if d, _, mt, err := c.Manifest(ctx, pushed.Ref); err != nil || d != pushed.Digest || mt != ManifestMediaType {
		t.Errorf("Manifest(%s) = %s %s %v", pushed.Ref, d, mt, err)
	}
}

// TestClientSharedSettings: the client's settings reach every call, the
// cosign door included; per-call options do not stick to the client.
func TestClientSharedSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	var mu sync.Mutex
	agents := map[string]bool{}
	spy := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		agents[r.Header.Get("User-Agent")] = true
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})
	c := NewClient(WithUserAgent("mlship/test"), WithTransport(spy))
	res, err := c.Push(ctx, modelSource(writeModel(t, 64)), host+"/acme/m:1", WithAnnotations(map[string]string{"a": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.opts(nil).annotations != nil {
		t.Error("a per-call annotation stuck to the client")
	}
	ref, err := name.ParseReference(res.Ref, c.NameOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Get(ref, c.RemoteOptions(ctx)...); err != nil {
		t.Fatalf("RemoteOptions: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for ua := range agents {
		if !strings.HasPrefix(ua, "mlship/test") {
			t.Errorf("a request went out as %q", ua)
		}
	}
	if len(agents) == 0 {
		t.Error("the transport saw no request")
	}
	if NewClient(WithPlainHTTP(true)).NameOptions() == nil || NewClient().NameOptions() != nil {
		t.Error("NameOptions do not follow plain HTTP")
	}
}

// TestFindAnnotated: the tag must carry the annotation in full; in a
// layout an untagged entry counts.
func TestFindAnnotated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	c := NewClient()
	res, err := c.Push(ctx, modelSource(writeModel(t, 64)), host+"/acme/m:in", WithAnnotations(map[string]string{"k": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ repo, tag, value, want string }{
		{host + "/acme/m", "in", "v", res.Ref},
		{host + "/acme/m", "in", "v2", ""},
		{host + "/acme/m", "other", "v", ""},
		{host + "/acme/none", "in", "v", ""},
		{"oci:" + filepath.Join(t.TempDir(), "absent"), "in", "v", ""},
	} {
		ref, _, err := c.FindAnnotated(ctx, tc.repo, tc.tag, "k", tc.value)
		if err != nil || ref != tc.want {
			t.Errorf("FindAnnotated(%s:%s, %s) = %q %v, want %q", tc.repo, tc.tag, tc.value, ref, err, tc.want)
		}
	}
}
