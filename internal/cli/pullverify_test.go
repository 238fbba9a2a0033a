package cli

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

// TestPullVerify drives the deployer's command: pull --verify accepts what
// mlship signed with the matching key and refuses, writing nothing, what
// is unsigned or signed by another key.
func TestPullVerify(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	env := map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
	for _, k := range []string{"good", "other"} {
		kd := filepath.Join(dir, k)
		if err := os.MkdirAll(kd, 0o755); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := mlship(t, env, "keygen", "--output-key-prefix", filepath.Join(kd, "cosign")); code != 0 {
			t.Fatalf("keygen: exit %d: %s", code, stderr)
		}
	}
	model := filepath.Join(dir, "model")
	writeFiles(t, model, map[string]string{"model.safetensors": "weights", "config.json": "{}"})
	push := func(tag string) string {
		code, stdout, stderr := mlship(t, env, "push", model, host+"/iris:"+tag, "--output", "json")
		if code != 0 {
			t.Fatalf("push: %s", stderr)
		}
		return stdout
	}
	push("signed")
	if code, _, stderr := mlship(t, env, "sign", host+"/iris:signed", "--key", filepath.Join(dir, "good", "cosign.key")); code != 0 {
		t.Fatalf("sign: %s", stderr)
	}
	writeFiles(t, model, map[string]string{"README.md": "unsigned variant"})
	push("unsigned")

	tests := []struct {
		name, tag, key string
		wantErr        string
	}{
		{"signed by the trusted key", "signed", "good", ""},
		{"signed by another key", "signed", "other", "signature"},
		{"unsigned", "unsigned", "good", "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := filepath.Join(t.TempDir(), "out", "iris")
			code, _, stderr := mlship(t, env, "pull", host+"/iris:"+tt.tag, target, "--verify", "--key", filepath.Join(dir, tt.key, "cosign.pub"))
			if tt.wantErr == "" {
				if code != 0 {
					t.Fatalf("pull --verify refused a good artifact: %s", stderr)
				}
				if b, err := os.ReadFile(filepath.Join(target, "model.safetensors")); err != nil || string(b) != "weights" {
					t.Errorf("pulled weights: %q %v", b, err)
				}
				return
			}
			if code == 0 {
				t.Fatalf("pull --verify accepted a bad artifact")
			}
			if !strings.Contains(strings.ToLower(stderr), tt.wantErr) {
				t.Errorf("refusal does not say why (want %q): %s", tt.wantErr, stderr)
			}
			if _, err := os.Stat(filepath.Dir(target)); !os.IsNotExist(err) {
				t.Errorf("a refused pull left %s behind (%v)", filepath.Dir(target), err)
			}
		})
	}
	if code, _, stderr := mlship(t, env, "pull", host+"/iris:signed", filepath.Join(t.TempDir(), "x"), "--key", filepath.Join(dir, "good", "cosign.pub")); code != 2 || !strings.Contains(stderr, "--verify") {
		t.Errorf("--key without --verify: exit %d, %s", code, stderr)
	}
}

