package promote

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/spec"
)

// ProposeOptions configure Propose.
type ProposeOptions struct {
	// Base is the commit the proposal starts from (default HEAD: main
	// after the previous environment's promotion was applied).
	Base string
	// Push pushes the proposal branch to the remote (default remote
	// "origin"); without it only the local commit is made.
	Push bool
	// Actor is recorded as promotedBy ("" leaves it out).
	Actor string
}

// Proposal is what Propose did.
type Proposal struct {
	Environment string `json:"environment"`
	From        string `json:"from,omitempty"`
	Digest      string `json:"digest"`
	Version     string `json:"version,omitempty"`
	// UpToDate is true when the environment already runs the digest:
	// nothing was proposed.
	UpToDate    bool               `json:"upToDate"`
	Branch      string             `json:"branch,omitempty"`
	Commit      string             `json:"commit,omitempty"`
	Pushed      bool               `json:"pushed"`
	PullRequest *ghapi.PullRequest `json:"pullRequest,omitempty"`
	Created     bool               `json:"created"`
	Plan        *Plan              `json:"plan,omitempty"`
	Title       string             `json:"title,omitempty"`
	Body        string             `json:"-"`
}

// BranchFor is the branch of the promotion pull request to env.
func BranchFor(env string) string { return "mlship/promote-" + env }

