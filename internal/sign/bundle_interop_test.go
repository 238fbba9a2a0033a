package sign_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/sign/signtest"
	"github.com/mlship/mlship/internal/testenv"
)

// interopRegistries are the registries the bundle interop runs on:
// Distribution (no referrers API: the referrers tag schema) and
// go-containerregistry's registry with the referrers API.
func interopRegistries(t *testing.T) map[string]string {
	return map[string]string{
		"distribution":  testenv.StartRegistry(t),
		"referrers API": testenv.InProcessRegistry(t, registry.WithReferrersSupport(true)),
	}
}

// emptyTrustedRoot is a Sigstore trusted root with no services: all a
// key-only verification needs from it.
func emptyTrustedRoot(t *testing.T, dir string) string {
	t.Helper()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// signingConfig makes cosign 3's signing config with no services, the
// way to sign with a key and no transparency log.
func signingConfig(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "signing-config.json")
	if out, err := cosignTool(t, "cosign3", nil, "signing-config", "create", "--out", p); err != nil {
		t.Fatalf("cosign signing-config create: %v\n%s", err, out)
	}
	return p
}

// TestBundleInterop proves the bundle format both ways against the real
// cosign v2.6.5 and v3.1.3 CLIs with their default formats, on both
// kinds of registry.
func TestBundleInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cosign v2 and v3 and the Distribution registry")
	}
	t.Parallel()
	for regName, host := range interopRegistries(t) {
		t.Run(regName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			keyPath, pubPath := writeKeyPair(t, dir, "cosign")
			_, otherPub := writeKeyPair(t, dir, "other")
			s := loadSigner(t, keyPath)
			evalFile := filepath.Join(dir, "eval.json")
			eval := []byte(`{"metrics":{"accuracy":0.95},"thresholds":{"accuracy":{"min":0.9}},"passed":true}`)
			if err := os.WriteFile(evalFile, eval, 0o644); err != nil {
				t.Fatal(err)
			}
			emptyRoot := emptyTrustedRoot(t, dir)
			verify := func(tool string, d string, pub string, att bool, extra ...string) (string, error) {
				args := []string{"verify", "--key", pub, "--insecure-ignore-tlog"}
				if att {
					args = []string{"verify-attestation", "--type", sign.EvalPredicateType, "--key", pub, "--insecure-ignore-tlog"}
				}
				return cosignTool(t, tool, nil, append(append(args, extra...), d)...)
			}

			// mlship writes each format; each cosign verifies with its
			// defaults. cosign 2.6.5 switches to the bundle whenever one is
			// attached and then needs a trusted root: from the public TUF
			// repository when online; offline, as here, it says so and
			// verifies once given one (--trusted-root).
			want := map[sign.Format]map[string]bool{
				sign.FormatBoth:   {"cosign": false, "cosign3": true},
				sign.FormatLegacy: {"cosign": true, "cosign3": true},
				sign.FormatBundle: {"cosign": false, "cosign3": true},
			}
			for _, f := range []sign.Format{sign.FormatBoth, sign.FormatBundle, sign.FormatLegacy} {
				d, _ := pushModel(t, host+"/acme/iris:"+string(f), "weights "+string(f))
				if _, err := sign.Sign(ctx, d.String(), s, sign.WithFormat(f)); err != nil {
					t.Fatal(err)
				}
				if _, err := sign.Attest(ctx, d.String(), s, sign.EvalPredicateType, eval, sign.WithFormat(f)); err != nil {
					t.Fatal(err)
				}
				for _, tool := range []string{"cosign", "cosign3"} {
					for _, att := range []bool{false, true} {
						out, err := verify(tool, d.String(), pubPath, att)
						if ok := err == nil; ok != want[f][tool] {
							t.Errorf("%s verify (attestation %v) of mlship's %s format: accepted=%v, want %v\n%s", tool, att, f, ok, want[f][tool], out)
						}
						if err != nil && !want[f][tool] && !strings.Contains(out, "trusted root is required when using new bundle format") {
							t.Errorf("%s verify (attestation %v) of mlship's %s format failed for another reason than the missing trusted root:\n%s", tool, att, f, out)
						}
						if !want[f][tool] {
							if out, err := verify(tool, d.String(), pubPath, att, "--trusted-root", emptyRoot); err != nil {
								t.Errorf("%s verify --trusted-root (attestation %v) of mlship's %s format: %v\n%s", tool, att, f, err, out)
							}
						}
						if out, err := verify(tool, d.String(), otherPub, att, "--trusted-root", emptyRoot); err == nil {
							t.Errorf("%s verify (attestation %v) accepted mlship's %s format with another key:\n%s", tool, att, f, out)
						}
					}
				}
			}

			// cosign 3 signs and attests with its defaults (bundles); mlship verifies.
			sc := signingConfig(t, dir)
			d3, _ := pushModel(t, host+"/acme/iris:cosign3", "weights by cosign3")
			if out, err := cosignTool(t, "cosign3", nil, "sign", "--key", keyPath, "--signing-config", sc, d3.String()); err != nil {
				t.Fatalf("cosign3 sign: %v\n%s", err, out)
			}
			if out, err := cosignTool(t, "cosign3", nil, "attest", "--key", keyPath, "--signing-config", sc, "--type", sign.EvalPredicateType, "--predicate", evalFile, d3.String()); err != nil {
				t.Fatalf("cosign3 attest: %v\n%s", err, out)
			}
			pol := &sign.Policy{Keys: []sign.PublicKey{loadPub(t, pubPath)}, Attestations: []sign.AttestationRule{sign.NewAttestationRule("eval")}}
			v, err := sign.Verify(ctx, d3.String(), pol)
			if err != nil {
				t.Fatalf("mlship rejected what cosign 3 signed and attested: %v", err)
			}
			if v.Signatures[0].Format != "bundle" || len(v.Attestations) != 1 || v.Attestations[0].Format != "bundle" || !*v.Attestations[0].Passed {
				t.Errorf("Verified = %+v", v)
			}
			if _, err := sign.Verify(ctx, d3.String(), &sign.Policy{Keys: []sign.PublicKey{loadPub(t, otherPub)}}); err == nil || !strings.Contains(err.Error(), "not signed by key other.pub") {
				t.Fatalf("mlship with another key: %v", err)
			}
			sts, err := sign.Statements(ctx, d3.String(), sign.EvalPredicateType)
			if err != nil || len(sts) != 1 {
				t.Fatalf("Statements of cosign 3's attestation: %v, %d", err, len(sts))
			}

			// cosign 2 signs and attests with its defaults (legacy tags); mlship verifies.
			d2, _ := pushModel(t, host+"/acme/iris:cosign2", "weights by cosign2")
			if out, err := cosignTool(t, "cosign", nil, "sign", "--key", keyPath, "--tlog-upload=false", d2.String()); err != nil {
				t.Fatalf("cosign sign: %v\n%s", err, out)
			}
			if out, err := cosignTool(t, "cosign", nil, "attest", "--key", keyPath, "--tlog-upload=false", "--type", sign.EvalPredicateType, "--predicate", evalFile, d2.String()); err != nil {
				t.Fatalf("cosign attest: %v\n%s", err, out)
			}
			v, err = sign.Verify(ctx, d2.String(), pol)
			if err != nil {
				t.Fatalf("mlship rejected what cosign 2 signed and attested: %v", err)
			}
			if v.Signatures[0].Format != "legacy" || len(v.Attestations) != 1 {
				t.Errorf("Verified = %+v", v)
			}
		})
	}
}

