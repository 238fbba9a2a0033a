package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// DefaultEnvironmentTags are the tags ls --metrics takes for environments
// when no spec names them.
var DefaultEnvironmentTags = []string{"dev", "staging", "prod", "production"}

// versionJobs bounds the registry requests ls --metrics has in flight.
const versionJobs = 8

// maxVersionTags bounds the tags ls --metrics resolves (one request each):
// a repository is untrusted input too.
const maxVersionTags = 10000

// VersionsRequest is `mlship ls REPO --metrics`.
type VersionsRequest struct {
	// Repo is HOST/REPO or oci:PATH; Repository, when set, replaces it.
	Repo, Repository string
	// Sort is the metric to order by (in its direction); "" orders by
	// creation time, newest first.
	Sort string
	// Limit keeps the first N versions after ordering (0: all).
	Limit int
	// Policy names who may sign (then metrics are verified) and, with
	// SpecDir, the spec whose metric directions and environments apply.
	Policy   PolicyRequest
	Registry []oci.Option
}

// VersionsResult is what `mlship ls --metrics --output json` prints; the
// contract is in docs/registry.md.
type VersionsResult struct {
	Repository string `json:"repository"`
	// Sort is the metric ordered by, its direction and where the direction
	// came from (spec, attestation or default); absent without --sort.
	Sort *SortKey `json:"sort,omitempty"`
	// Policy says who had to sign for "verified" ("" when no policy).
	Policy   string    `json:"policy,omitempty"`
	Versions []Version `json:"versions"`
	// Total is the number of versions before --limit.
	Total int `json:"total"`
}

// SortKey is how ls --metrics ordered the versions.
type SortKey struct {
	Metric    string `json:"metric"`
	Direction string `json:"direction"`
	// Source is "spec", "attestation" (the eval result's recorded
	// direction) or "default" (descending, for a metric nobody knows).
	Source string `json:"source"`
}

// Version is one manifest of the repository with what the registry says
// about it.
type Version struct {
	Digest      string   `json:"digest"`
	Tags        []string `json:"tags"`
	Version     string   `json:"version,omitempty"`
	Created     string   `json:"created,omitempty"`
	InputDigest string   `json:"inputDigest,omitempty"`
	// Metrics are the eval attestation's metrics ({} when none).
	Metrics     map[string]float64 `json:"metrics"`
	Passed      *bool              `json:"passed,omitempty"`
	EvaluatedAt string             `json:"evaluatedAt,omitempty"`
	// Verified is true only when a policy was given, the signature and an
	// eval attestation verified under it, and the metrics shown are the
	// verified attestation's; Verification says why or why not.
	Verified     bool   `json:"verified"`
	Verification string `json:"verification"`
	// Signed says a cosign signature tag (sha256-<hex>.sig) is attached,
	// or, with a policy, that a signature verified (a Sigstore bundle in
	// the referrers counts only then: the index may hold attestations
	// alone).
	Signed bool `json:"signed"`
	// Environments are the environment tags pointing at this digest.
	Environments []string `json:"environments"`

	directions map[string]string
	raw        []json.RawMessage
}

// Versions lists every manifest of a repository (tags, digest, version,
// creation time, training input digest), its eval metrics from its eval
// attestation, its signature state and the environments whose tags point
// at it. It reads the tag list, the tagged manifests and the attestation
// manifests and layers — never a model layer — with at most versionJobs
// requests in flight.
func Versions(ctx context.Context, r *Run, req VersionsRequest) (*VersionsResult, error) {
	repo := req.Repo
	if req.Repository != "" {
		repo = req.Repository
	}
	if repo == "" {
		return nil, usage(errors.New("no repository: give REPO (HOST/REPO or oci:PATH) or --repository"))
	}
	if req.Limit < 0 {
		return nil, usage(fmt.Errorf("--limit %d: want a positive number (0: all)", req.Limit))
	}
	var m *spec.Model
	if req.Policy.SpecDir != "" {
		var err error
		if m, err = spec.Load(ctx, req.Policy.SpecDir); err != nil {
			return nil, usage(fmt.Errorf("--spec %s: %w", req.Policy.SpecDir, err))
		}
	}
	pol, polText, err := versionsPolicy(ctx, r, req.Policy, m)
	if err != nil {
		return nil, usage(err)
	}
	c := registry(r, false)
	res := &VersionsResult{Repository: repo, Policy: polText, Versions: []Version{}}

	tags, err := allTags(ctx, c, repo, req.Registry)
	if err != nil {
		return nil, err
	}
	vs, err := readVersions(ctx, c, repo, tags, envNames(m), req.Registry)
	if err != nil {
		return nil, err
	}
	sortByCreated(vs)
	res.Total = len(vs)
	if req.Sort == "" && req.Limit > 0 && len(vs) > req.Limit {
		vs = vs[:req.Limit] // newest first: no attestation of the rest is read
	}
	if !strings.HasPrefix(repo, oci.LayoutPrefix) {
		readAttestations(ctx, r, repo, vs, pol)
	} else {
		for i := range vs {
			vs[i].Verification = "an oci: layout holds no attestations mlship reads: push it to a registry"
		}
	}
	if req.Sort != "" {
		res.Sort = sortKey(req.Sort, m, vs)
		sortByMetric(vs, *res.Sort)
		if req.Limit > 0 && len(vs) > req.Limit {
			vs = vs[:req.Limit]
		}
	}
	res.Versions = vs
	return res, nil
}