// Propose opens (or updates) the pull request that promotes to env the
// digest its previous environment (spec: environments.<env>.after) runs at
// opts.Base. It writes the changed environments file as a commit whose
// parent is opts.Base, made with git plumbing (read-tree, hash-object,
// update-index, write-tree, commit-tree on a temporary index: the work
// tree and the checked-out branch are not touched), force-pushes it to
// mlship/promote-<env>, and upserts the pull request from that branch to
// the main branch with the plan in its body.
func (p *Promoter) Propose(ctx context.Context, env string, opts ProposeOptions) (*Proposal, error) {
	e, ok := p.model.Environments[env]
	if !ok {
		return nil, fmt.Errorf("environment %q is not in the spec (have %s)", env, strings.Join(p.model.EnvironmentOrder, ", "))
	}
	if e.After == "" {
		return nil, fmt.Errorf("%s is the first environment (no environments.%s.after): there is nothing to promote from", env, env)
	}
	if opts.Base == "" {
		opts.Base = "HEAD"
	}
	base, err := p.git.Commit(ctx, opts.Base)
	if err != nil {
		return nil, err
	}
	bs, err := p.StateAt(ctx, base)
	if err != nil {
		return nil, err
	}
	src := bs.Envs[e.After]
	if src.Digest == "" {
		return nil, fmt.Errorf("%s runs no digest at %s (%s): promote to %s first", e.After, short(base), orNone(bs.File), e.After)
	}
	pr := &Proposal{Environment: env, From: bs.Envs[env].Digest, Digest: src.Digest, Version: src.Version, Branch: BranchFor(env)}
	if bs.Envs[env].Digest == src.Digest {
		pr.UpToDate = true
		return pr, nil
	}
	if pr.Version == "" {
		if ann, err := p.o.registry.Annotations(ctx, p.repo, src.Digest); err == nil {
			pr.Version = ann[oci.AnnotationVersion]
		}
	}
	file := bs.File
	if file == "" {
		file = spec.EnvironmentsFiles[0]
	}
	data, envs, err := p.editedFile(file, bs.Raw, env, spec.EnvState{Digest: src.Digest, Version: pr.Version, PromotedBy: opts.Actor})
	if err != nil {
		return nil, err
	}
	pr.Title = fmt.Sprintf("Promote %s%s to %s (%s)", p.model.Name, prefixed(" ", pr.Version), env, oci.ShortDigest(src.Digest))
	commit, err := p.commitFile(ctx, base, file, data, pr.Title)
	if err != nil {
		return nil, err
	}
	pr.Commit = commit
	hs := &State{Commit: commit, File: file, Envs: envs, Raw: data}
	if pr.Plan, err = p.plan(ctx, ModePlan, bs, hs, base, nil); err != nil {
		return nil, err
	}
	pr.Body = proposalBody(p, pr)
	if opts.Push {
		if !p.git.HasRemote(ctx, p.o.remote) {
			return pr, fmt.Errorf("no git remote %q to push %s to", p.o.remote, pr.Branch)
		}
		if _, err := p.git.run(ctx, nil, "push", "--force", "--quiet", p.o.remote, commit+":refs/heads/"+pr.Branch); err != nil {
			return pr, fmt.Errorf("pushing %s: %w", pr.Branch, err)
		}
		pr.Pushed = true
	}
	if p.o.github != nil {
		got, created, err := p.o.github.UpsertPullRequest(ctx, p.o.owner, p.o.repo, pr.Branch, p.o.mainBranch, pr.Title, pr.Body)
		if err != nil {
			return pr, fmt.Errorf("opening the promotion pull request: %w", err)
		}
		pr.PullRequest, pr.Created = &got, created
	}
	return pr, nil
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// editedFile sets env in the file and validates the result; a version the
// schema refuses (not SemVer) is dropped rather than failing.
func (p *Promoter) editedFile(file string, raw []byte, env string, st spec.EnvState) ([]byte, map[string]spec.EnvState, error) {
	for {
		data, err := SetEnvironment(file, raw, env, st)
		if err != nil {
			return nil, nil, err
		}
		parsed, err := p.loader.ParseEnvironments(filepath.Join(p.model.Dir, file), data)
		if err == nil {
			return data, parsed.Environments, nil
		}
		if st.Version == "" {
			return nil, nil, fmt.Errorf("the edited environments file is invalid (fix %s by hand): %w", file, err)
		}
		st.Version = ""
	}
}

// commitFile makes a commit with parent whose tree is parent's with file
// (relative to the spec directory) replaced by data.
func (p *Promoter) commitFile(ctx context.Context, parent, file string, data []byte, msg string) (string, error) {
	prefix, err := p.git.Prefix(ctx)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "mlship-promote-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	g := &Git{Dir: p.git.Dir, Env: append(append([]string(nil), p.git.Env...), "GIT_INDEX_FILE="+filepath.Join(tmp, "index"))}
	g.Env = append(g.Env, p.identityEnv(ctx)...)
	if _, err := g.run(ctx, nil, "read-tree", parent); err != nil {
		return "", err
	}
	blob, err := g.run(ctx, data, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	path := prefix + filepath.ToSlash(file)
	if _, err := g.run(ctx, nil, "update-index", "--add", "--cacheinfo", "100644,"+strings.TrimSpace(blob)+","+path); err != nil {
		return "", err
	}
	tree, err := g.run(ctx, nil, "write-tree")
	if err != nil {
		return "", err
	}
	commit, err := g.run(ctx, nil, "commit-tree", strings.TrimSpace(tree), "-p", parent, "-m", msg)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(commit), nil
}

// identityEnv supplies a committer when git has none configured (a fresh
// runner): mlship's bot identity.
func (p *Promoter) identityEnv(ctx context.Context) []string {
	var env []string
	if _, err := p.git.run(ctx, nil, "config", "user.name"); err != nil && p.o.getenv("GIT_AUTHOR_NAME") == "" {
		env = append(env, "GIT_AUTHOR_NAME=mlship", "GIT_COMMITTER_NAME=mlship")
	}
	if _, err := p.git.run(ctx, nil, "config", "user.email"); err != nil && p.o.getenv("GIT_AUTHOR_EMAIL") == "" {
		env = append(env, "GIT_AUTHOR_EMAIL=mlship@users.noreply.github.com", "GIT_COMMITTER_EMAIL=mlship@users.noreply.github.com")
	}
	return env
}

func proposalBody(p *Promoter, pr *Proposal) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Promotes **%s**%s to **%s**: `%s`, which %s runs now", p.model.Name, prefixed(" ", pr.Version), pr.Environment, pr.Digest, p.model.Environments[pr.Environment].After)
	if pr.From != "" {
		fmt.Fprintf(&b, " (replacing `%s`)", pr.From)
	}
	b.WriteString(".\n\nApproving this pull request approves exactly the plan below; merging it deploys: the push to main runs `mlship promote apply`, which re-checks every rule and moves the tag. To roll back, revert the merge.\n\n")
	b.WriteString(pr.Plan.Markdown())
	return b.String()
}
