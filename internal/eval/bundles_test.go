package eval

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

// TestBundleBaseline reads a baseline whose eval attestation is only a
// Sigstore bundle (as cosign 3 and mlship --format bundle write it), on a
// registry with the referrers API and on one with the tag schema.
func TestBundleBaseline(t *testing.T) {
	t.Parallel()
	priv, _, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sign.LoadPrivateKey("env://K", []byte("pw"), func(string) string { return string(priv) })
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewKeySigner(sv, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, referrers := range []bool{false, true} {
		host := testenv.InProcessRegistry(t, registry.WithReferrersSupport(referrers))
		img := modelImage(t, map[string]string{AnnotationMetrics: `{"accuracy":0.1}`})
		ref, _ := name.ParseReference(host + "/iris:prod")
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		pred, _ := json.Marshal(Result{SchemaVersion: SchemaVersion, Model: ModelRef{Version: "2.0.0"}, Metrics: Metrics{"accuracy": 0.96}})
		if _, err := sign.Attest(context.Background(), host+"/iris@"+h.String(), s, PredicateType, pred, sign.WithFormat(sign.FormatBundle)); err != nil {
			t.Fatal(err)
		}
		m := testModel("")
		m.Registry.Repository = host + "/iris"
		b, err := RegistryBaseline{}.Baseline(context.Background(), m, "prod")
		if err != nil || b.Metrics["accuracy"] != 0.96 || b.Version != "2.0.0" || !strings.HasPrefix(b.Digest, "sha256:") {
			t.Fatalf("referrers API %v: baseline %+v, %v; want the bundle's metrics", referrers, b, err)
		}
	}
}
