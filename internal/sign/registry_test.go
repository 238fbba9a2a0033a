package sign_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/sign/signtest"
	"github.com/mlship/mlship/internal/testenv"
)

const password = "interop password"

func writeKeyPair(t *testing.T, dir, prefix string) (string, string) {
	t.Helper()
	priv, pub, err := sign.GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	k, p := filepath.Join(dir, prefix+".key"), filepath.Join(dir, prefix+".pub")
	if err := os.WriteFile(k, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return k, p
}

func loadSigner(t *testing.T, keyPath string) *sign.Signer {
	t.Helper()
	sv, err := sign.LoadPrivateKey(keyPath, []byte(password), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewKeySigner(sv, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loadPub(t *testing.T, pubPath string) sign.PublicKey {
	t.Helper()
	k, err := sign.LoadPublicKey(pubPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.Name = filepath.Base(pubPath)
	return k
}

// pushModel pushes a two-file ModelPack artifact with the oci package and
// returns its digest reference and the weight layer's digest.
func pushModel(t *testing.T, ref string, weights string) (name.Digest, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.bin"), []byte(weights), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# iris\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := oci.Push(context.Background(), oci.Source{Dir: dir, Files: []oci.File{{Path: "model.bin", Role: oci.RoleWeight}, {Path: "README.md", Role: oci.RoleDoc}}}, ref)
	if err != nil {
		t.Fatalf("oci.Push %s: %v", ref, err)
	}
	d, err := name.NewDigest(res.Ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := m.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range mf.Layers {
		if strings.Contains(string(l.MediaType), "weight") {
			return d, l.Digest.String()
		}
	}
	t.Fatalf("no weight layer in %s", d)
	return d, ""
}

// cosign runs the real cosign CLI with an isolated home (no TUF cache,
// nothing from the network).
func cosign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return cosignEnv(t, nil, args...)
}

func cosignEnv(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	return cosignTool(t, "cosign", env, args...)
}

// cosignTool runs cosign ("cosign", v2) or cosign3 ("cosign3", v3) the
// same way.
func cosignTool(t *testing.T, tool string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := testenv.Command(t, "", testenv.Tool(t, tool), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"), "COSIGN_PASSWORD="+password, "COSIGN_YES=true")
	cmd.Env = append(cmd.Env, env...)
	stdout, stderr, err := testenv.TryCmd(t, cmd)
	return stdout + stderr, err
}

// TestCosignInterop proves the formats against the real cosign CLI and the
// real Distribution registry, both ways.
func TestCosignInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cosign and the Distribution registry")
	}
	t.Parallel()
	host := testenv.StartRegistry(t)
	dir := t.TempDir()
	keyPath, pubPath := writeKeyPair(t, dir, "cosign")
	_, otherPub := writeKeyPair(t, dir, "other")
	ctx := context.Background()

	// mlship signs and attests; cosign verifies.
	d, _ := pushModel(t, host+"/acme/iris:1.0.0", "weights v1")
	s := loadSigner(t, keyPath)
	// The legacy format (TestBundleInterop covers bundles).
	legacy := sign.WithFormat(sign.FormatLegacy)
	if _, err := sign.Sign(ctx, host+"/acme/iris:1.0.0", s, legacy); err != nil {
		t.Fatal(err)
	}
	eval := []byte(`{"metrics":{"accuracy":0.95},"thresholds":{"accuracy":{"min":0.9}},"baseline":{"digest":"sha256:` + strings.Repeat("a", 64) + `"},"datasets":[{"name":"test","digest":"sha256:` + strings.Repeat("b", 64) + `"}],"passed":true}`)
	if _, err := sign.Attest(ctx, d.String(), s, sign.EvalPredicateType, eval, legacy); err != nil {
		t.Fatal(err)
	}
	prov, err := sign.ProvenancePredicate(sign.ProvenanceInput{BuilderID: "https://github.com/acme/iris/.github/workflows/train.yml@refs/heads/main", SourceRepo: "https://github.com/acme/iris", SourceCommit: strings.Repeat("c", 40), RunURL: "https://github.com/acme/iris/actions/runs/1", Inputs: []sign.Dataset{{Name: "train", Digest: "sha256:" + strings.Repeat("d", 64)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(ctx, d.String(), s, sign.ProvenancePredicateType, prov, legacy); err != nil {
		t.Fatal(err)
	}
	out, err := cosign(t, "verify", "--key", pubPath, "--insecure-ignore-tlog", d.String())
	if err != nil {
		t.Fatalf("cosign verify rejected mlship's signature: %v\n%s", err, out)
	}
	if !strings.Contains(out, d.DigestStr()) {
		t.Errorf("cosign verify output does not name %s:\n%s", d.DigestStr(), out)
	}
	for _, typ := range []string{sign.EvalPredicateType, sign.ProvenancePredicateType} {
		out, err := cosign(t, "verify-attestation", "--type", typ, "--key", pubPath, "--insecure-ignore-tlog", d.String())
		if err != nil {
			t.Fatalf("cosign verify-attestation --type %s rejected mlship's attestation: %v\n%s", typ, err, out)
		}
		if !strings.Contains(out, `"payloadType":"application/vnd.in-toto+json"`) {
			t.Errorf("cosign verify-attestation --type %s printed no envelope:\n%s", typ, out)
		}
	}
	// The same checks fail when they should: cosign is not vacuous here.
	if out, err := cosign(t, "verify", "--key", otherPub, "--insecure-ignore-tlog", d.String()); err == nil {
		t.Fatalf("cosign verify accepted a signature with the wrong key:\n%s", out)
	}
	if out, err := cosign(t, "verify-attestation", "--type", "https://example.com/none/v1", "--key", pubPath, "--insecure-ignore-tlog", d.String()); err == nil {
		t.Fatalf("cosign verify-attestation accepted a missing predicate type:\n%s", out)
	}

	// cosign signs and attests; mlship verifies.
	d2, _ := pushModel(t, host+"/acme/iris:2.0.0", "weights v2")
	if out, err := cosign(t, "sign", "--key", keyPath, "--tlog-upload=false", d2.String()); err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	evalFile := filepath.Join(dir, "eval.json")
	if err := os.WriteFile(evalFile, eval, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cosign(t, "attest", "--key", keyPath, "--tlog-upload=false", "--type", sign.EvalPredicateType, "--predicate", evalFile, d2.String()); err != nil {
		t.Fatalf("cosign attest: %v\n%s", err, out)
	}
	pol := &sign.Policy{Keys: []sign.PublicKey{loadPub(t, pubPath)}, Attestations: []sign.AttestationRule{sign.NewAttestationRule("eval")}}
	v, err := sign.Verify(ctx, host+"/acme/iris:2.0.0", pol)
	if err != nil {
		t.Fatalf("mlship rejected what cosign signed: %v", err)
	}
	if v.Digest != d2.DigestStr() || len(v.Attestations) != 1 || v.Attestations[0].Passed == nil || !*v.Attestations[0].Passed {
		t.Errorf("Verified = %+v", v)
	}
	if _, err := sign.Verify(ctx, d2.String(), &sign.Policy{Keys: []sign.PublicKey{loadPub(t, otherPub)}}); err == nil {
		t.Fatal("mlship accepted cosign's signature with the wrong key")
	}

	// A key pair from cosign generate-key-pair signs with mlship.
	kdir := t.TempDir()
	cmd := testenv.Command(t, kdir, testenv.Tool(t, "cosign"), "generate-key-pair")
	cmd.Env = append(os.Environ(), "HOME="+kdir, "COSIGN_PASSWORD="+password)
	testenv.RunCmd(t, cmd)
	d3, _ := pushModel(t, host+"/acme/iris:3.0.0", "weights v3")
	if _, err := sign.Sign(ctx, d3.String(), loadSigner(t, filepath.Join(kdir, "cosign.key")), legacy); err != nil {
		t.Fatalf("signing with cosign's key pair: %v", err)
	}
	if out, err := cosign(t, "verify", "--key", filepath.Join(kdir, "cosign.pub"), "--insecure-ignore-tlog", d3.String()); err != nil {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
}

// TestTamperedRegistry changes bytes in the registry's storage after
// signing. A changed manifest is refused by Verify (the served manifest no
// longer hashes to the signed digest); a changed blob leaves the manifest,
// and so the signature, intact, and is caught by the pull, which checks
// every blob's digest while streaming: with the verifier hooked in, the
// pull refuses and writes nothing.
func TestTamperedRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Distribution registry")
	}
	t.Parallel()
	storage := t.TempDir()
	host := testenv.StartRegistry(t, testenv.WithStorageDir(storage))
	dir := t.TempDir()
	keyPath, pubPath := writeKeyPair(t, dir, "cosign")
	s := loadSigner(t, keyPath)
	pol := &sign.Policy{Keys: []sign.PublicKey{loadPub(t, pubPath)}}
	ctx := context.Background()

	// Baseline: a signed model verifies and pulls.
	good, _ := pushModel(t, host+"/acme/iris:good", "good weights")
	if _, err := sign.Sign(ctx, good.String(), s); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "good")
	if _, err := oci.Pull(ctx, good.String(), out, oci.WithVerifier(pol.Verifier())); err != nil {
		t.Fatalf("verified pull of a good model: %v", err)
	}

	// Unsigned: refused before anything is written.
	unsigned, _ := pushModel(t, host+"/acme/iris:unsigned", "unsigned weights")
	out = filepath.Join(t.TempDir(), "unsigned")
	_, err := oci.Pull(ctx, unsigned.String(), out, oci.WithVerifier(pol.Verifier()))
	assertRefused(t, err, "unsigned", out)

	// A blob changed on the registry's disk after signing.
	blob, weightDigest := pushModel(t, host+"/acme/iris:blob", "original weights")
	if _, err := sign.Sign(ctx, blob.String(), s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(testenv.BlobPath(t, storage, weightDigest), []byte("evil weights!!!!"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Verify(ctx, blob.String(), pol); err != nil {
		t.Fatalf("the manifest is untouched, so its signature must still verify: %v", err)
	}
	out = filepath.Join(t.TempDir(), "blob")
	_, err = oci.Pull(ctx, blob.String(), out, oci.WithVerifier(pol.Verifier()))
	if err == nil {
		t.Fatal("pull accepted a blob that no longer matches its digest")
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Fatalf("pull refused (%v) but wrote %s", err, out)
	}
	t.Logf("changed blob refused by pull: %v", err)

	// The manifest changed on the registry's disk after signing: by digest
	// and by tag, Verify refuses.
	man, _ := pushModel(t, host+"/acme/iris:manifest", "manifest weights")
	if _, err := sign.Sign(ctx, man.String(), s); err != nil {
		t.Fatal(err)
	}
	mp := testenv.BlobPath(t, storage, man.DigestStr())
	b, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	var mf map[string]any
	if err := json.Unmarshal(b, &mf); err != nil {
		t.Fatal(err)
	}
	mf["annotations"] = map[string]string{"evil": "yes"}
	evil, _ := json.Marshal(mf)
	if bytes.Equal(evil, b) {
		t.Fatal("tampering did not change the manifest")
	}
	if err := os.WriteFile(mp, evil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{man.String(), host + "/acme/iris:manifest"} {
		_, err := sign.Verify(ctx, ref, pol)
		var r *sign.Refusal
		if err == nil {
			t.Fatalf("Verify %s accepted a changed manifest", ref)
		}
		if !asRefusal(err, &r) {
			t.Logf("Verify %s: %v (not a refusal value)", ref, err)
		}
		t.Logf("changed manifest refused: %v", err)
		out := filepath.Join(t.TempDir(), "manifest")
		_, perr := oci.Pull(ctx, ref, out, oci.WithVerifier(pol.Verifier()))
		assertRefused(t, perr, "", out)
	}
}

func asRefusal(err error, r **sign.Refusal) bool {
	return errors.As(err, r)
}

func assertRefused(t *testing.T, err error, want, out string) {
	t.Helper()
	if err == nil {
		t.Fatal("pull --verify accepted it")
	}
	if want != "" && !strings.Contains(err.Error(), want) {
		t.Fatalf("refusal %q does not say %q", err, want)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Fatalf("pull refused (%v) but wrote %s", err, out)
	}
}

// TestCosignKeyless has the real cosign CLI verify a keyless signature and
// attestation mlship made with the loopback Fulcio and Rekor, by
// certificate identity and issuer, with the trust roots cosign reads from
// SIGSTORE_ROOT_FILE and SIGSTORE_REKOR_PUBLIC_KEY (tlog checked offline
// from the bundle; no SCT: the emulated CA has no CT log).
func TestCosignKeyless(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cosign")
	}
	t.Parallel()
	wf := signtest.Workflow{Repository: "acme/iris", Path: ".github/workflows/release.yml", Ref: "refs/heads/main", SHA: strings.Repeat("9", 40), EventName: "push"}
	ss := signtest.Start(t, wf)
	host := testenv.StartRegistry(t)
	ctx := context.Background()
	d, _ := pushModel(t, host+"/acme/iris:1.0.0", "keyless weights")
	tok, err := ss.Token(ctx, sign.Audience)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.Keyless(ctx, tok, sign.WithFulcioURL(ss.FulcioURL), sign.WithTLogUpload(ss.RekorURL), sign.WithTimestampServer(ss.TSAURL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, d.String(), s); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(ctx, d.String(), s, sign.EvalPredicateType, []byte(`{"metrics":{"accuracy":0.97},"passed":true}`)); err != nil {
		t.Fatal(err)
	}
	// Both formats are attached, so cosign 2.6.5 and 3 verify the bundle
	// (with its RFC 3161 timestamp), and only against a trusted root.
	id := []string{"--certificate-identity", wf.Identity(), "--certificate-oidc-issuer", ss.IssuerURL, "--insecure-ignore-sct", "--trusted-root", ss.TrustedRootFile}
	bad := []string{"--certificate-identity", "https://github.com/acme/iris/.github/workflows/other.yml@refs/heads/main", "--certificate-oidc-issuer", ss.IssuerURL, "--insecure-ignore-sct", "--trusted-root", ss.TrustedRootFile}
	for _, tool := range []string{"cosign", "cosign3"} {
		if out, err := cosignTool(t, tool, nil, append(append([]string{"verify"}, id...), d.String())...); err != nil {
			t.Fatalf("%s verify (keyless) rejected mlship's signature: %v\n%s", tool, err, out)
		}
		if out, err := cosignTool(t, tool, nil, append(append([]string{"verify-attestation", "--type", sign.EvalPredicateType}, id...), d.String())...); err != nil {
			t.Fatalf("%s verify-attestation (keyless) rejected mlship's attestation: %v\n%s", tool, err, out)
		}
		if out, err := cosignTool(t, tool, nil, append(append([]string{"verify"}, bad...), d.String())...); err == nil {
			t.Fatalf("%s verify accepted another identity:\n%s", tool, out)
		}
	}
	// The legacy format alone is what cosign 2 reads with SIGSTORE_* trust.
	dl, _ := pushModel(t, host+"/acme/iris:legacy", "keyless legacy weights")
	if _, err := sign.Sign(ctx, dl.String(), s, sign.WithFormat(sign.FormatLegacy)); err != nil {
		t.Fatal(err)
	}
	env := []string{"SIGSTORE_ROOT_FILE=" + ss.RootFile, "SIGSTORE_REKOR_PUBLIC_KEY=" + ss.RekorKeyFile}
	if out, err := cosignEnv(t, env, "verify", "--certificate-identity", wf.Identity(), "--certificate-oidc-issuer", ss.IssuerURL, "--insecure-ignore-sct", dl.String()); err != nil {
		t.Fatalf("cosign verify (keyless, legacy, SIGSTORE_* trust): %v\n%s", err, out)
	}
}
