package eval

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/mlship/mlship/internal/oci"
)

func modelImage(t *testing.T, ann map[string]string) v1.Image {
	t.Helper()
	return mutate.Annotations(empty.Image, ann).(v1.Image)
}

func attestationImage(t *testing.T, predicateType string, predicate any) v1.Image {
	t.Helper()
	stmt, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": predicateType, "predicate": predicate})
	env, _ := json.Marshal(map[string]any{"payloadType": "application/vnd.in-toto+json", "payload": base64.StdEncoding.EncodeToString(stmt), "signatures": []any{}})
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(env, types.MediaType("application/vnd.dsse.envelope.v1+json")))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func attTag(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(d.String(), ":", "-", 1) + ".att"
}

func TestRegistryBaseline(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	push := func(ref string, img v1.Image) {
		t.Helper()
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
	}

	// prod: annotation only; staging: attestation (which wins over the
	// annotation); dev: neither.
	prod := modelImage(t, map[string]string{AnnotationMetrics: `{"accuracy":0.93}`, "org.opencontainers.image.version": "1.0.0"})
	push(host+"/iris:prod", prod)
	staging := modelImage(t, map[string]string{AnnotationMetrics: `{"accuracy":0.1}`})
	push(host+"/iris:staging", staging)
	push(host+"/iris:"+attTag(t, staging), attestationImage(t, PredicateType, Result{SchemaVersion: SchemaVersion, Model: ModelRef{Version: "1.2.0"}, Metrics: Metrics{"accuracy": 0.97}}))
	dev := modelImage(t, map[string]string{"x": "y"})
	push(host+"/iris:dev", dev)
	push(host+"/iris:"+attTag(t, dev), attestationImage(t, "https://slsa.dev/provenance/v1", map[string]any{}))

	m := testModel("")
	m.Registry.Repository = host + "/iris"
	src := RegistryBaseline{}

	b, err := src.Baseline(ctx, m, "prod")
	if err != nil {
		t.Fatal(err)
	}
	pd, _ := prod.Digest()
	if b.Metrics["accuracy"] != 0.93 || b.Digest != pd.String() || b.Version != "1.0.0" || b.Source != "registry" || b.Ref != host+"/iris:prod" {
		t.Fatalf("prod baseline: %+v", b)
	}
	b, err = src.Baseline(ctx, m, "staging")
	if err != nil || b.Metrics["accuracy"] != 0.97 || b.Version != "1.2.0" {
		t.Fatalf("staging baseline from the attestation: %+v %v", b, err)
	}
	if _, err := src.Baseline(ctx, m, "dev"); !errors.Is(err, ErrNoBaseline) || !strings.Contains(err.Error(), AnnotationMetrics) {
		t.Fatalf("dev without metrics: %v", err)
	}
	if _, err := src.Baseline(ctx, m, "canary"); !errors.Is(err, ErrNoBaseline) {
		t.Fatalf("missing tag: %v", err)
	}
	m.Registry.Repository = host + "/other"
	if _, err := src.Baseline(ctx, m, "prod"); !errors.Is(err, ErrNoBaseline) {
		t.Fatalf("missing repository: %v", err)
	}
	// An unreachable registry is an error, not a silent bounds-only pass.
	dead := httptest.NewServer(registry.New())
	deadHost := strings.TrimPrefix(dead.URL, "http://")
	dead.Close()
	if _, err := (RegistryBaseline{Repository: deadHost + "/iris"}).Baseline(ctx, m, "prod"); err == nil || errors.Is(err, ErrNoBaseline) {
		t.Fatalf("unreachable registry: %v", err)
	}
}

func TestLayoutBaseline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img := modelImage(t, map[string]string{AnnotationMetrics: `{"accuracy":0.9}`})
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "prod"})); err != nil {
		t.Fatal(err)
	}
	src := RegistryBaseline{Repository: "oci:" + dir}
	b, err := src.Baseline(context.Background(), testModel(""), "prod")
	if err != nil || b.Metrics["accuracy"] != 0.9 {
		t.Fatalf("layout baseline: %+v %v", b, err)
	}
	if _, err := src.Baseline(context.Background(), testModel(""), "staging"); !errors.Is(err, ErrNoBaseline) {
		t.Fatalf("missing tag in layout: %v", err)
	}
	if _, err := (RegistryBaseline{Repository: "oci:" + dir + "/nope"}).Baseline(context.Background(), testModel(""), "prod"); !errors.Is(err, ErrNoBaseline) {
		t.Fatalf("missing layout: %v", err)
	}
}

type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestRegistryBaselineUsesTheClient: the baseline is read through the
// process's client (its credentials and transport), not a second stack.
func TestRegistryBaselineUsesTheClient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	r, _ := name.ParseReference(host+"/iris:prod", name.Insecure)
	if err := remote.Write(r, modelImage(t, map[string]string{AnnotationMetrics: `{"accuracy":0.9}`})); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	src := RegistryBaseline{Repository: host + "/iris", Client: oci.NewClient(oci.WithTransport(countingTransport{&n}))}
	b, err := src.Baseline(context.Background(), testModel(""), "prod")
	if err != nil || b.Metrics["accuracy"] != 0.9 {
		t.Fatalf("baseline: %+v %v", b, err)
	}
	if n.Load() == 0 {
		t.Error("the baseline did not go through the client's transport")
	}
}
