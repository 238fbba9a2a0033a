package promote

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/spec"
)

// PromotionPolicy is everything in the spec that decides whether a
// promotion may happen: who may sign (and the content of the key file, not
// only its name), and per environment its order (after, allowSkip), gates,
// required attestations and approvals (count and reviewers), plus the
// workflows a provenance attestation may come from. It is read from the
// main branch before the change being judged; two policies are compared by
// their canonical JSON (normalized: sorted lists, lower-case logins,
// durations parsed), so reformatting the spec is not a policy change.
//
// Everything else in the spec (train, eval's metrics files, package, the
// registry repository) is not policy: a change there may promote in the
// same pull request.
type PromotionPolicy struct {
	Signing      SigningPolicy        `json:"signing"`
	Environments map[string]EnvPolicy `json:"environments"`
	// AllowedWorkflows come from the command line (--allowed-workflow) or
	// the run's repository, not the spec: shown, the same on both sides.
	AllowedWorkflows []string `json:"allowedWorkflows"`
}

// SigningPolicy is the spec's signing section, with the key file's digest.
type SigningPolicy struct {
	Key string `json:"key,omitempty"`
	// KeySHA256 is the sha256 of the key file at the commit ("" for keys
	// that are not files, or a file the commit lacks).
	KeySHA256 string        `json:"keySha256,omitempty"`
	Keyless   *spec.Keyless `json:"keyless,omitempty"`
	TLog      bool          `json:"tlog"`
	MaxAge    string        `json:"maxAge,omitempty"`
	// Promotion is signing.promotion, who signs promotion records.
	Promotion *PromotionSigningPolicy `json:"promotion,omitempty"`
}

// PromotionSigningPolicy is signing.promotion with its key file's digest.
type PromotionSigningPolicy struct {
	Key       string        `json:"key,omitempty"`
	KeySHA256 string        `json:"keySha256,omitempty"`
	Keyless   *spec.Keyless `json:"keyless,omitempty"`
}

// EnvPolicy is one environment's promotion rules.
type EnvPolicy struct {
	After        string               `json:"after,omitempty"`
	AllowSkip    bool                 `json:"allowSkip"`
	Gates        map[string]spec.Gate `json:"gates"`
	Attestations []string             `json:"attestations"`
	Approvals    ApprovalPolicy       `json:"approvals"`
}

// ApprovalPolicy is how many approving reviews, from whom.
type ApprovalPolicy struct {
	Required  int      `json:"required"`
	Reviewers []string `json:"reviewers"`
}

// policyOf extracts the policy of m; keySum is the key file's sha256.
func policyOf(m *spec.Model, keySum string, workflows []*regexp.Regexp) PromotionPolicy {
	s := m.Signing
	pol := PromotionPolicy{
		Signing:          SigningPolicy{Key: s.Key, KeySHA256: keySum, Keyless: s.Keyless, TLog: s.TLog, MaxAge: s.MaxAge},
		Environments:     map[string]EnvPolicy{},
		AllowedWorkflows: []string{},
	}
	if d, err := time.ParseDuration(s.MaxAge); err == nil {
		pol.Signing.MaxAge = d.String()
	}
	for name, e := range m.Environments {
		ep := EnvPolicy{After: e.After, AllowSkip: e.AllowSkip, Gates: map[string]spec.Gate{}, Attestations: normalized(e.Attestations, false)}
		for k, g := range e.Gates {
			ep.Gates[k] = g
		}
		ep.Approvals.Required = max(e.Approvals.Required, 0)
		ep.Approvals.Reviewers = normalized(e.Approvals.Reviewers, true)
		pol.Environments[name] = ep
	}
	for _, re := range workflows {
		pol.AllowedWorkflows = append(pol.AllowedWorkflows, re.String())
	}
	return pol
}

// normalized sorts and de-duplicates a list; logins lower-cased without "@"
// (GitHub logins and team slugs are case-insensitive).
func normalized(in []string, logins bool) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range in {
		if logins {
			s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// PolicyDiff is how the head's policy differs from the base's.
type PolicyDiff struct {
	// Base is the commit the policy in force was read from, Head the
	// commit proposing the change.
	Base    string         `json:"base"`
	Head    string         `json:"head"`
	Changes []PolicyChange `json:"changes"`
}

// PolicyChange is one changed policy field (a dotted path); Before and
// After are JSON values, "" when the field is absent on that side.
type PolicyChange struct {
	Path   string `json:"path"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// Paths lists the changed fields.
func (d *PolicyDiff) Paths() []string {
	out := make([]string, len(d.Changes))
	for i, c := range d.Changes {
		out[i] = c.Path
	}
	return out
}

// diffPolicies compares two policies semantically; nil when equal.
func diffPolicies(base, head *policyView) (*PolicyDiff, error) {
	b, err := flatPolicy(base.policy)
	if err != nil {
		return nil, err
	}
	h, err := flatPolicy(head.policy)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range h {
		keys[k] = true
	}
	d := &PolicyDiff{Base: base.commit, Head: head.commit}
	for k := range keys {
		if b[k] != h[k] {
			d.Changes = append(d.Changes, PolicyChange{Path: k, Before: b[k], After: h[k]})
		}
	}
	if len(d.Changes) == 0 {
		return nil, nil
	}
	sort.Slice(d.Changes, func(i, j int) bool { return d.Changes[i].Path < d.Changes[j].Path })
	return d, nil
}

// flatPolicy is the policy's canonical JSON as path → JSON value (objects
// walked, lists and scalars kept whole).
func flatPolicy(p PromotionPolicy) (map[string]string, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the policy: %w", err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if obj, ok := v.(map[string]any); ok && len(obj) > 0 {
			for k, x := range obj {
				walk(strings.TrimPrefix(prefix+"."+k, "."), x)
			}
			return
		}
		b, _ := json.Marshal(v) // maps sort their keys: canonical
		out[prefix] = string(b)
	}
	walk("", v)
	return out, nil
}
