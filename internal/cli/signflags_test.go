package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/sign"
)

// TestSigningFlags checks flag parsing alone (runF replaces the run).
func TestSigningFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	t.Run("sign", func(t *testing.T) {
		t.Parallel()
		var got *SignOptions
		cmd := NewCmdSign(f, func(o *SignOptions) error { got = o; return nil })
		cmd.SetArgs([]string{"r/x:1", "--key", "env://K", "--tlog-upload", "--rekor-url", "http://rekor"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if got.Ref != "r/x:1" || got.Signer.Key != "env://K" || !got.Signer.TLogUpload || got.Signer.RekorURL != "http://rekor" {
			t.Errorf("parsed %+v", got)
		}
	})
	t.Run("attest", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			args []string
			err  string
		}{
			{[]string{"r", "--key", "k", "--eval", "e.json"}, ""},
			{[]string{"r", "--key", "k", "--provenance", "--input", "a=sha256:1", "--input", "b=sha256:2"}, ""},
			{[]string{"r", "--key", "k", "--predicate", "p.json", "--predicate-type", "https://x/v1"}, ""},
			{[]string{"r", "--key", "k"}, "exactly one of"},
			{[]string{"r", "--key", "k", "--predicate", "p.json"}, "needs --predicate-type"},
			{[]string{"r", "--eval", "e.json", "--provenance"}, "exactly one of"},
		} {
			var got *AttestOptions
			cmd := NewCmdAttest(f, func(o *AttestOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("%v: err = %v, want %q", tt.args, err, tt.err)
				}
				continue
			}
			if err != nil || got == nil {
				t.Errorf("%v: %v", tt.args, err)
			}
		}
	})
	t.Run("verify", func(t *testing.T) {
		t.Parallel()
		var got *VerifyOptions
		cmd := NewCmdVerify(f, func(o *VerifyOptions) error { got = o; return nil })
		cmd.SetArgs([]string{"r@sha256:1", "--key", "a.pub", "--key", "env://B", "--attestation", "eval", "--attestation", "provenance", "--max-age", "720h", "--insecure-ignore-tlog"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Policy.Keys, []string{"a.pub", "env://B"}) || !reflect.DeepEqual(got.Policy.Attestations, []string{"eval", "provenance"}) || got.Policy.MaxAge.Hours() != 720 || !got.Policy.InsecureIgnoreTLog {
			t.Errorf("parsed %+v", got.Policy)
		}
	})
	t.Run("help has examples", func(t *testing.T) {
		t.Parallel()
		for _, ex := range []string{NewCmdKeygen(f, nil).Example, NewCmdSign(f, nil).Example, NewCmdAttest(f, nil).Example, NewCmdVerify(f, nil).Example} {
			if !strings.Contains(ex, "mlship ") {
				t.Errorf("example %q does not show mlship", ex)
			}
		}
	})
}

// policySpec writes a spec whose prod environment requires eval (with a
// gate) and provenance; signing is the given CUE (may be empty).
func policySpec(t *testing.T, dir, signing string) string {
	t.Helper()
	writeFiles(t, dir, map[string]string{"model.cue": `name: "iris"
version: "1.0.0"
owners: ["ml"]
registry: repository: "localhost:5000/acme/iris"
package: files: [{path: "model.bin", role: "weight"}]
eval: {metricsFile: "eval.json", metrics: accuracy: direction: "maximize"}
environments: {
	staging: {attestations: ["eval"]}
	prod: {after: "staging", gates: accuracy: min: 0.9, attestations: ["eval", "provenance"]}
}
` + signing})
	return dir
}

// policySummary is what a test compares: signers, rules and their gates.
type policySummary struct {
	Keys         []string
	Identities   []string
	Attestations []string
	TLog         bool
	MaxAge       string
}

func summarizePolicy(p *sign.Policy) policySummary {
	s := policySummary{TLog: p.RequireTLog, MaxAge: p.MaxAge.String()}
	for _, k := range p.Keys {
		s.Keys = append(s.Keys, filepath.Base(k.Name))
	}
	for _, id := range p.Identities {
		s.Identities = append(s.Identities, id.String())
	}
	for _, a := range p.Attestations {
		r := a.Name()
		var gates []string
		for m, b := range a.Gates {
			if b.Min != nil {
				gates = append(gates, fmt.Sprintf("%s>=%g", m, *b.Min))
			}
			if b.Max != nil {
				gates = append(gates, fmt.Sprintf("%s<=%g", m, *b.Max))
			}
		}
		sort.Strings(gates)
		if len(gates) > 0 {
			r += "{" + strings.Join(gates, ",") + "}"
		}
		s.Attestations = append(s.Attestations, r)
	}
	return s
}

