package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// Policy is the verification policy for promoting to env under the spec
// the Promoter was made with (the work tree's: for status and tools; plan
// and apply judge by the policy on main, see policyAt).
func (p *Promoter) Policy(env string) (*sign.Policy, error) {
	return p.signPolicy(p.model, env)
}

func (p *Promoter) checkSigned(ctx context.Context, v *policyView, env string, e spec.Environment, digest string, add func(string, Status, string, ...any)) {
	ref := digestRef(p.repo, digest)
	pol, err := v.sign[env], v.signErr[env]
	if err == nil && pol == nil {
		err = fmt.Errorf("no verification policy for %s at commit %s", env, short(v.commit))
	}
	if err != nil {
		add(RuleSignature, Fail, "%v", err)
		add(RuleAttestations, Skip, "no verification policy")
		return
	}
	sigOnly := *pol
	sigOnly.Attestations = nil
	vr, err := p.o.verifier.Verify(ctx, ref, &sigOnly)
	if err != nil {
		add(RuleSignature, Fail, "%s", refusalText(err))
		add(RuleAttestations, Skip, "the signature failed")
		return
	}
	signer := ""
	if len(vr.Signatures) > 0 {
		signer = vr.Signatures[0].Signer
	}
	add(RuleSignature, Pass, "signed by %s", signer)

	// "promotion" in env's attestations is what deployers require of a
	// digest promoted to env: apply writes that record, so the plan cannot
	// require it (records for earlier environments are the order rule's).
	pol, recorded := withoutPromotion(pol)
	if len(pol.Attestations) == 0 {
		add(RuleAttestations, Pass, "none required%s", recorded)
		return
	}
	if _, err := p.o.verifier.Verify(ctx, ref, pol); err != nil {
		add(RuleAttestations, Fail, "%s", refusalText(err))
		return
	}
	var got []string
	for _, r := range pol.Attestations {
		switch r.PredicateType {
		case sign.EvalPredicateType:
			got = append(got, "eval passed"+gatesText(e.Gates))
		case sign.ProvenancePredicateType:
			builder, err := p.checkProvenance(ctx, ref, digest)
			if err != nil {
				add(RuleAttestations, Fail, "provenance: %v", err)
				return
			}
			got = append(got, "provenance from "+builder)
		default:
			got = append(got, r.Name())
		}
	}
	add(RuleAttestations, Pass, "%s%s", strings.Join(got, "; "), recorded)
}

// withoutPromotion drops promotion-record rules from pol (a copy) and says
// so in a suffix for the rule's detail.
func withoutPromotion(pol *sign.Policy) (*sign.Policy, string) {
	out := *pol
	out.Attestations = nil
	dropped := false
	for _, r := range pol.Attestations {
		if r.PredicateType == attest.PromotionType {
			dropped = true
			continue
		}
		out.Attestations = append(out.Attestations, r)
	}
	if !dropped {
		return pol, ""
	}
	return &out, " (the promotion record is written by apply, before the tag moves)"
}

func refusalText(err error) string {
	var r *sign.Refusal
	if errors.As(err, &r) {
		s := r.Rule
		if r.Detail != "" {
			d := r.Detail
			if len(d) > 300 {
				d = d[:300] + "…"
			}
			s += " (" + d + ")"
		}
		return s
	}
	return err.Error()
}

func gatesText(g map[string]spec.Gate) string {
	if len(g) == 0 {
		return ""
	}
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if g[k].Min != nil {
			parts = append(parts, fmt.Sprintf("%s ≥ %g", k, *g[k].Min))
		}
		if g[k].Max != nil {
			parts = append(parts, fmt.Sprintf("%s ≤ %g", k, *g[k].Max))
		}
	}
	return " with gates " + strings.Join(parts, ", ")
}

// checkProvenance requires every provenance statement about digest to come
// from an allowed workflow (conservative: the statements are read without
// matching each to its signature, so one foreign builder refuses), and
// returns the builder.
func (p *Promoter) checkProvenance(ctx context.Context, ref, digest string) (string, error) {
	sts, err := p.o.verifier.Statements(ctx, ref, sign.ProvenancePredicateType)
	if err != nil {
		return "", err
	}
	var builders []string
	for _, st := range sts {
		if !aboutDigest(st, digest) {
			continue
		}
		var pred struct {
			RunDetails struct {
				Builder struct {
					ID string `json:"id"`
				} `json:"builder"`
			} `json:"runDetails"`
		}
		if err := json.Unmarshal(st.Predicate, &pred); err != nil || pred.RunDetails.Builder.ID == "" {
			return "", errors.New("a provenance attestation names no builder (runDetails.builder.id)")
		}
		b := pred.RunDetails.Builder.ID
		if len(p.o.workflows) > 0 && !matchesAny(p.o.workflows, b) {
			return "", fmt.Errorf("builder %s is not an allowed workflow (allowed: %s)", b, patterns(p.o.workflows))
		}
		builders = append(builders, b)
	}
	if len(builders) == 0 {
		return "", fmt.Errorf("no provenance attestation about %s", digest)
	}
	sort.Strings(builders)
	out := strings.Join(uniq(builders), ", ")
	if len(p.o.workflows) == 0 {
		out += " (any workflow accepted: no allowed workflows configured)"
	}
	return out, nil
}

func aboutDigest(st sign.Statement, digest string) bool {
	alg, hex, _ := strings.Cut(digest, ":")
	for _, s := range st.Subject {
		if s.Digest[alg] == hex {
			return true
		}
	}
	return false
}

func uniq(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