// versionsPolicy is the verification policy of ls --metrics: the request's
// signers or the spec's, with an eval attestation required (gates not
// judged: ls shows metrics, it does not promote). No signers: no policy.
func versionsPolicy(ctx context.Context, r *Run, p PolicyRequest, m *spec.Model) (*sign.Policy, string, error) {
	specSigns := m != nil && (m.Signing.Key != "" || m.Signing.Keyless != nil)
	if !p.HasSigners() && !specSigns {
		return nil, "", nil
	}
	p.Env = ""
	pol, err := Policy(ctx, r, p)
	if err != nil {
		return nil, "", err
	}
	pol.Attestations = []sign.AttestationRule{{PredicateType: attest.EvalType}}
	var who []string
	for _, k := range pol.Keys {
		who = append(who, "key "+k.Fingerprint())
	}
	for _, id := range pol.Identities {
		who = append(who, id.String())
	}
	return pol, "signature and eval attestation by " + strings.Join(who, " or "), nil
}

// allTags returns every tag of repo, proof tags included, without
// resolving any.
func allTags(ctx context.Context, c *oci.Client, repo string, ropts []oci.Option) ([]string, error) {
	var tags []string
	opts := append(ropts[:len(ropts):len(ropts)], oci.WithTagFilter(func(tag string) bool {
		tags = append(tags, tag) // ListTags calls the filter from one goroutine
		return false
	}))
	if _, err := c.ListTags(ctx, repo, opts...); err != nil {
		return nil, err
	}
	sort.Strings(tags)
	return tags, nil
}

func envNames(m *spec.Model) map[string]bool {
	out := map[string]bool{}
	if m != nil && len(m.Environments) > 0 {
		for e := range m.Environments {
			out[e] = true
		}
		return out
	}
	for _, e := range DefaultEnvironmentTags {
		out[e] = true
	}
	return out
}

