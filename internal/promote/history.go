package promote

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/mlship/mlship/internal/spec"
)

// runEvidence answers the order rule's question: did env run digest on
// the main branch, at or before commit before? It returns where ("" when it
// did not). Only the main branch's own history counts: never a commit that
// exists only on a pull request's branch, never a registry tag (anyone with
// push access can move one by hand).
//
// Today there is one source, main's first-parent history of the
// environments file. Signed promotion records (statements about a digest,
// stored in the registry) are the next one: a second implementation here,
// appended to Promoter.evidence.
type runEvidence interface {
	ran(ctx context.Context, env, digest, before string) (string, error)
}

// mainHistory reads the environments file along the main branch's
// first-parent history: the commits main itself moved through (merges
// included, the commits they merged not).
type mainHistory struct{ p *Promoter }

func (h mainHistory) ran(ctx context.Context, env, digest, before string) (string, error) {
	p := h.p
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

// ranIn asks each source of evidence in turn.
func (p *Promoter) ranIn(ctx context.Context, env, digest, before string) (string, error) {
	for _, ev := range p.evidence {
		where, err := ev.ran(ctx, env, digest, before)
		if err != nil || where != "" {
			return where, err
		}
	}
	return "", nil
}
