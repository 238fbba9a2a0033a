package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// historyLimit bounds the commits and deployments history reads.
const historyLimit = 500

// The sources of history entries.
const (
	SourceRecord     = "promotion-record"
	SourceDeployment = "deployment"
	SourceGit        = "git"
)

// HistoryRequest is `mlship history [SPEC_DIR] --environment ENV`.
type HistoryRequest struct {
	SpecDir     string
	Environment string
	// Repository overrides the spec's registry repository.
	Repository string
	// MainBranch is the branch holding the desired state (default main).
	MainBranch string
	// Policy names who may sign promotion records (else the spec's
	// signing section): then records are verified.
	Policy   PolicyRequest
	Registry []oci.Option
}

// HistoryResult is what `mlship history --output json` prints; the
// contract is in docs/registry.md.
type HistoryResult struct {
	Environment string `json:"environment"`
	Repository  string `json:"repository,omitempty"`
	// Policy says who had to sign a record for "verified" ("" when none);
	// Verification says why records are not verified when there is none.
	Policy       string `json:"policy,omitempty"`
	Verification string `json:"verification,omitempty"`
	// Sources says, for each source, whether it was read and how many
	// entries it gave, or why it was not.
	Sources []HistorySource `json:"sources"`
	// Entries are newest first; each names its source.
	Entries []HistoryEntry `json:"entries"`
}

// HistorySource is one place history was read from.
type HistorySource struct {
	Name    string `json:"name"`
	Read    bool   `json:"read"`
	Entries int    `json:"entries"`
	Detail  string `json:"detail,omitempty"`
}

// HistoryEntry is one promotion of the environment as one source saw it.
type HistoryEntry struct {
	Source string `json:"source"`
	// Time is when it happened (RFC 3339): the record's promotedAt, the
	// deployment's creation, the commit's committer date.
	Time     string `json:"time"`
	Digest   string `json:"digest"`
	Version  string `json:"version,omitempty"`
	Previous string `json:"previousDigest,omitempty"`
	// PullRequest is the promotion pull request's number (records).
	PullRequest    int                    `json:"pullRequest,omitempty"`
	PullRequestURL string                 `json:"pullRequestURL,omitempty"`
	Approvers      []string               `json:"approvers,omitempty"`
	Rules          []attest.PromotionRule `json:"rules,omitempty"`
	// Commit is the main-branch commit (records, git) or the deployed ref.
	Commit string `json:"commit,omitempty"`
	// Actor is the commit author, the deployment's creator or the
	// promotedBy the environments file records.
	Actor  string `json:"actor,omitempty"`
	RunURL string `json:"runURL,omitempty"`
	// DeploymentID is the GitHub deployment's id (deployments).
	DeploymentID int64 `json:"deploymentId,omitempty"`
	// Verified is set on promotion records: true when a policy was given
	// and every record for the environment on this digest was signed by
	// an accepted signer (and the model itself verifies).
	Verified *bool `json:"verified,omitempty"`
}

// History lists the promotions of one environment over time from three
// sources, each named on every entry: the environments file along the
// main branch's first-parent history (git), the promotion records
// attached to the digests it ran (signed statements, read here without
// verifying them: mlship verify --promoted-to checks one), and the GitHub
// deployments of the environment. A source that cannot be read is said
// so in Sources, not dropped silently.
func History(ctx context.Context, r *Run, req HistoryRequest) (*HistoryResult, error) {
	if req.Environment == "" {
		return nil, usage(errors.New("--environment ENV is required"))
	}
	dir := req.SpecDir
	if dir == "" {
		dir = "."
	}
	m, err := spec.Load(ctx, dir)
	if err != nil {
		return nil, usage(err)
	}
	if _, ok := m.Environments[req.Environment]; !ok {
		return nil, usage(fmt.Errorf("environment %q is not in the spec's environments (%s)", req.Environment, strings.Join(sortedKeysOf(m.Environments), ", ")))
	}
	repo := req.Repository
	if repo == "" {
		repo = m.Registry.Repository
	}
	res := &HistoryResult{Environment: req.Environment, Repository: repo, Entries: []HistoryEntry{}}
	pr := req.Policy
	pr.SpecDir, pr.Env = dir, ""
	// The records' policy: with --promotion-key/--promotion-identity or the
	// spec's signing.promotion, only that signer's records verify.
	pr.PromotedTo = req.Environment
	pol, polText, err := versionsPolicy(ctx, r, pr, m)
	switch {
	case err != nil && req.Policy.HasSigners():
		return nil, usage(err)
	case err != nil:
		// The spec's signer could not be loaded (its key file absent
		// here): the history is still shown, its records unverified.
		res.Verification = "promotion records not verified: " + err.Error()
	case pol == nil:
		res.Verification = "promotion records not verified: give --key or a keyless identity, or a signing section in the spec"
	}
	if pol != nil {
		pol.Attestations = []sign.AttestationRule{sign.NewPromotionRule(req.Environment)}
		res.Policy = strings.Replace(polText, "eval attestation", "promotion record for "+req.Environment, 1)
	}

	gitEntries, err := gitHistory(ctx, m, req)
	res.add(SourceGit, gitEntries, err)

	digests := map[string]bool{}
	for _, e := range gitEntries {
		digests[e.Digest] = true
	}
	recs, err := recordHistory(ctx, r, repo, req, digests, pol)
	res.add(SourceRecord, recs, err)

	deps, err := deploymentHistory(ctx, r, req.Environment)
	res.add(SourceDeployment, deps, err)

	sort.SliceStable(res.Entries, func(i, j int) bool { return res.Entries[i].Time > res.Entries[j].Time })
	return res, nil
}

