package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/sign/signtest"
	"github.com/mlship/mlship/internal/testenv"
)

// mlship runs the CLI in-process with env and returns the exit status,
// stdout and stderr.
func mlship(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ios, out, errOut := iostreams.Test(env)
	code := Execute(context.Background(), NewFactory(ios, "test"), args)
	return code, out.String(), errOut.String()
}

func pushImage(t *testing.T, ref string) name.Digest {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return r.Context().Digest(h.String())
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSigningCommands drives keygen, sign, attest and verify as a user
// would, against a registry, and checks outputs and refusals.
func TestSigningCommands(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	ghOut := filepath.Join(dir, "github_output")
	writeFile(t, ghOut, "")
	env := map[string]string{
		"COSIGN_PASSWORD": "pw", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": ghOut,
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/iris", "GITHUB_SHA": strings.Repeat("e", 40),
		"GITHUB_WORKFLOW_REF": "acme/iris/.github/workflows/train.yml@refs/heads/main", "GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "1",
	}
	prefix := filepath.Join(dir, "keys", "cosign")
	if code, _, errOut := mlship(t, env, "keygen", "--output-key-prefix", prefix); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mlship(t, env, "keygen", "--output-key-prefix", prefix); code != 1 || !strings.Contains(errOut, "refusing to overwrite") {
		t.Fatalf("keygen over an existing pair: exit %d: %s", code, errOut)
	}
	otherPrefix := filepath.Join(dir, "other")
	if code, _, errOut := mlship(t, env, "keygen", "--output-key-prefix", otherPrefix); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	key, pub := prefix+".key", prefix+".pub"
	keyPEM, _ := os.ReadFile(key)
	env["COSIGN_KEY"] = string(keyPEM)

	good := pushImage(t, host+"/acme/iris:1.0.0")
	bad := pushImage(t, host+"/acme/iris:bad")

	code, out, errOut := mlship(t, env, "sign", host+"/acme/iris:1.0.0", "--key", key, "-o", "json")
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, errOut)
	}
	var res sign.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("sign -o json: %v: %s", err, out)
	}
	if res.Digest != good.DigestStr() || !strings.HasSuffix(res.Tag, ":sha256-"+good.DigestStr()[7:]+".sig") {
		t.Errorf("sign result = %+v, want digest %s", res, good.DigestStr())
	}
	ghOutputs, _ := os.ReadFile(ghOut)
	if !bytes.Contains(ghOutputs, []byte(good.DigestStr())) {
		t.Errorf("GITHUB_OUTPUT lacks the digest:\n%s", ghOutputs)
	}
	evalPass := writeFile(t, filepath.Join(dir, "pass.json"), `{"metrics":{"accuracy":0.95},"passed":true,"gates":[{"metric":"accuracy","value":0.95,"op":">=","bound":0.9,"passed":true}]}`)
	evalFail := writeFile(t, filepath.Join(dir, "fail.json"), `{"metrics":{"accuracy":0.71},"passed":false,"gates":[{"metric":"accuracy","value":0.71,"op":">=","bound":0.9,"passed":false}]}`)
	steps := [][]string{
		{"attest", good.String(), "--key", "env://COSIGN_KEY", "--eval", evalPass},
		{"attest", good.String(), "--key", key, "--provenance", "--input", "train=sha256:" + strings.Repeat("1", 64) + "@data/train.csv"},
		{"sign", bad.String(), "--key", key},
		{"attest", bad.String(), "--key", key, "--eval", evalFail},
	}
	for _, args := range steps {
		if code, _, errOut := mlship(t, env, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}

	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout (exit 0) or stderr
	}{
		{"key", []string{"verify", host + "/acme/iris:1.0.0", "--key", pub}, 0, "Verified " + good.String()},
		{"attestations", []string{"verify", good.String(), "--key", pub, "--attestation", "eval", "--attestation", "provenance", "--max-age", "1h"}, 0, "attestation: provenance by key"},
		{"json", []string{"verify", good.String(), "--key", pub, "--attestation", "eval", "-o", "json"}, 0, `"verified": true`},
		{"other key", []string{"verify", good.String(), "--key", otherPrefix + ".pub"}, 1, "not signed by key " + otherPrefix + ".pub"},
		{"failed gate", []string{"verify", bad.String(), "--key", pub, "--attestation", "eval"}, 1, "eval gate failed: accuracy 0.71 < 0.9"},
		{"no provenance", []string{"verify", bad.String(), "--key", pub, "--attestation", "provenance"}, 1, "no provenance attestation"},
		{"require tlog", []string{"verify", good.String(), "--key", pub, "--tlog"}, 1, "no verified transparency-log entry"},
		{"no signer", []string{"verify", good.String()}, 2, "names no signer"},
		{"bad attest flags", []string{"attest", good.String(), "--key", key, "--eval", evalPass, "--provenance"}, 2, "exactly one of"},
		{"bad eval result", []string{"attest", good.String(), "--key", key, "--eval", writeFile(t, filepath.Join(dir, "x.json"), `{"metrics":{}}`)}, 1, `no "passed" field`},
		{"wrong password", []string{"sign", good.String(), "--key", otherPrefix + ".key"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			e["GITHUB_OUTPUT"] = filepath.Join(t.TempDir(), "out")
			writeFile(t, e["GITHUB_OUTPUT"], "")
			if tt.name == "require tlog" {
				k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				pemBytes, _ := cryptoutils.MarshalPublicKeyToPEM(k.Public())
				e["SIGSTORE_REKOR_PUBLIC_KEY"] = writeFile(t, filepath.Join(t.TempDir(), "rekor.pub"), string(pemBytes))
			}
			if tt.name == "wrong password" {
				e["COSIGN_PASSWORD"] = "nope"
				tt.code, tt.want = 1, "is COSIGN_PASSWORD right"
			}
			code, out, errOut := mlship(t, e, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			got := out
			if code != 0 {
				got = errOut
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("output lacks %q:\nstdout: %s\nstderr: %s", tt.want, out, errOut)
			}
		})
	}
}

