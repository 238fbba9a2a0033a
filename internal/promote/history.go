package promote

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/mlship/mlship/internal/spec"
)

// runEvidence answers the order rule's question: did env run digest on
// the main branch, at or before the policy commit v.commit? It returns
// where ("" when it did not). Only the main branch's own history counts:
// never a commit that exists only on a pull request's branch, never a
// registry tag (anyone with push access can move one by hand).
//
// Two sources, asked in turn: main's first-parent history of the
// environments file (mainHistory), then the signed promotion records
// attached to the digest (recordEvidence, record.go), which need no git
// history and are as hard to forge as the signer's key.
type runEvidence interface {
	ran(ctx context.Context, v *policyView, env, digest string) (string, error)
}

// mainHistory reads the environments file along the main branch's
// first-parent history: the commits main itself moved through (merges
// included, the commits they merged not).
type mainHistory struct{ p *Promoter }

func (h mainHistory) ran(ctx context.Context, v *policyView, env, digest string) (string, error) {
	p, before := h.p, v.commit
	ref := p.mainRef(ctx)
	if ref == "" {
		return "", fmt.Errorf("no %s branch to read the history of (fetch it: actions/checkout with fetch-depth: 0)", p.o.mainBranch)
	}
	// Only commits whose diff (against their first parent) adds or
	// removes a line holding the digest can have given it to env.
	_, hex, _ := strings.Cut(digest, ":")
	args := append([]string{"--first-parent", "-G" + regexp.QuoteMeta(hex), "--"}, spec.EnvironmentsFiles...)
	commits, err := p.git.Commits(ctx, ref, p.o.historyLimit, args...)
	if err != nil {
		return "", err
	}
	for _, c := range commits {
		if ok, err := p.git.IsAncestor(ctx, c, before); err != nil || !ok {
			if err != nil {
				return "", err
			}
			continue // after the change being judged (or the change itself)
		}
		st, err := p.StateAt(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			continue // an old invalid file proves nothing
		}
		if st.Envs[env].Digest == digest {
			return fmt.Sprintf("desired state at %s on %s", short(c), p.o.mainBranch), nil
		}
	}
	return "", nil
}

// ranIn asks each source of evidence in turn: the first that says where
// wins; when none does, the first error (a source that could not look) is
// the answer, so a check that could not run is never "did not run".
func (p *Promoter) ranIn(ctx context.Context, v *policyView, env, digest string) (string, error) {
	var first error
	for _, ev := range p.evidence {
		where, err := ev.ran(ctx, v, env, digest)
		if where != "" {
			return where, nil
		}
		if err != nil && first == nil {
			first = err
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	return "", first
}