func (res *HistoryResult) add(name string, entries []HistoryEntry, err error) {
	s := HistorySource{Name: name, Read: err == nil, Entries: len(entries)}
	if err != nil {
		s.Detail = oci.Redact(err).Error()
	}
	res.Sources = append(res.Sources, s)
	res.Entries = append(res.Entries, entries...)
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// gitHistory walks the environments file along main's first-parent
// history, oldest first, and keeps the commits where env's digest changed.
func gitHistory(ctx context.Context, m *spec.Model, req HistoryRequest) ([]HistoryEntry, error) {
	g := &promote.Git{Dir: m.Dir}
	branch := req.MainBranch
	if branch == "" {
		branch = "main"
	}
	ref := ""
	for _, cand := range []string{"refs/remotes/origin/" + branch, "refs/heads/" + branch} {
		if g.RefExists(ctx, cand) {
			ref = cand
			break
		}
	}
	if ref == "" {
		return nil, fmt.Errorf("no %s branch in the git repository of %s (fetch it: actions/checkout with fetch-depth: 0)", branch, m.Dir)
	}
	commits, err := g.Commits(ctx, ref, historyLimit, append([]string{"--first-parent", "--"}, spec.EnvironmentsFiles...)...)
	if err != nil {
		return nil, err
	}
	loader, err := spec.NewLoader()
	if err != nil {
		return nil, err
	}
	var out []HistoryEntry
	prev := ""
	for i := len(commits) - 1; i >= 0; i-- {
		c := commits[i]
		st, ok := envStateAt(ctx, g, loader, m.Dir, c, req.Environment)
		if !ok || st.Digest == prev {
			continue
		}
		e := HistoryEntry{Source: SourceGit, Digest: st.Digest, Version: st.Version, Previous: prev, Commit: c, Actor: st.PromotedBy}
		if info, err := g.Info(ctx, c); err == nil {
			e.Time = normTime(info.Date)
			if e.Actor == "" {
				e.Actor = info.Author
			}
		}
		prev = st.Digest
		if st.Digest == "" {
			continue // the environment was emptied
		}
		out = append(out, e)
	}
	return out, nil
}

// envStateAt is env's desired state in the environments file at commit
// (false when the file is absent or invalid there: it proves nothing).
func envStateAt(ctx context.Context, g *promote.Git, l *spec.Loader, dir, commit, env string) (spec.EnvState, bool) {
	for _, f := range spec.EnvironmentsFiles {
		data, err := g.Show(ctx, commit, f)
		if err != nil {
			continue
		}
		e, err := l.ParseEnvironments(filepath.Join(dir, f), data)
		if err != nil {
			return spec.EnvState{}, false
		}
		return e.Environments[env], true
	}
	return spec.EnvState{}, false
}

// recordHistory reads the promotion records for env attached to the
// digests env ran: those the git history names, the one env's tag points
// at now, and, following each record's previousDigest, the ones before.
func recordHistory(ctx context.Context, r *Run, repo string, req HistoryRequest, digests map[string]bool, pol *sign.Policy) ([]HistoryEntry, error) {
	if repo == "" {
		return nil, errors.New("no registry repository: set registry.repository in the spec or give --repository")
	}
	if strings.HasPrefix(repo, oci.LayoutPrefix) {
		return nil, errors.New("an oci: layout holds no promotion records mlship reads")
	}
	c := registry(r, false)
	if d, err := c.Resolve(ctx, repo+":"+req.Environment, req.Registry...); err == nil {
		digests[d] = true
	} else if !oci.IsNotFound(err) {
		return nil, err
	}
	opts := SignOptions(ctx, r, false)
	seen := map[string]bool{}
	var out []HistoryEntry
	queue := sortedKeysOf(digests)
	for len(queue) > 0 && len(seen) < historyLimit {
		d := queue[0]
		queue = queue[1:]
		if seen[d] || !strings.HasPrefix(d, "sha256:") {
			continue
		}
		seen[d] = true
		sts, err := sign.Statements(ctx, repo+"@"+d, attest.PromotionType, opts...)
		if err != nil {
			return out, fmt.Errorf("reading the promotion records of %s@%s: %w", repo, d, err)
		}
		first := len(out)
		var preds []string
		for _, st := range sts {
			p, err := attest.ParsePromotion(st.Predicate)
			if err != nil || p.Environment != req.Environment || !aboutDigest(st, d) {
				continue
			}
			e := HistoryEntry{Source: SourceRecord, Time: p.PromotedAt.UTC().Format(time.RFC3339), Digest: d, Previous: p.PreviousDigest,
				Approvers: p.Approvers, Rules: p.Rules, Commit: p.Git.MergeCommit, RunURL: p.RunURL}
			if p.PullRequest != nil {
				e.PullRequest, e.PullRequestURL = p.PullRequest.Number, p.PullRequest.URL
			}
			out = append(out, e)
			preds = append(preds, string(st.Predicate))
			if p.PreviousDigest != "" && !seen[p.PreviousDigest] {
				queue = append(queue, p.PreviousDigest)
			}
		}
		if pol != nil && len(out) > first {
			good := recordsVerified(ctx, r, repo+"@"+d, pol, req.Policy, opts)
			for i := first; i < len(out); i++ {
				ok := good[preds[i-first]]
				out[i].Verified = &ok
			}
		}
	}
	return out, nil
}

// recordsVerified returns the predicates of the promotion records Verify
// accepted on ref (sign.VerifiedAttestation.Predicate): a record shown is
// verified only when its own bytes are among them, so a record someone
// else attached beside a genuine one is shown unverified, and the genuine
// one verified.
//
// With promotion signers (--promotion-key, --promotion-identity), only
// their records count as accepted.
func recordsVerified(ctx context.Context, r *Run, ref string, pol *sign.Policy, pr PolicyRequest, opts []sign.Option) map[string]bool {
	good := map[string]bool{}
	v, err := sign.Verify(ctx, ref, pol, opts...)
	if err != nil {
		return good
	}
	by := func(sign.VerifiedAttestation) bool { return true }
	if pr.promotionSigners() {
		if by, _, err = promotionSigner(r, pr); err != nil {
			return good
		}
	}
	for _, a := range v.Attestations {
		if a.PredicateType == attest.PromotionType && by(a) {
			good[string(a.Predicate)] = true
		}
	}
	return good
}

// aboutDigest: a record counts for the digest it is attached to only when
// its in-toto subject is that digest.
func aboutDigest(st attest.Statement, d string) bool {
	_, hex, _ := strings.Cut(d, ":")
	for _, s := range st.Subject {
		if s.Digest["sha256"] == hex {
			return true
		}
	}
	return false
}

// deploymentHistory lists the GitHub deployments of env (the payload
// promote apply writes: digest, version, previous).
func deploymentHistory(ctx context.Context, r *Run, env string) ([]HistoryEntry, error) {
	owner, name, err := r.Env.OwnerRepo()
	if err != nil {
		return nil, fmt.Errorf("no GitHub repository: %w", err)
	}
	gh, err := r.GitHubClient(ctx)
	if err != nil {
		return nil, err
	}
	deps, err := gh.ListDeployments(ctx, owner, name, env, "", historyLimit)
	if err != nil {
		return nil, err
	}
	var out []HistoryEntry
	for _, d := range deps {
		var p struct {
			Digest   string `json:"digest"`
			Version  string `json:"version"`
			Previous string `json:"previous"`
		}
		_ = json.Unmarshal(d.Payload, &p)
		out = append(out, HistoryEntry{Source: SourceDeployment, Time: d.CreatedAt.UTC().Format(time.RFC3339), Digest: p.Digest, Version: p.Version,
			Previous: p.Previous, Commit: d.SHA, Actor: d.Creator, DeploymentID: d.ID})
	}
	return out, nil
}

func normTime(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return s
}

// WriteText writes the sources, then the entries as a table.
func (res *HistoryResult) WriteText(out io.Writer) error {
	if res.Verification != "" {
		fmt.Fprintln(out, res.Verification)
	}
	for _, s := range res.Sources {
		if s.Read {
			fmt.Fprintf(out, "%s: %d entries\n", s.Name, s.Entries)
		} else {
			fmt.Fprintf(out, "%s: not read: %s\n", s.Name, s.Detail)
		}
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tSOURCE\tDIGEST\tVERSION\tPR\tAPPROVERS\tCOMMIT\tACTOR\tVERIFIED")
	for _, e := range res.Entries {
		pr := "-"
		if e.PullRequest > 0 {
			pr = fmt.Sprintf("#%d", e.PullRequest)
		}
		verified := "-"
		if e.Verified != nil {
			verified = yesNo(*e.Verified)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", Dash(e.Time), e.Source, Dash(oci.ShortDigest(e.Digest)), clip(Dash(e.Version), 16), pr,
			clip(Dash(strings.Join(e.Approvers, ",")), 24), Dash(short12(e.Commit)), clip(Dash(e.Actor), 20), verified)
	}
	return w.Flush()
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
