package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/gha"
)

// ProvenanceInput is what an SLSA provenance v1 predicate is built from.
type ProvenanceInput struct {
	// BuilderID is the builder's identity: the GitHub workflow
	// (https://github.com/OWNER/REPO/.github/workflows/X.yml@REF).
	BuilderID string
	// SourceRepo is the source repository URL, SourceCommit its commit.
	SourceRepo   string
	SourceCommit string
	SourceRef    string
	// RunURL is the workflow run (invocation) URL.
	RunURL string
	// Inputs are the training inputs (datasets, base models) by digest.
	Inputs []Dataset
	// Parameters are external parameters (spec digest, hyperparameters).
	Parameters map[string]any
	// StartedOn and FinishedOn bound the build; zero values are omitted.
	StartedOn, FinishedOn time.Time
}

// ProvenanceFromRun fills a ProvenanceInput from the Actions run context:
// the workflow (builder), the repository, commit and ref (source) and the
// run attempt (invocation).
func ProvenanceFromRun(e gha.Env) ProvenanceInput {
	return ProvenanceInput{
		BuilderID:    e.BuilderID(),
		SourceRepo:   e.RepoURL(),
		SourceCommit: e.SHA,
		SourceRef:    e.Ref,
		RunURL:       e.RunAttemptURL(),
	}
}

// Provenance builds an SLSA provenance v1 predicate.
func Provenance(in ProvenanceInput) ([]byte, error) {
	if in.BuilderID == "" {
		return nil, errors.New("provenance needs a builder id: run inside GitHub Actions (" + gha.VarWorkflowRef + ") or pass --builder-id")
	}
	if in.SourceRepo == "" || in.SourceCommit == "" {
		return nil, errors.New("provenance needs the source repository and commit: run inside GitHub Actions (" + gha.VarRepository + ", " + gha.VarSHA + ") or pass --source-repo and --source-commit")
	}
	type rd struct {
		URI    string            `json:"uri,omitempty"`
		Name   string            `json:"name,omitempty"`
		Digest map[string]string `json:"digest"`
	}
	src := in.SourceRepo
	if !strings.HasPrefix(src, "git+") {
		src = "git+" + src
	}
	if in.SourceRef != "" {
		src += "@" + in.SourceRef
	}
	deps := []rd{{URI: src, Digest: map[string]string{"gitCommit": in.SourceCommit}}}
	for _, d := range in.Inputs {
		alg, hexd, ok := strings.Cut(d.Digest, ":")
		if !ok || alg == "" || hexd == "" {
			return nil, fmt.Errorf("training input %s digest %q: want algorithm:hex", d.Name, d.Digest)
		}
		deps = append(deps, rd{URI: d.URI, Name: d.Name, Digest: map[string]string{alg: hexd}})
	}
	ext := map[string]any{
		"workflow": map[string]string{"ref": in.BuilderID, "repository": in.SourceRepo},
	}
	for k, v := range in.Parameters {
		ext[k] = v
	}
	meta := map[string]string{}
	if in.RunURL != "" {
		meta["invocationId"] = in.RunURL
	}
	if !in.StartedOn.IsZero() {
		meta["startedOn"] = in.StartedOn.UTC().Format(time.RFC3339)
	}
	if !in.FinishedOn.IsZero() {
		meta["finishedOn"] = in.FinishedOn.UTC().Format(time.RFC3339)
	}
	p := map[string]any{
		"buildDefinition": map[string]any{
			"buildType":            BuildType,
			"externalParameters":   ext,
			"resolvedDependencies": deps,
		},
		"runDetails": map[string]any{
			"builder":  map[string]string{"id": in.BuilderID},
			"metadata": meta,
		},
	}
	return json.Marshal(p)
}
