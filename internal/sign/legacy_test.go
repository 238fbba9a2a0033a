package sign

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/testenv"
)

func layerCount(t *testing.T, tag string) int {
	t.Helper()
	ref, err := name.ParseReference(tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("%s: %v", tag, err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return len(ls)
}

// TestLegacyDupesAndReplace: re-signing the same payload with the same key
// does not grow the legacy .sig tag; --replace keeps one attestation per
// predicate type in the .att tag, without it they accumulate.
func TestLegacyDupesAndReplace(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	keyPath, _ := keyPair(t, "cosign")
	s := keySigner(t, keyPath)
	d := pushRandom(t, host, "acme/iris", "v1")
	now := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	opts := []Option{WithFormat(FormatLegacy), WithClock(func() time.Time { return now })}
	var sigTag, attTag string
	for range 2 {
		r, err := Sign(bg, d.String(), s, opts...)
		if err != nil {
			t.Fatal(err)
		}
		sigTag = r.Tag
	}
	if n := layerCount(t, sigTag); n != 1 {
		t.Errorf("signing twice left %d signatures, want 1", n)
	}
	for _, replace := range []bool{false, false, true} {
		r, err := Attest(bg, d.String(), s, EvalPredicateType, evalResult(t, 0.95, true), append(opts, WithReplace(replace))...)
		if err != nil {
			t.Fatal(err)
		}
		attTag = r.Tag
		if _, err := Attest(bg, d.String(), s, ProvenancePredicateType, []byte(`{"buildDefinition":{}}`), opts...); err != nil {
			t.Fatal(err)
		}
	}
	// eval: 2 accumulated, then replaced by 1; provenance: 3 (never replaced).
	if n := layerCount(t, attTag); n != 4 {
		t.Errorf("attestations in %s: %d, want 4 (1 eval after --replace, 3 provenance)", attTag, n)
	}
}