// TestPolicyFlagsNeverNarrow: with --spec and --env, --key or the identity
// flags replace who may sign and nothing else; the environment's
// attestations and gates always stay, and a policy that cannot be built is
// an error, never a signature-only fall-back.
func TestPolicyFlagsNeverNarrow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"COSIGN_PASSWORD": "pw"}
	signed := policySpec(t, filepath.Join(dir, "signed"), `signing: {key: "spec.pub", tlog: true, maxAge: "720h"}`+"\n")
	for _, p := range []string{filepath.Join(signed, "spec"), filepath.Join(dir, "other")} {
		if code, _, errOut := mlship(t, env, "keygen", "--output-key-prefix", p); code != 0 {
			t.Fatalf("keygen: %s", errOut)
		}
	}
	unsigned := policySpec(t, filepath.Join(dir, "unsigned"), "")
	badKey := policySpec(t, filepath.Join(dir, "badkey"), `signing: key: "missing.pub"`+"\n")
	other := filepath.Join(dir, "other.pub")
	idFlags := []string{"--certificate-identity", "https://github.com/acme/iris/.github/workflows/release.yml@refs/heads/main", "--certificate-oidc-issuer", sign.GitHubIssuer}
	wantID := []string{"https://github.com/acme/iris/.github/workflows/release.yml@refs/heads/main (issuer " + sign.GitHubIssuer + ")"}
	prodRules := []string{"eval{accuracy>=0.9}", "provenance"}

	tests := []struct {
		name string
		args []string
		want policySummary
		err  string
	}{
		{"spec and env alone", []string{"--spec", signed, "--env", "prod"}, policySummary{Keys: []string{"spec.pub"}, Attestations: prodRules, TLog: true, MaxAge: "720h0m0s"}, ""},
		{"key replaces the spec's signer, keeps the rules", []string{"--spec", signed, "--env", "prod", "--key", other}, policySummary{Keys: []string{"other.pub"}, Attestations: prodRules, TLog: true, MaxAge: "720h0m0s"}, ""},
		{"identity replaces the spec's signer", append([]string{"--spec", signed, "--env", "prod"}, idFlags...), policySummary{Identities: wantID, Attestations: prodRules, TLog: true, MaxAge: "720h0m0s"}, ""},
		{"key with a spec that names no signer", []string{"--spec", unsigned, "--env", "prod", "--key", other}, policySummary{Keys: []string{"other.pub"}, Attestations: prodRules, MaxAge: "0s"}, ""},
		{"identity with a spec that names no signer", append([]string{"--spec", unsigned, "--env", "prod"}, idFlags...), policySummary{Identities: wantID, Attestations: prodRules, MaxAge: "0s"}, ""},
		{"key with an unloadable spec key", []string{"--spec", badKey, "--env", "staging", "--key", other}, policySummary{Keys: []string{"other.pub"}, Attestations: []string{"eval"}, MaxAge: "0s"}, ""},
		{"extra attestation adds", []string{"--spec", unsigned, "--env", "staging", "--key", other, "--attestation", "provenance"}, policySummary{Keys: []string{"other.pub"}, Attestations: []string{"eval", "provenance"}, MaxAge: "0s"}, ""},
		{"insecure-ignore-tlog overrides the spec", []string{"--spec", signed, "--env", "staging", "--key", other, "--insecure-ignore-tlog"}, policySummary{Keys: []string{"other.pub"}, Attestations: []string{"eval"}, MaxAge: "720h0m0s"}, ""},
		{"spec without env", []string{"--spec", unsigned, "--key", other}, policySummary{Keys: []string{"other.pub"}, MaxAge: "0s"}, ""},
		{"flags alone", []string{"--key", other, "--attestation", "eval"}, policySummary{Keys: []string{"other.pub"}, Attestations: []string{"eval"}, MaxAge: "0s"}, ""},
		{"unknown environment with a key", []string{"--spec", unsigned, "--env", "nosuchenv", "--key", other}, policySummary{}, `environment "nosuchenv" is not in the spec`},
		{"unknown environment with an identity", append([]string{"--spec", signed, "--env", "nosuchenv"}, idFlags...), policySummary{}, `environment "nosuchenv" is not in the spec`},
		{"unknown environment alone", []string{"--spec", signed, "--env", "nosuchenv"}, policySummary{}, `environment "nosuchenv" is not in the spec`},
		{"unreadable spec with a key", []string{"--spec", filepath.Join(dir, "nope"), "--env", "prod", "--key", other}, policySummary{}, "nope"},
		{"unloadable spec key without flags", []string{"--spec", badKey, "--env", "prod"}, policySummary{}, "signing.key"},
		{"spec naming no signer, no flags", []string{"--spec", unsigned, "--env", "prod"}, policySummary{}, "names no signer"},
		{"env without spec", []string{"--env", "prod", "--key", other}, policySummary{}, "--env needs --spec"},
		{"unreadable key flag", []string{"--spec", signed, "--env", "prod", "--key", filepath.Join(dir, "gone.pub")}, policySummary{}, "gone.pub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _ := iostreams.Test(nil)
			f := NewFactory(ios, "test")
			var pf PolicyFlags
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			pf.Register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			pol, err := pf.Policy(context.Background(), f)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q (policy %+v)", err, tt.err, pol)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := summarizePolicy(pol); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("policy\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