// TestKeylessCommands runs sign and attest without a key inside an
// emulated Actions job: the token comes from ACTIONS_ID_TOKEN_REQUEST_URL
// (the gha runtime), the certificate from the Fulcio emulator, the log
// entries from the Rekor emulator; verify checks the certificate identity
// (the workflow ref on main) and issuer with trust from SIGSTORE_* files.
func TestKeylessCommands(t *testing.T) {
	t.Parallel()
	wf := signtest.Workflow{Repository: "acme/iris", Path: ".github/workflows/release.yml", Ref: "refs/heads/main", SHA: strings.Repeat("f", 40), EventName: "push"}
	ss := signtest.Start(t, wf)
	host := testenv.InProcessRegistry(t)
	d := pushImage(t, host+"/acme/iris:1.0.0")
	env := ss.Env()
	env["SIGSTORE_ROOT_FILE"] = ss.RootFile
	env["SIGSTORE_REKOR_PUBLIC_KEY"] = ss.RekorKeyFile
	urls := []string{"--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL}
	if code, out, errOut := mlship(t, env, append([]string{"sign", host + "/acme/iris:1.0.0"}, urls...)...); code != 0 {
		t.Fatalf("keyless sign: exit %d: %s%s", code, out, errOut)
	} else if !strings.Contains(out, "rekor log index") {
		t.Errorf("keyless sign did not report a log entry:\n%s", out)
	}
	if code, _, errOut := mlship(t, env, append([]string{"attest", d.String(), "--provenance"}, urls...)...); code != 0 {
		t.Fatalf("keyless attest: exit %d: %s", code, errOut)
	}
	if n := ss.Requests("token"); n != 2 {
		t.Errorf("the token service was asked %d times, want 2", n)
	}
	verify := []string{"verify", d.String(), "--certificate-oidc-issuer", ss.IssuerURL, "--insecure-ignore-sct", "--attestation", "provenance"}
	code, out, errOut := mlship(t, env, append(verify, "--certificate-identity", wf.Identity())...)
	if code != 0 {
		t.Fatalf("keyless verify: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "signature: "+wf.Identity()) || !strings.Contains(out, "rekor entry verified") {
		t.Errorf("keyless verify output:\n%s", out)
	}
	code, _, errOut = mlship(t, env, append(verify, "--certificate-identity", "https://github.com/acme/iris/.github/workflows/release.yml@refs/heads/dev")...)
	if code != 1 || !strings.Contains(errOut, "not signed by identity") {
		t.Fatalf("verify with another ref: exit %d: %s", code, errOut)
	}
	// Outside Actions, without a key, sign explains what is missing.
	code, _, errOut = mlship(t, map[string]string{}, "sign", d.String())
	if code != 1 || !strings.Contains(errOut, "id-token: write") {
		t.Fatalf("sign without identity: exit %d: %s", code, errOut)
	}
}

// TestVerifyFromSpec takes the policy from a spec: its key and the prod
// environment's required attestations and gates.
func TestVerifyFromSpec(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	env := map[string]string{"COSIGN_PASSWORD": "pw"}
	if code, _, errOut := mlship(t, env, "keygen", "--output-key-prefix", filepath.Join(dir, "cosign")); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	writeFile(t, filepath.Join(dir, "model.cue"), `name: "iris"
version: "1.0.0"
owners: ["ml"]
registry: repository: "`+host+`/acme/iris"
package: files: [{path: "model.bin", role: "weight"}]
eval: {metricsFile: "eval.json", metrics: accuracy: direction: "maximize"}
environments: {
	staging: {attestations: ["eval"]}
	prod: {after: "staging", gates: accuracy: min: 0.9, attestations: ["eval"]}
}
signing: key: "cosign.pub"
`)
	d := pushImage(t, host+"/acme/iris:1.0.0")
	eval := writeFile(t, filepath.Join(dir, "eval.json"), `{"metrics":{"accuracy":0.85},"passed":true}`)
	for _, args := range [][]string{{"sign", d.String(), "--key", filepath.Join(dir, "cosign.key")}, {"attest", d.String(), "--key", filepath.Join(dir, "cosign.key"), "--eval", eval}} {
		if code, _, errOut := mlship(t, env, args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	if code, _, errOut := mlship(t, env, "verify", d.String(), "--spec", dir, "--env", "staging"); code != 0 {
		t.Fatalf("verify for staging: exit %d: %s", code, errOut)
	}
	code, _, errOut := mlship(t, env, "verify", d.String(), "--spec", dir, "--env", "prod")
	if code != 1 || !strings.Contains(errOut, "eval gate failed: accuracy 0.85 < 0.9") {
		t.Fatalf("verify for prod: exit %d: %s", code, errOut)
	}
}
