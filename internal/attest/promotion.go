package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Promotion is the predicate of a promotion record (PromotionType): the
// signed statement, about one manifest digest, that promote apply moved
// an environment's tag to it. A deployer checks it offline (verify
// --promoted-to ENV, cosign verify-attestation, an admission controller)
// without git or GitHub.
type Promotion struct {
	// Environment is the environment whose tag moved (dev, staging, prod).
	Environment string `json:"environment"`
	// Model is the spec's model name; Version the artifact's version
	// (informative: the subject digest is what the record is about).
	Model   string `json:"model,omitempty"`
	Version string `json:"version,omitempty"`
	// Repository is the model's registry repository (ghcr.io/acme/iris).
	Repository string `json:"repository"`
	// Tag is the environment tag that now points at the subject.
	Tag string `json:"tag,omitempty"`
	// Git is where the decision was made: the git repository and the
	// merge commit on the main branch.
	Git PromotionGit `json:"git"`
	// PullRequest is the promotion pull request that was merged (absent
	// for a push to main without a PR).
	PullRequest *PromotionPR `json:"pullRequest,omitempty"`
	// Approvers are the reviewers whose approvals counted.
	Approvers []string `json:"approvers,omitempty"`
	// Rules are the promotion rules with their outcome.
	Rules []PromotionRule `json:"rules"`
	// PreviousDigest is the digest the tag pointed at before ("" if none).
	PreviousDigest string `json:"previousDigest,omitempty"`
	// PromotedAt is when the tag moved (RFC 3339, UTC).
	PromotedAt time.Time `json:"promotedAt"`
	// RunURL is the Actions run that promoted, when in Actions.
	RunURL string `json:"runURL,omitempty"`
}

// PromotionGit names the commit a promotion was decided at.
type PromotionGit struct {
	// Repository is the git repository (owner/name on GitHub, or a URL).
	Repository string `json:"repository,omitempty"`
	// MergeCommit is the commit on main that holds the new desired state.
	MergeCommit string `json:"mergeCommit"`
	// Ref is the branch ref (refs/heads/main).
	Ref string `json:"ref,omitempty"`
}

// PromotionPR is the merged promotion pull request.
type PromotionPR struct {
	Number int    `json:"number"`
	URL    string `json:"url,omitempty"`
}

// PromotionRule is one promotion rule's outcome (signature, attestations,
// gates, order, approvals, policy-change...).
type PromotionRule struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"` // pass, fail, skip
	Detail  string `json:"detail,omitempty"`
}

// maxPromotion bounds a promotion predicate read from a registry: a real
// one is a few KiB (rules with details, a handful of approvers).
const maxPromotion = 1 << 20

// ParsePromotion reads a promotion predicate; it checks the fields a
// deployer relies on are present and well formed. The signature is
// verified elsewhere (internal/sign): a caller that trusts the record must
// have verified it first.
func ParsePromotion(raw []byte) (*Promotion, error) {
	if len(raw) > maxPromotion {
		return nil, fmt.Errorf("promotion record: %d bytes, more than the %d a record may hold", len(raw), maxPromotion)
	}
	var p Promotion
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("promotion record: %w", err)
	}
	if p.Environment == "" {
		return nil, fmt.Errorf("promotion record: no environment")
	}
	if p.Git.MergeCommit == "" {
		return nil, fmt.Errorf("promotion record for %s: no merge commit", p.Environment)
	}
	if !isCommitSHA(p.Git.MergeCommit) {
		return nil, fmt.Errorf("promotion record for %s: merge commit %q is not a full commit SHA", p.Environment, p.Git.MergeCommit)
	}
	if p.PreviousDigest != "" && !validDigest(p.PreviousDigest) {
		return nil, fmt.Errorf("promotion record for %s: previous digest %q is not algorithm:hex", p.Environment, p.PreviousDigest)
	}
	if p.PromotedAt.IsZero() {
		return nil, fmt.Errorf("promotion record for %s: no promotedAt time", p.Environment)
	}
	return &p, nil
}

// Marshal encodes the predicate (what mlship attests).
func (p *Promotion) Marshal() ([]byte, error) {
	if p.Environment == "" || p.Git.MergeCommit == "" {
		return nil, fmt.Errorf("promotion record: environment and merge commit are required")
	}
	return json.Marshal(p)
}

// RuleOutcome is the outcome the record gives rule name ("" when absent).
func (p *Promotion) RuleOutcome(name string) string {
	for _, r := range p.Rules {
		if r.Name == name {
			return r.Outcome
		}
	}
	return ""
}

// isCommitSHA reports whether s is a full git object name (SHA-1 or
// SHA-256, lower-case hex): never a ref or a revision expression.
func isCommitSHA(s string) bool {
	return (len(s) == 40 || len(s) == 64) && isLowerHex(s)
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func validDigest(d string) bool {
	alg, hex, ok := strings.Cut(d, ":")
	return ok && alg != "" && len(hex) >= 32 && isLowerHex(hex)
}
