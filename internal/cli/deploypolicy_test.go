package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"cuelang.org/go/cue/cuecontext"
	"go.yaml.in/yaml/v3"

	"github.com/mlship/mlship/internal/attest"
)

// deployYAML returns every ```yaml block of docs/deploy.md, parsed; a
// block that is not valid YAML fails the test.
func deployYAML(t *testing.T) []map[string]any {
	t.Helper()
	doc, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1) {
		var v map[string]any
		if err := yaml.Unmarshal(m[1], &v); err != nil {
			t.Fatalf("docs/deploy.md yaml block %d is not valid YAML: %v\n%s", i+1, err, m[1])
		}
		out = append(out, v)
	}
	return out
}

// find returns the document of kind named name.
func findDoc(t *testing.T, docs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, d := range docs {
		if d["kind"] == kind && dig(d, "metadata", "name") == name {
			return d
		}
	}
	t.Fatalf("docs/deploy.md has no %s named %s", kind, name)
	return nil
}

// dig walks maps by key and lists by index.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// promotionStatement is the in-toto statement of a promotion record for
// env, as mlship attests it.
func promotionStatement(t *testing.T, predicateType, env, repository string) []byte {
	t.Helper()
	rec := attest.Promotion{Environment: env, Repository: repository, Git: attest.PromotionGit{MergeCommit: strings.Repeat("1a", 20)},
		Rules: []attest.PromotionRule{{Name: "signature", Outcome: "pass"}}, PromotedAt: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	pred, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st, err := json.Marshal(attest.Statement{Type: attest.StatementType, PredicateType: predicateType, Predicate: pred,
		Subject: []attest.Subject{{Name: "ghcr.io/acme/iris", Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}}}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestDeployDocPromotionPolicies parses the admission policies of
// docs/deploy.md that admit only models promoted to prod, and evaluates
// them against promotion records as the controllers do: policy-controller
// unifies its CUE policy with the in-toto statement (cuecontext, Unify,
// Validate), Kyverno checks its conditions against the predicate.
func TestDeployDocPromotionPolicies(t *testing.T) {
	t.Parallel()
	docs := deployYAML(t)
	cip := findDoc(t, docs, "ClusterImagePolicy", "mlship-promoted-to-prod")
	if got := dig(cip, "apiVersion"); got != "policy.sigstore.dev/v1beta1" {
		t.Errorf("ClusterImagePolicy apiVersion %v", got)
	}
	auth := dig(cip, "spec", "authorities", 0)
	if dig(auth, "key", "data") == nil {
		t.Errorf("the policy-controller authority names no key: %v", auth)
	}
	att := dig(auth, "attestations", 0)
	if dig(att, "predicateType") != attest.PromotionType || dig(att, "policy", "type") != "cue" {
		t.Fatalf("policy-controller attestation %v: want predicateType %s with a cue policy", att, attest.PromotionType)
	}
	policy, _ := dig(att, "policy", "data").(string)

	kp := findDoc(t, docs, "ClusterPolicy", "mlship-promoted-to-prod")
	if got := dig(kp, "apiVersion"); got != "kyverno.io/v1" {
		t.Errorf("Kyverno apiVersion %v", got)
	}
	katt := dig(kp, "spec", "rules", 0, "verifyImages", 0, "attestations", 0)
	if dig(katt, "type") != attest.PromotionType || dig(katt, "attestors", 0, "entries", 0, "keys", "publicKeys") == nil {
		t.Fatalf("Kyverno attestation %v: want type %s with a key attestor", katt, attest.PromotionType)
	}
	conds, _ := dig(katt, "conditions", 0, "all").([]any)
	if len(conds) == 0 {
		t.Fatalf("Kyverno attestation has no conditions: %v", katt)
	}

	const iris = "ghcr.io/acme/iris"
	tests := []struct {
		name, predicateType, env, repository string
		admit                                bool
	}{
		{"promoted to prod", attest.PromotionType, "prod", iris, true},
		{"promoted to dev", attest.PromotionType, "dev", iris, false},
		{"promoted to staging", attest.PromotionType, "staging", iris, false},
		{"promoted to prod as another model", attest.PromotionType, "prod", "ghcr.io/acme/other", false},
		{"another predicate type saying prod", attest.EvalType, "prod", iris, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := promotionStatement(t, tt.predicateType, tt.env, tt.repository)
			if err := evaluateCUEPolicy(policy, st); (err == nil) != tt.admit {
				t.Errorf("policy-controller CUE policy on a %s record: err = %v, want admitted %v", tt.env, err, tt.admit)
			}
			if tt.predicateType != attest.PromotionType {
				return // Kyverno selects attestations by type before conditions
			}
			var s struct {
				Predicate map[string]any `json:"predicate"`
			}
			if err := json.Unmarshal(st, &s); err != nil {
				t.Fatal(err)
			}
			ok, err := kyvernoAll(conds, s.Predicate)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.admit {
				t.Errorf("Kyverno conditions on a %s record: %v, want admitted %v", tt.env, ok, tt.admit)
			}
		})
	}
}

// evaluateCUEPolicy is policy-controller's CUE evaluation: compile the
// policy and the statement, unify, validate.
func evaluateCUEPolicy(policy string, statement []byte) error {
	ctx := cuecontext.New()
	p := ctx.CompileString(policy)
	if p.Err() != nil {
		return fmt.Errorf("compiling the CUE policy: %w", p.Err())
	}
	a := ctx.CompileBytes(statement)
	if a.Err() != nil {
		return a.Err()
	}
	return p.Unify(a).Validate()
}

// kyvernoAll evaluates an "all" list of Kyverno conditions whose keys are
// plain JMESPath field paths ("{{ a.b }}") with the Equals and NotEquals
// operators, the subset the doc uses; anything else is an error, so the
// doc cannot drift into what this test does not check.
func kyvernoAll(conds []any, predicate map[string]any) (bool, error) {
	path := regexp.MustCompile(`^\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}$`)
	for _, c := range conds {
		key, _ := dig(c, "key").(string)
		m := path.FindStringSubmatch(key)
		if m == nil {
			return false, fmt.Errorf("condition key %q is not a field path", key)
		}
		var v any = predicate
		for _, f := range strings.Split(m[1], ".") {
			v = dig(v, f)
		}
		got, want := fmt.Sprint(v), fmt.Sprint(dig(c, "value"))
		switch op := dig(c, "operator"); op {
		case "Equals":
			if got != want {
				return false, nil
			}
		case "NotEquals":
			if got == want {
				return false, nil
			}
		default:
			return false, fmt.Errorf("condition operator %v is not checked by this test", op)
		}
	}
	return true, nil
}