// TestCosign3Keyless has cosign 3 sign and attest keyless against the
// loopback Fulcio, Rekor and TSA (its own sigstore-go clients, with the
// test's signing config and trusted root), and mlship verify the bundles
// by identity: a second implementation of the keyless bundle format.
func TestCosign3Keyless(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cosign v3")
	}
	t.Parallel()
	wf := signtest.Workflow{Repository: "acme/iris", Path: ".github/workflows/release.yml", Ref: "refs/heads/main", SHA: strings.Repeat("7", 40), EventName: "push"}
	ss := signtest.Start(t, wf)
	host := testenv.InProcessRegistry(t, registry.WithReferrersSupport(true))
	ctx := context.Background()
	dir := t.TempDir()
	d, _ := pushModel(t, host+"/acme/iris:keyless", "keyless weights by cosign 3")
	tok, err := ss.Token(ctx, sign.Audience)
	if err != nil {
		t.Fatal(err)
	}
	const since = "start-time=2024-01-01T00:00:00Z,operator=mlship.test"
	sc := filepath.Join(dir, "signing-config.json")
	if out, err := cosignTool(t, "cosign3", nil, "signing-config", "create",
		"--fulcio=url="+ss.FulcioURL+",api-version=1,"+since,
		"--rekor=url="+ss.RekorURL+",api-version=1,"+since, "--rekor-config=ANY",
		"--tsa=url="+ss.TSAURL+",api-version=1,"+since, "--tsa-config=ANY",
		"--out", sc); err != nil {
		t.Fatalf("cosign signing-config create: %v\n%s", err, out)
	}
	evalFile := filepath.Join(dir, "eval.json")
	if err := os.WriteFile(evalFile, []byte(`{"metrics":{"accuracy":0.97},"passed":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--identity-token", tok, "--signing-config", sc, "--trusted-root", ss.TrustedRootFile}
	if out, err := cosignTool(t, "cosign3", nil, append(append([]string{"sign"}, common...), d.String())...); err != nil {
		t.Fatalf("cosign3 sign (keyless): %v\n%s", err, out)
	}
	if out, err := cosignTool(t, "cosign3", nil, append(append([]string{"attest", "--type", sign.EvalPredicateType, "--predicate", evalFile}, common...), d.String())...); err != nil {
		t.Fatalf("cosign3 attest (keyless): %v\n%s", err, out)
	}
	trust := &sign.TrustRoot{FulcioRoots: []*x509.Certificate{ss.Root}, FulcioIntermediates: []*x509.Certificate{ss.Intermediate}, RekorKeys: []crypto.PublicKey{ss.RekorKey}, TSAChains: [][]*x509.Certificate{ss.TSAChain}}
	id := sign.Identity{Subject: wf.Identity(), Issuer: ss.IssuerURL}
	v, err := sign.Verify(ctx, d.String(), &sign.Policy{Identities: []sign.Identity{id}, Trust: trust, IgnoreSCT: true, RequireTLog: true, Attestations: []sign.AttestationRule{sign.NewAttestationRule("eval")}})
	if err != nil {
		t.Fatalf("mlship rejected cosign 3's keyless bundles: %v", err)
	}
	if s := v.Signatures[0]; s.Signer != wf.Identity() || s.Issuer != ss.IssuerURL || !s.TLog || s.Format != "bundle" || s.SignedAt.IsZero() {
		t.Errorf("verified signature = %+v", s)
	}
	other := sign.Identity{Subject: "https://github.com/acme/iris/.github/workflows/other.yml@refs/heads/main", Issuer: ss.IssuerURL}
	if _, err := sign.Verify(ctx, d.String(), &sign.Policy{Identities: []sign.Identity{other}, Trust: trust, IgnoreSCT: true}); err == nil || !strings.Contains(err.Error(), "not signed by identity") {
		t.Fatalf("another identity: %v", err)
	}
}

// TestCosign2Keyless has cosign 2.6.5 sign and attest keyless (legacy
// format) against the loopback Fulcio and Rekor, and mlship verify them by
// identity: the legacy conversion checked against another implementation.
func TestCosign2Keyless(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cosign v2")
	}
	t.Parallel()
	wf := signtest.Workflow{Repository: "acme/iris", Path: ".github/workflows/release.yml", Ref: "refs/heads/main", SHA: strings.Repeat("6", 40), EventName: "push"}
	ss := signtest.Start(t, wf)
	host := testenv.StartRegistry(t)
	ctx := context.Background()
	dir := t.TempDir()
	d, _ := pushModel(t, host+"/acme/iris:keyless2", "keyless weights by cosign 2")
	tok, err := ss.Token(ctx, sign.Audience)
	if err != nil {
		t.Fatal(err)
	}
	evalFile := filepath.Join(dir, "eval.json")
	if err := os.WriteFile(evalFile, []byte(`{"metrics":{"accuracy":0.97},"passed":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"SIGSTORE_ROOT_FILE=" + ss.RootFile, "SIGSTORE_REKOR_PUBLIC_KEY=" + ss.RekorKeyFile}
	common := []string{"--identity-token", tok, "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "--insecure-skip-verify=true"}
	if out, err := cosignTool(t, "cosign", env, append(append([]string{"sign"}, common...), d.String())...); err != nil {
		t.Fatalf("cosign sign (keyless): %v\n%s", err, out)
	}
	if out, err := cosignTool(t, "cosign", env, append(append([]string{"attest", "--type", sign.EvalPredicateType, "--predicate", evalFile}, common...), d.String())...); err != nil {
		t.Fatalf("cosign attest (keyless): %v\n%s", err, out)
	}
	trust := &sign.TrustRoot{FulcioRoots: []*x509.Certificate{ss.Root}, FulcioIntermediates: []*x509.Certificate{ss.Intermediate}, RekorKeys: []crypto.PublicKey{ss.RekorKey}}
	id := sign.Identity{Subject: wf.Identity(), Issuer: ss.IssuerURL}
	v, err := sign.Verify(ctx, d.String(), &sign.Policy{Identities: []sign.Identity{id}, Trust: trust, IgnoreSCT: true, Attestations: []sign.AttestationRule{sign.NewAttestationRule("eval")}})
	if err != nil {
		t.Fatalf("mlship rejected cosign 2's keyless signature: %v", err)
	}
	if s := v.Signatures[0]; s.Signer != wf.Identity() || !s.TLog || s.Format != "legacy" || s.SignedAt.IsZero() {
		t.Errorf("verified signature = %+v", s)
	}
	other := &sign.TrustRoot{FulcioRoots: trust.FulcioRoots, FulcioIntermediates: trust.FulcioIntermediates, RekorKeys: []crypto.PublicKey{otherKey(t)}}
	if _, err := sign.Verify(ctx, d.String(), &sign.Policy{Identities: []sign.Identity{id}, Trust: other, IgnoreSCT: true}); err == nil || !strings.Contains(err.Error(), "not signed by identity") {
		t.Fatalf("an untrusted log key: %v", err)
	}
}

func otherKey(t *testing.T) crypto.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}