// keyFingerprint is sha256 over the PKIX DER of the PEM public key at path.
func keyFingerprint(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestVerifyWithSpecEnvAndKey: --key next to --spec/--env replaces only
// the signer, so a model that is signed but lacks the environment's eval
// attestation is refused by verify and by pull --verify; an environment
// the spec does not name is an error, never a signature-only check. A
// model that has everything pulls, and pull says what it verified.
func TestVerifyWithSpecEnvAndKey(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	env := map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
	// CI has the spec's key in an environment variable, the deployer does
	// not and brings the key file instead.
	specDir := policySpec(t, filepath.Join(dir, "spec"), `signing: key: "env://COSIGN_PUBLIC_KEY"`+"\n")
	if code, _, stderr := mlship(t, env, "keygen", "--output-key-prefix", filepath.Join(dir, "cosign")); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	key, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	push := func(tag, content string) string {
		model := filepath.Join(dir, "model-"+tag)
		writeFiles(t, model, map[string]string{"model.safetensors": content})
		code, stdout, stderr := mlship(t, env, "push", model, host+"/iris:"+tag, "--output", "json")
		if code != 0 {
			t.Fatalf("push: %s", stderr)
		}
		var po pipeline.PushResult
		if err := json.Unmarshal([]byte(stdout), &po); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := mlship(t, env, "sign", po.Ref, "--key", key); code != 0 {
			t.Fatalf("sign: %s", stderr)
		}
		return po.Ref
	}
	bare := push("bare", "signed, no eval")
	full := push("full", "signed, evaluated")
	evalPass := writeFile(t, filepath.Join(dir, "pass.json"), `{"metrics":{"accuracy":0.95},"passed":true,"gates":[{"metric":"accuracy","value":0.95,"op":">=","bound":0.8,"passed":true}]}`)
	ciEnv := map[string]string{"COSIGN_PASSWORD": "pw", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/iris", "GITHUB_SHA": strings.Repeat("e", 40),
		"GITHUB_WORKFLOW_REF": "acme/iris/.github/workflows/release.yml@refs/heads/main", "GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "1"}
	for _, args := range [][]string{{"attest", full, "--key", key, "--eval", evalPass}, {"attest", full, "--key", key, "--provenance"}} {
		if code, _, stderr := mlship(t, ciEnv, args...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}

	policy := []string{"--spec", specDir, "--env", "prod", "--key", pub}
	refused := []struct {
		name string
		args []string
		want string
	}{
		{"verify: no eval attestation", append([]string{"verify", bare}, policy...), "no eval attestation"},
		{"pull --verify: no eval attestation", append([]string{"pull", bare, "OUT", "--verify"}, policy...), "no eval attestation"},
		{"verify: unknown environment", []string{"verify", full, "--spec", specDir, "--env", "nosuchenv", "--key", pub}, `environment "nosuchenv" is not in the spec`},
		{"pull --verify: unknown environment", []string{"pull", full, "OUT", "--verify", "--spec", specDir, "--env", "nosuchenv", "--key", pub}, `environment "nosuchenv" is not in the spec`},
		{"verify: unreadable spec", []string{"verify", full, "--spec", filepath.Join(dir, "nospec"), "--env", "prod", "--key", pub}, "nospec"},
		{"pull --verify: unreadable spec", []string{"pull", full, "OUT", "--verify", "--spec", filepath.Join(dir, "nospec"), "--env", "prod", "--key", pub}, "nospec"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				if a == "OUT" {
					args[i] = out
				}
			}
			code, stdout, stderr := mlship(t, env, args...)
			if code == 0 {
				t.Fatalf("accepted (exit 0):\n%s%s", stdout, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, refusal lacks %q:\n%s", code, tt.want, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a refused pull wrote %s (%v)", out, err)
			}
		})
	}

	fp := keyFingerprint(t, pub)
	t.Run("pull --verify says what it verified", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := mlship(t, env, append([]string{"pull", full, filepath.Join(t.TempDir(), "m"), "--verify"}, policy...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{
			"signature: key " + pub + " [" + fp + "]",
			"attestation: eval by key " + pub + " [" + fp + "], gate passed",
			"gate: accuracy 0.95 >= 0.9 (policy)",
			"gate: accuracy 0.95 >= 0.8 (eval)",
			"attestation: provenance by key " + pub,
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("pull --verify output lacks %q:\n%s", want, stderr)
			}
		}
	})
	t.Run("pull --verify -o json says what it verified", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := mlship(t, env, append([]string{"pull", full, filepath.Join(t.TempDir(), "m"), "--verify", "-o", "json"}, policy...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var po pipeline.PullResult
		if err := json.Unmarshal([]byte(stdout), &po); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		v := po.Verification
		if v == nil || v.Digest != po.Digest || len(v.Signatures) != 1 || v.Signatures[0].KeyFingerprint != fp {
			t.Fatalf("verification = %+v", v)
		}
		var types []string
		var gates []sign.VerifiedGate
		for _, a := range v.Attestations {
			types = append(types, sign.ShortName(a.PredicateType))
			gates = append(gates, a.Gates...)
			if a.KeyFingerprint != fp {
				t.Errorf("attestation %s signer fingerprint %q", a.PredicateType, a.KeyFingerprint)
			}
		}
		wantGates := []sign.VerifiedGate{{Metric: "accuracy", Value: 0.95, Op: ">=", Bound: 0.9, Passed: true, Source: "policy"}, {Metric: "accuracy", Value: 0.95, Op: ">=", Bound: 0.8, Passed: true, Source: "eval"}}
		if strings.Join(types, ",") != "eval,provenance" || !reflect.DeepEqual(gates, wantGates) {
			t.Errorf("attestations %v, gates %+v", types, gates)
		}
		for _, field := range []string{`"verification"`, `"keyFingerprint"`, `"predicateType"`, `"gates"`, `"source": "policy"`} {
			if !strings.Contains(stdout, field) {
				t.Errorf("JSON lacks %s:\n%s", field, stdout)
			}
		}
	})
}
