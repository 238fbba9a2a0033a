package sign

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

const testPassword = "correct horse battery staple"

// keyPair writes cosign.key/cosign.pub (named prefix.key/.pub) into a
// temp dir and returns the paths.
func keyPair(t *testing.T, prefix string) (keyPath, pubPath string) {
	t.Helper()
	priv, pub, err := GenerateKeyPair([]byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath, pubPath = filepath.Join(dir, prefix+".key"), filepath.Join(dir, prefix+".pub")
	if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return keyPath, pubPath
}

func keySigner(t *testing.T, keyPath string, opts ...SignerOption) *Signer {
	t.Helper()
	sv, err := LoadPrivateKey(keyPath, []byte(testPassword), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewKeySigner(sv, filepath.Base(keyPath), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pubKey(t *testing.T, pubPath string) PublicKey {
	t.Helper()
	k, err := LoadPublicKey(pubPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.Name = filepath.Base(pubPath)
	return k
}

// pushRandom pushes a small random image to host/repo:tag and returns
// its digest reference.
func pushRandom(t *testing.T, host, repo, tag string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// copyTag copies the manifest at src to tag dst (a registry-side copy
// that an attacker with push access could do).
func copyTag(t *testing.T, src, dst string) {
	t.Helper()
	s, err := name.ParseReference(src)
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewTag(dst)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(s)
	if err != nil {
		t.Fatalf("get %s: %v", src, err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d, img); err != nil {
		t.Fatalf("write %s: %v", dst, err)
	}
}

func evalResult(t *testing.T, acc float64, passed bool) []byte {
	t.Helper()
	min := 0.9
	p := EvalPredicate{
		Metrics:    map[string]float64{"accuracy": acc, "f1": acc - 0.01},
		Thresholds: map[string]Threshold{"accuracy": {Min: &min}},
		Baseline:   &Baseline{Digest: "sha256:" + strings.Repeat("ab", 32), Metrics: map[string]float64{"accuracy": 0.88}},
		Datasets:   []Dataset{{Name: "iris-test", URI: "data/test.csv", Digest: "sha256:" + strings.Repeat("cd", 32)}},
		Gates:      []GateResult{{Metric: "accuracy", Value: acc, Op: ">=", Bound: min, Passed: passed}},
		Passed:     passed,
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refusal asserts err is a *Refusal whose message contains want.
func refusal(t *testing.T, err error, want string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("want a refusal containing %q, got %v", want, err)
	}
	if !strings.Contains(r.Error(), want) {
		t.Fatalf("refusal %q does not contain %q", r.Error(), want)
	}
}

var bg = context.Background()

type (
	x509Certificate = x509.Certificate
	cryptoPublicKey = crypto.PublicKey
)

// otherRoot is a CA nobody issued from.
func otherRoot(t *testing.T) *x509.Certificate {
	t.Helper()
	c, _, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func mustHash(t *testing.T) v1.Hash {
	t.Helper()
	h, err := v1.NewHash("sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	return h
}
