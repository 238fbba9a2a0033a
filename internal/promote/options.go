package promote

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/sign"
)

// GitHub is what promotion needs from the GitHub REST API (*ghapi.Client).
type GitHub interface {
	GetPullRequest(ctx context.Context, owner, repo string, number int) (ghapi.PullRequest, error)
	PullRequestsForCommit(ctx context.Context, owner, repo, sha string) ([]ghapi.PullRequest, error)
	ApprovingReviews(ctx context.Context, owner, repo string, pr int) ([]ghapi.Review, error)
	IsTeamMember(ctx context.Context, org, team, user string) (bool, error)
	CreateDeployment(ctx context.Context, owner, repo string, d ghapi.DeploymentRequest) (int64, error)
	SetDeploymentStatus(ctx context.Context, owner, repo string, id int64, st ghapi.DeploymentStatus) error
	ListDeployments(ctx context.Context, owner, repo, environment, sha string, limit int) ([]ghapi.Deployment, error)
	UpsertPullRequest(ctx context.Context, owner, repo, head, base, title, body string) (ghapi.PullRequest, bool, error)
}

// Option configures a Promoter.
type Option func(*options) error

type options struct {
	repository   string
	registry     Registry
	verifier     Verifier
	github       GitHub
	owner, repo  string
	signer       *Signer
	trust        *sign.TrustRoot
	workflows    []*regexp.Regexp
	mainBranch   string
	remote       string
	fetch        bool
	runURL       string
	pullRequest  int
	getenv       func(string) string
	serverURL    string
	ownerRepo    string
	logf         func(format string, args ...any)
	historyLimit int
	recorder     Recorder
	now          func() time.Time
}

func defaultOptions() *options {
	return &options{mainBranch: "main", remote: "origin", getenv: noEnv, logf: func(string, ...any) {}, historyLimit: 500, now: time.Now}
}

// noEnv resolves no variable: a promoter sees only what its caller hands it.
func noEnv(string) string { return "" }

// Signer overrides the spec's signing section: who may sign (keys or
// keyless identities), for tests and break-glass use.
type Signer struct {
	Keys       []sign.PublicKey
	Identities []sign.Identity
}

// WithRepository overrides the spec's registry repository (HOST/REPO).
func WithRepository(repo string) Option {
	return func(o *options) error { o.repository = repo; return nil }
}

// WithRegistry sets the registry client (default: OCIRegistry).
func WithRegistry(r Registry) Option { return func(o *options) error { o.registry = r; return nil } }

// WithVerifier sets the signature verifier (default: SignVerifier).
func WithVerifier(v Verifier) Option { return func(o *options) error { o.verifier = v; return nil } }

// WithGitHub sets the GitHub client and the repository (owner/name) it
// reads reviews from and records deployments in. A nil client leaves
// approvals unverifiable (pending in plans, refused on apply) and records
// no deployments.
func WithGitHub(c GitHub, owner, repo string) Option {
	return func(o *options) error {
		if c != nil && (owner == "" || repo == "") {
			return fmt.Errorf("GitHub repository owner/name is required with a GitHub client (the workflow's repository)")
		}
		o.github, o.owner, o.repo = c, owner, repo
		return nil
	}
}

// WithSigner replaces the policy's signers (--key, --certificate-identity).
func WithSigner(s Signer) Option {
	return func(o *options) error {
		if len(s.Keys) == 0 && len(s.Identities) == 0 {
			return nil
		}
		o.signer = &s
		return nil
	}
}

// WithTrust sets the Sigstore trust material for keyless and tlog checks.
func WithTrust(t *sign.TrustRoot) Option { return func(o *options) error { o.trust = t; return nil } }

// WithAllowedWorkflows sets the regexps a provenance attestation's builder
// id (the workflow, https://github.com/OWNER/REPO/.github/workflows/F.yml@REF)
// must match. Default: the workflows of the repository named by
// WithGitHubRepository; without one any builder is accepted (and the plan
// says so).
func WithAllowedWorkflows(res ...string) Option {
	return func(o *options) error {
		for _, s := range res {
			re, err := regexp.Compile(s)
			if err != nil {
				return fmt.Errorf("allowed workflow regexp %q: %w", s, err)
			}
			o.workflows = append(o.workflows, re)
		}
		return nil
	}
}

// WithMainBranch names the branch that holds the desired state (default main).
func WithMainBranch(b string) Option {
	return func(o *options) error {
		if b != "" {
			o.mainBranch = b
		}
		return nil
	}
}

// WithFetch makes apply fetch the main branch from the remote before it
// decides whether its commit is still the newest (default off; the CLI
// turns it on when the remote exists).
func WithFetch(b bool) Option { return func(o *options) error { o.fetch = b; return nil } }

// WithRunURL is the workflow run recorded as the deployment's log URL.
func WithRunURL(u string) Option { return func(o *options) error { o.runURL = u; return nil } }

// WithPullRequest is the promotion pull request a plan reads approvals from.
func WithPullRequest(n int) Option { return func(o *options) error { o.pullRequest = n; return nil } }

// WithGitHubRepository is the repository the workflow runs in (owner/name)
// on serverURL (default https://github.com): its workflows are the builders
// a provenance attestation may name unless WithAllowedWorkflows says
// otherwise. The caller takes both from the run context.
func WithGitHubRepository(serverURL, ownerRepo string) Option {
	return func(o *options) error {
		o.serverURL, o.ownerRepo = strings.TrimSuffix(serverURL, "/"), ownerRepo
		return nil
	}
}

// defaultWorkflows restricts builders to the run's repository's workflows.
func (o *options) defaultWorkflows() error {
	if len(o.workflows) > 0 || o.ownerRepo == "" {
		return nil
	}
	server := o.serverURL
	if server == "" {
		server = "https://github.com"
	}
	return WithAllowedWorkflows("^" + regexp.QuoteMeta(server+"/"+o.ownerRepo+"/.github/workflows/"))(o)
}

// WithGetenv resolves variables the spec refers to (key references such
// as env://VAR, git's author variables). Default: none resolve.
func WithGetenv(f func(string) string) Option {
	return func(o *options) error {
		if f != nil {
			o.getenv = f
		}
		return nil
	}
}

// WithLogf receives progress lines.
func WithLogf(f func(format string, args ...any)) Option {
	return func(o *options) error {
		if f != nil {
			o.logf = f
		}
		return nil
	}
}

// WithClock replaces time.Now (the promotion records' promotedAt).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now != nil {
			o.now = now
		}
		return nil
	}
}
