package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

func TestBundleSignerFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	var got *SignOptions
	cmd := NewCmdSign(NewFactory(ios, "test"), func(o *SignOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"r.io/x:1", "--key", "k", "--format", "bundle", "--timestamp-server-url", "https://tsa/api/v1/timestamp", "--github-attestation", "--github-repository", "acme/iris"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := pipeline.SignerRequest{Key: "k", FulcioURL: sign.DefaultFulcioURL, RekorURL: sign.DefaultRekorURL, Format: "bundle", TimestampServerURL: "https://tsa/api/v1/timestamp", GitHubAttestation: true, GitHubRepository: "acme/iris"}
	if got.Signer.SignerRequest != want {
		t.Fatalf("signer = %+v\nwant     %+v", got.Signer.SignerRequest, want)
	}
	var ag *AttestOptions
	acmd := NewCmdAttest(NewFactory(ios, "test"), func(o *AttestOptions) error { ag = o; return nil })
	acmd.SetArgs([]string{"r.io/x:1", "--key", "k", "--eval", "e.json", "--format", "legacy"})
	if err := acmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if ag.Signer.Format != "legacy" {
		t.Fatalf("attest signer = %+v", ag.Signer)
	}
}

// TestBundleGitHubAttestation signs and attests with --github-attestation
// against the GitHub emulator: each bundle is stored once, about the
// signed digest, and the run fails (exit 2) before signing when the
// request cannot be honoured.
func TestBundleGitHubAttestation(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t, registry.WithReferrersSupport(true))
	srv := githubtest.New(t)
	dir := t.TempDir()
	env := actionsEnv(dir)
	for k, v := range map[string]string{"COSIGN_PASSWORD": "pw", "GITHUB_REPOSITORY": "acme/iris", "GITHUB_API_URL": strings.TrimSuffix(srv.URL, "/"), "GITHUB_TOKEN": srv.Token} {
		env[k] = v
	}
	prefix := filepath.Join(dir, "cosign")
	if code, _, errOut := mlship(t, env, "keygen", "--output-key-prefix", prefix); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	d := pushImage(t, host+"/acme/iris:1.0.0")
	code, out, errOut := mlship(t, env, "sign", d.String(), "--key", prefix+".key", "--github-attestation", "-o", "json")
	if code != 0 {
		t.Fatalf("sign --github-attestation: exit %d: %s", code, errOut)
	}
	var res sign.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Format != sign.FormatBoth || len(res.Referrers) != 1 || res.Tag == "" || len(res.GitHubAttestations) != 1 {
		t.Fatalf("sign result = %+v", res)
	}
	eval := writeFile(t, filepath.Join(dir, "eval.json"), `{"metrics":{"accuracy":0.95},"passed":true}`)
	code, out, errOut = mlship(t, env, "attest", d.String(), "--key", prefix+".key", "--eval", eval, "--format", "bundle", "--github-attestation")
	if code != 0 || !strings.Contains(out, "github attestation: ") || !strings.Contains(out, "bundle: ") || strings.Contains(out, "legacy: ") {
		t.Fatalf("attest --github-attestation: exit %d:\n%s%s", code, out, errOut)
	}
	atts := srv.Attestations("acme", "iris")
	if len(atts) != 2 {
		t.Fatalf("GitHub holds %d attestations, want 2", len(atts))
	}
	for i, typ := range []string{sign.SignPredicateType, sign.EvalPredicateType} {
		if atts[i].PredicateType != typ || len(atts[i].Subjects) != 1 || atts[i].Subjects[0] != d.DigestStr() {
			t.Errorf("attestation %d = %+v, want %s about %s", i, atts[i], typ, d.DigestStr())
		}
	}
	// What GitHub holds is the bundle mlship verifies.
	pub := prefix + ".pub"
	pk, err := sign.LoadPublicKey(pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	bare := pushImage(t, host+"/acme/bare:1")
	if _, err := sign.Verify(t.Context(), bare.String(), &sign.Policy{Keys: []sign.PublicKey{pk}}, sign.WithExtraBundles(atts[0].Bundle)); err == nil || !strings.Contains(err.Error(), "the signature is for "+d.DigestStr()) {
		t.Fatalf("GitHub's bundle about %s verified for another digest: %v", d.DigestStr(), err)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"legacy has no bundle", []string{"sign", d.String(), "--key", prefix + ".key", "--format", "legacy", "--github-attestation"}, 2, "needs --format bundle or both"},
		{"unknown format", []string{"sign", d.String(), "--key", prefix + ".key", "--format", "sigstore"}, 2, `signature format "sigstore"`},
		{"no repository", []string{"attest", d.String(), "--key", prefix + ".key", "--eval", eval, "--github-attestation", "--github-repository", "acme"}, 2, "which repository"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := mlship(t, env, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, want %d with %q: %s", code, tt.code, tt.want, errOut)
			}
		})
	}
	if n := len(srv.Attestations("acme", "iris")); n != 2 {
		t.Fatalf("refused runs stored attestations: %d", n)
	}
}
