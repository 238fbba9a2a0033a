package ghapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mlship/mlship/internal/githubtest"
)

func testBundle(predicateType string, digests ...string) []byte {
	var subj []map[string]any
	for i, d := range digests {
		subj = append(subj, map[string]any{"name": fmt.Sprintf("m%d", i), "digest": map[string]string{"sha256": d}})
	}
	st, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "subject": subj, "predicateType": predicateType, "predicate": map[string]any{"k": "v"}})
	b, _ := json.MarshalIndent(map[string]any{
		"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": "key"}},
		"dsseEnvelope": map[string]any{"payload": base64.StdEncoding.EncodeToString(st), "payloadType": "application/vnd.in-toto+json",
			"signatures": []any{map[string]any{"sig": base64.StdEncoding.EncodeToString([]byte("sig"))}}},
	}, "", "  ")
	return b
}

func digestOf(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func TestAttestations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	d := digestOf("model")
	const promo = "https://mlship.dev/attestations/promotion/v1"
	var want [][]byte
	for i := 0; i < 104; i++ { // more than one page of 100
		pt := promo
		if i%2 == 1 {
			pt = "https://slsa.dev/provenance/v1"
		}
		b := testBundle(pt, d, digestOf(fmt.Sprint(i)))
		id, err := c.CreateAttestation(ctx, owner, repo, b)
		if err != nil || id == 0 {
			t.Fatalf("create %d: %d %v", i, id, err)
		}
		want = append(want, b)
	}
	all, err := c.ListAttestations(ctx, owner, repo, "sha256:"+d, AttestationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 104 {
		t.Fatalf("%d attestations, want 104", len(all))
	}
	// Newest first; the bundle comes back as stored (JSON-equal).
	var compact bytes.Buffer
	_ = json.Compact(&compact, want[103])
	if !bytes.Equal(all[0].Bundle, compact.Bytes()) || all[0].RepositoryID == 0 || all[0].BundleURL == "" {
		t.Fatalf("first = %+v\nwant bundle %s", all[0], compact.Bytes())
	}
	tests := []struct {
		name   string
		digest string
		f      AttestationFilter
		want   int
	}{
		{"predicate URI", "sha256:" + d, AttestationFilter{PredicateType: promo}, 52},
		{"predicate short name", "sha256:" + d, AttestationFilter{PredicateType: "provenance"}, 52},
		{"limit", "sha256:" + d, AttestationFilter{Limit: 7}, 7},
		{"second subject", "sha256:" + digestOf("3"), AttestationFilter{}, 1},
		{"none", "sha256:" + digestOf("nothing"), AttestationFilter{}, 0},
	}
	for _, tt := range tests {
		got, err := c.ListAttestations(ctx, owner, repo, tt.digest, tt.f)
		if err != nil || len(got) != tt.want || got == nil {
			t.Errorf("%s: %d attestations (%v), want %d (non-nil)", tt.name, len(got), err, tt.want)
		}
	}
}

func TestAttestationRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	tests := []struct {
		name       string
		call       func() error
		wantStatus int
	}{
		{"not JSON", func() error { _, err := c.CreateAttestation(ctx, owner, repo, []byte("nope")); return err }, 0},
		{"JSON array", func() error { _, err := c.CreateAttestation(ctx, owner, repo, []byte("[1]")); return err }, 0},
		{"unreadable bundle answers 422", func() error {
			_, err := c.CreateAttestation(ctx, owner, repo, testBundle("x"))
			return err
		}, 422},
		{"digest without algorithm", func() error {
			_, err := c.ListAttestations(ctx, owner, repo, digestOf("x"), AttestationFilter{})
			return err
		}, 0},
		{"path in digest", func() error {
			_, err := c.ListAttestations(ctx, owner, repo, "sha256:../../../issues", AttestationFilter{})
			return err
		}, 0},
		{"upper-case digest", func() error {
			_, err := c.ListAttestations(ctx, owner, repo, "sha256:"+fmt.Sprintf("%X", sha256.Sum256(nil)), AttestationFilter{})
			return err
		}, 0},
	}
	for _, tt := range tests {
		err := tt.call()
		if err == nil || StatusCode(err) != tt.wantStatus {
			t.Errorf("%s: err = %v, want one with status %d", tt.name, err, tt.wantStatus)
		}
	}
	if n := len(s.Attestations(owner, repo)); n != 0 {
		t.Errorf("%d attestations stored by refused calls", n)
	}
}
