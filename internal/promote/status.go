package promote

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/spec"
)

// EnvStatus is one environment as git (desired), the registry (actual)
// and GitHub (deployments) see it.
type EnvStatus struct {
	Environment string `json:"environment"`
	// Desired is the digest the environments file gives at the commit.
	Desired string `json:"desired,omitempty"`
	// Tag is repo:env and Current the digest it points at ("" when absent).
	Tag     string `json:"tag"`
	Current string `json:"current,omitempty"`
	InSync  bool   `json:"inSync"`
	Version string `json:"version,omitempty"`
	// Signature is "verified", "unsigned", "invalid" or "unknown"; Signer
	// or SignatureDetail say more.
	Signature       string `json:"signature"`
	Signer          string `json:"signer,omitempty"`
	SignatureDetail string `json:"signatureDetail,omitempty"`
	// PromotedAt and PromotedBy come from the newest GitHub deployment of
	// the environment when it names the desired digest, else from the git
	// commit that introduced the digest into the file (Source says which).
	PromotedAt string `json:"promotedAt,omitempty"`
	PromotedBy string `json:"promotedBy,omitempty"`
	Source     string `json:"source,omitempty"`
}

// Status reports every environment of the spec at rev (default HEAD).
func (p *Promoter) Status(ctx context.Context, rev string) ([]EnvStatus, error) {
	if rev == "" {
		rev = "HEAD"
	}
	commit, err := p.git.Commit(ctx, rev)
	if err != nil {
		return nil, err
	}
	st, err := p.StateAt(ctx, commit)
	if err != nil {
		return nil, err
	}
	var out []EnvStatus
	for _, env := range envNames(p.model.EnvironmentOrder, st) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		es := EnvStatus{Environment: env, Desired: st.Envs[env].Digest, Version: st.Envs[env].Version, Tag: p.TagRef(env), Signature: "unknown"}
		cur, err := p.o.registry.Resolve(ctx, p.repo, env)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			es.SignatureDetail = "reading the tag: " + err.Error()
		default:
			es.Current = cur
		}
		es.InSync = es.Desired == es.Current
		subject := es.Desired
		if subject == "" {
			subject = es.Current
		}
		if subject != "" {
			p.signatureState(ctx, env, subject, &es)
			p.promotedWhen(ctx, commit, env, st, &es)
		}
		out = append(out, es)
	}
	return out, nil
}

func (p *Promoter) signatureState(ctx context.Context, env, digest string, es *EnvStatus) {
	if es.Version == "" {
		if ann, err := p.o.registry.Annotations(ctx, p.repo, digest); err == nil {
			es.Version = ann[oci.AnnotationVersion]
		} else if errors.Is(err, ErrNotFound) {
			es.Signature, es.SignatureDetail = "missing", digest+" is not in "+p.repo
			return
		}
	}
	pol, err := p.Policy(env)
	if err != nil {
		es.SignatureDetail = err.Error()
		return
	}
	pol.Attestations = nil
	v, err := p.o.verifier.Verify(ctx, digestRef(p.repo, digest), pol)
	switch {
	case err == nil:
		es.Signature = "verified"
		if len(v.Signatures) > 0 {
			es.Signer = v.Signatures[0].Signer
		}
	default:
		es.Signature, es.SignatureDetail = "invalid", refusalText(err)
		if strings.HasPrefix(es.SignatureDetail, "unsigned") {
			es.Signature = "unsigned"
		}
	}
}

func (p *Promoter) promotedWhen(ctx context.Context, commit, env string, st *State, es *EnvStatus) {
	if gh := p.o.github; gh != nil && es.Desired != "" {
		if deps, err := gh.ListDeployments(ctx, p.o.owner, p.o.repo, env, "", 1); err == nil && len(deps) > 0 {
			var pl struct {
				Digest string `json:"digest"`
			}
			_ = json.Unmarshal(deps[0].Payload, &pl)
			if pl.Digest == es.Desired {
				es.PromotedAt = deps[0].CreatedAt.UTC().Format(time.RFC3339)
				es.PromotedBy = deps[0].Creator
				es.Source = "deployment " + itoa(deps[0].ID)
				return
			}
		}
	}
	if es.Desired == "" || st.File == "" {
		return
	}
	ci, err := p.git.Introduced(ctx, commit, es.Desired, spec.EnvironmentsFiles...)
	if err == nil && ci != nil {
		es.PromotedAt, es.PromotedBy, es.Source = ci.Date, ci.Author, "commit "+short(ci.SHA)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