// readVersions resolves every model tag (one manifest GET each, bounded)
// and groups the tags by digest.
func readVersions(ctx context.Context, c *oci.Client, repo string, tags []string, envs map[string]bool, ropts []oci.Option) ([]Version, error) {
	signed := map[string]bool{}
	var model []string
	for _, t := range tags {
		switch oci.TagKind(t) {
		case "":
			model = append(model, t)
		case oci.TagKindSignature:
			signed["sha256:"+strings.TrimSuffix(strings.TrimPrefix(t, "sha256-"), ".sig")] = true
		}
	}
	if len(model) > maxVersionTags {
		return nil, fmt.Errorf("%s has %d model tags, more than the %d ls --metrics reads: prune old tags, or list them with mlship ls", repo, len(model), maxVersionTags)
	}
	type got struct {
		digest string
		raw    []byte
		err    error
	}
	out := make([]got, len(model))
	forEach(len(model), func(i int) {
		d, raw, _, err := c.Manifest(ctx, repo+":"+model[i], ropts...)
		out[i] = got{d, raw, err}
	})
	byDigest := map[string]*Version{}
	var order []string
	var errs []error
	for i, g := range out {
		if g.err != nil {
			if oci.IsNotFound(g.err) {
				continue // deleted between listing and reading
			}
			errs = append(errs, fmt.Errorf("reading %s:%s: %w", repo, model[i], g.err))
			continue
		}
		v, ok := byDigest[g.digest]
		if !ok {
			mf, err := oci.ParseManifest(g.raw)
			if err != nil {
				continue // an index or another kind of manifest: not a model version
			}
			v = &Version{Digest: g.digest, Tags: []string{}, Metrics: map[string]float64{}, Environments: []string{},
				Version: mf.Annotations[oci.AnnotationVersion], Created: mf.Annotations[oci.AnnotationCreated],
				InputDigest: mf.Annotations[oci.AnnotationInputDigest], Signed: signed[g.digest]}
			byDigest[g.digest] = v
			order = append(order, g.digest)
		}
		v.Tags = append(v.Tags, model[i])
		if envs[model[i]] {
			v.Environments = append(v.Environments, model[i])
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	vs := make([]Version, 0, len(order))
	for _, d := range order {
		vs = append(vs, *byDigest[d])
	}
	return vs, nil
}

// forEach runs fn(0..n-1) with at most versionJobs at once.
func forEach(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, versionJobs)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// readAttestations fills each version's metrics from its newest eval
// attestation (by evaluatedAt, as verify decides) and, with a policy,
// whether they are verified.
func readAttestations(ctx context.Context, r *Run, repo string, vs []Version, pol *sign.Policy) {
	opts := SignOptions(ctx, r, false)
	forEach(len(vs), func(i int) {
		v := &vs[i]
		ref := repo + "@" + v.Digest
		sts, err := sign.Statements(ctx, ref, attest.EvalType, opts...)
		if err != nil {
			v.Verification = "reading the eval attestations failed: " + oci.Redact(err).Error()
			return
		}
		var newest *attest.EvalResult
		for _, st := range sts {
			ev, err := attest.ParseEvalPredicate(st.Predicate)
			if err != nil {
				continue
			}
			v.raw = append(v.raw, st.Predicate)
			if newest == nil || ev.EvaluatedAt >= newest.EvaluatedAt {
				newest = ev
			}
		}
		if newest != nil {
			v.Metrics = newest.Metrics
			passed := newest.Passed
			v.Passed, v.EvaluatedAt = &passed, newest.EvaluatedAt
			v.directions = map[string]string{}
			for k, th := range newest.Thresholds {
				if th.Direction != "" {
					v.directions[k] = th.Direction
				}
			}
			for _, c := range newest.Comparisons {
				if c.Direction != "" {
					v.directions[c.Metric] = c.Direction
				}
			}
		}
		var signed bool
		v.Verified, signed, v.Verification = verifyEval(ctx, ref, v.raw, pol, opts)
		v.Signed = v.Signed || signed
	})
}

// verifyEval says whether the eval metrics shown for ref (those of raw,
// the eval predicates attached) are verified under pol, whether its
// signature verified, and why. Verify accepts the newest eval attestation
// an accepted signer made; the metrics shown are the newest of all
// attached. They are the same statement only when every eval attestation
// attached is identical (the usual single one, attest --replace):
// otherwise a newer unsigned statement could be shown as verified, so it
// is not.
func verifyEval(ctx context.Context, ref string, raw []json.RawMessage, pol *sign.Policy, opts []sign.Option) (verified, signed bool, why string) {
	if len(raw) == 0 {
		return false, false, "no eval attestation"
	}
	if pol == nil {
		return false, false, "not verified: no policy (give --key, a keyless identity, or --spec with a signing section)"
	}
	for _, p := range raw[1:] {
		if string(p) != string(raw[0]) {
			return false, false, fmt.Sprintf("not verified: %d different eval attestations are attached and the one shown may not be the signed one (attest with --replace)", len(raw))
		}
	}
	vf, err := sign.Verify(ctx, ref, pol, opts...)
	if err != nil {
		return false, false, "refused: " + err.Error()
	}
	who := ""
	for _, a := range vf.Attestations {
		if a.PredicateType == attest.EvalType {
			who = a.Signer
		}
	}
	return true, true, "verified: signed and eval-attested by " + who
}

// sortKey picks the direction of metric: the spec's, else the one the
// eval attestations recorded, else descending.
func sortKey(metric string, m *spec.Model, vs []Version) *SortKey {
	if m != nil && m.Eval != nil {
		if mm, ok := m.Eval.Metrics[metric]; ok && mm.Direction != "" {
			return &SortKey{Metric: metric, Direction: mm.Direction, Source: "spec"}
		}
	}
	for _, v := range vs {
		if d := v.directions[metric]; d == "maximize" || d == "minimize" {
			return &SortKey{Metric: metric, Direction: d, Source: "attestation"}
		}
	}
	return &SortKey{Metric: metric, Direction: "maximize", Source: "default"}
}

// sortByCreated orders newest first, then by version and digest.
func sortByCreated(vs []Version) {
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Created != vs[j].Created {
			return vs[i].Created > vs[j].Created
		}
		if vs[i].Version != vs[j].Version {
			return vs[i].Version > vs[j].Version
		}
		return vs[i].Digest < vs[j].Digest
	})
}

// sortByMetric orders by k's metric in its direction; versions without it
// go last, in their previous order.
func sortByMetric(vs []Version, k SortKey) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, okA := vs[i].Metrics[k.Metric]
		b, okB := vs[j].Metrics[k.Metric]
		switch {
		case okA != okB:
			return okA
		case !okA:
			return false
		case k.Direction == "minimize":
			return a < b
		default:
			return a > b
		}
	})
}
