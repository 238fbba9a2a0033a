package promote

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mlship/mlship/internal/spec"
)

// Promoter plans and applies promotions of one model.
type Promoter struct {
	model  *spec.Model
	loader *spec.Loader
	git    *Git
	o      *options
	repo   string
	// evidence answers the order rule, in turn (see runEvidence).
	evidence []runEvidence
}

// New returns a Promoter for the model loaded from its spec directory
// (m.Dir, which must be inside a git work tree).
func New(m *spec.Model, opts ...Option) (*Promoter, error) {
	if m == nil || m.Dir == "" {
		return nil, errors.New("promote: a spec loaded from a directory is required")
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	l, err := spec.NewLoader()
	if err != nil {
		return nil, err
	}
	repo := m.Registry.Repository
	if o.repository != "" {
		repo = o.repository
	}
	if repo == "" {
		return nil, fmt.Errorf("the spec in %s names no registry.repository: set it or pass --repository", m.Dir)
	}
	repo = strings.TrimSuffix(repo, "/")
	if o.registry == nil {
		o.registry = OCIRegistry{}
	}
	if o.verifier == nil {
		o.verifier = SignVerifier{}
	}
	if err := o.defaultWorkflows(); err != nil {
		return nil, err
	}
	p := &Promoter{model: m, loader: l, git: &Git{Dir: m.Dir}, o: o, repo: repo}
	p.evidence = []runEvidence{mainHistory{p}, recordEvidence{p}}
	return p, nil
}

// Repository is the registry repository the environment tags live in.
func (p *Promoter) Repository() string { return p.repo }

// Git is the git CLI runner in the spec directory.
func (p *Promoter) Git() *Git { return p.git }

// TagRef is the environment's tag reference (repo:env).
func (p *Promoter) TagRef(env string) string { return p.repo + ":" + env }

// State is the desired state at one commit.
type State struct {
	Commit string `json:"commit"`
	// File is the environments file's path relative to the spec
	// directory ("" when the commit has none: nothing deployed).
	File string                   `json:"file,omitempty"`
	Envs map[string]spec.EnvState `json:"environments"`
	// Raw is the file's content at the commit.
	Raw []byte `json:"-"`
}

// StateAt reads the environments file at commit (a full SHA).
func (p *Promoter) StateAt(ctx context.Context, commit string) (*State, error) {
	for _, f := range spec.EnvironmentsFiles {
		data, err := p.git.Show(ctx, commit, f)
		if errors.Is(err, errNoPath) {
			continue
		}
		if err != nil {
			return nil, err
		}
		e, err := p.loader.ParseEnvironments(filepath.Join(p.model.Dir, f), data)
		if err != nil {
			return nil, fmt.Errorf("the environments file %s at commit %s: %w", f, short(commit), err)
		}
		return &State{Commit: commit, File: f, Envs: e.Environments, Raw: data}, nil
	}
	return &State{Commit: commit, Envs: map[string]spec.EnvState{}}, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// mainRef is the ref holding the newest desired state: the remote's
// branch when there is one, else the local branch, else "".
func (p *Promoter) mainRef(ctx context.Context) string {
	if p.o.remote != "" {
		if r := "refs/remotes/" + p.o.remote + "/" + p.o.mainBranch; p.git.RefExists(ctx, r) {
			return r
		}
	}
	if r := "refs/heads/" + p.o.mainBranch; p.git.RefExists(ctx, r) {
		return r
	}
	return ""
}

// NextEnvironments lists the environments that promote from one whose
// digest changed between baseRev (default headRev^) and headRev (default
// HEAD): after a promotion to staging is applied, prod is next.
func (p *Promoter) NextEnvironments(ctx context.Context, baseRev, headRev string) ([]string, error) {
	bs, hs, err := p.states(ctx, ModeApply, baseRev, headRev)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, env := range p.model.EnvironmentOrder {
		after := p.model.Environments[env].After
		if after != "" && hs.Envs[after].Digest != "" && hs.Envs[after].Digest != bs.Envs[after].Digest {
			out = append(out, env)
		}
	}
	return out, nil
}
