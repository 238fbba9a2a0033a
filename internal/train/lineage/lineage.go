package lineage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mlship/mlship/internal/train/gpu"
)

// SchemaVersion identifies the run.json format.
const SchemaVersion = "mlship.dev/run/v1"

// MediaType is the media type of run.json when it travels as a layer.
const MediaType = "application/vnd.mlship.run.v1+json"

// AnnotationInputDigest is the manifest annotation carrying the training
// input digest of a packaged model; `mlship train --reuse` looks for it.
const AnnotationInputDigest = "dev.mlship.input-digest"

// AnnotationRun is the manifest annotation carrying the digest of the
// run.json layer (sha256:...), when the package step adds one.
const AnnotationRun = "dev.mlship.run"

// TagPrefix starts the tag under which the package step also pushes a
// trained artifact: "input-" + the first 12 hex digits of the input digest.
const TagPrefix = "input-"

// InputTag returns the tag for an input digest ("sha256:<hex>" → "input-<hex12>").
func InputTag(inputDigest string) (string, error) {
	hex, ok := cutPrefix(inputDigest, "sha256:")
	if !ok || len(hex) != 64 {
		return "", fmt.Errorf("input digest %q is not sha256:<64 hex digits>", inputDigest)
	}
	return TagPrefix + hex[:12], nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// Record is run.json.
type Record struct {
	SchemaVersion string `json:"schemaVersion"`
	// InputDigest is Inputs.Digest(): equal inputs, equal digest.
	InputDigest string `json:"inputDigest"`
	Inputs      Inputs `json:"inputs"`

	Model   string `json:"model"`
	Version string `json:"version"`
	// SpecDigest is the digest of the whole spec (informational: parts of
	// the spec that do not affect training do not change InputDigest).
	SpecDigest string `json:"specDigest,omitempty"`

	Git       *Git              `json:"git,omitempty"`
	CI        map[string]string `json:"ci,omitempty"`
	Runner    Runner            `json:"runner"`
	GPU       *gpu.Inventory    `json:"gpu,omitempty"`
	Toolchain map[string]string `json:"toolchain,omitempty"`

	Command []string `json:"command"`
	Workdir string   `json:"workdir"`

	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Duration float64   `json:"durationSeconds"`
	// Status is succeeded, failed, timed-out, cancelled or reused.
	Status   string `json:"status"`
	ExitCode int    `json:"exitCode"`
	Signal   string `json:"signal,omitempty"`

	Outputs Outputs  `json:"outputs"`
	Metrics *Metrics `json:"metrics,omitempty"`
	// Reused names the artifact that was reused instead of training.
	Reused *Artifact `json:"reused,omitempty"`
}

// Inputs are everything the input digest is computed from.
type Inputs struct {
	// Train is the digest of the spec's train section as it affects the
	// trained bytes: command, workdir, env and outputs (not the runner,
	// timeout, sweep or GPU requirement, which do not change what is
	// computed; hyperparameters and seed are below).
	Train string `json:"train"`
	// Datasets maps each training dataset's name to its content digest
	// (or, for a URL with no pinned digest, "uri:<url>").
	Datasets map[string]string `json:"datasets"`
	// Code is the digest of the source files in the training workdir.
	Code string `json:"code"`
	// Hyperparameters are the effective values (spec merged with --param).
	Hyperparameters map[string]any `json:"hyperparameters"`
	Seed            int64          `json:"seed"`
}

// Digest is sha256 over the canonical JSON of in (sorted keys, no
// whitespace): "sha256:<hex>".
func (in Inputs) Digest() (string, error) { return DigestOf(in) }

// DigestOf is sha256 over the canonical JSON of v: "sha256:<hex>".
func DigestOf(v any) (string, error) {
	b, err := Canonical(v)
	if err != nil {
		return "", fmt.Errorf("encoding for a digest: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Canonical encodes v as JSON with sorted object keys and no insignificant
// whitespace (encoding/json sorts map keys; a round trip through a
// generic value sorts struct fields too).
func Canonical(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Git is the state of the repository the spec lives in.
type Git struct {
	Commit string `json:"commit,omitempty"`
	Dirty  bool   `json:"dirty"`
	Branch string `json:"branch,omitempty"`
}

// Runner is the machine that trained.
type Runner struct {
	Name        string   `json:"name,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	OS          string   `json:"os"`
	Arch        string   `json:"arch"`
	Environment string   `json:"environment,omitempty"`
	Hostname    string   `json:"hostname,omitempty"`
}

// Outputs are the paths the training wrote, relative to the spec directory.
type Outputs struct {
	ModelDir string            `json:"modelDir"`
	Metrics  string            `json:"metrics"`
	Files    map[string]string `json:"files,omitempty"` // path under ModelDir → sha256:<hex>
}

// Metrics are the training's reported metrics.
type Metrics struct {
	// Final holds the last value of each metric.
	Final map[string]float64 `json:"final"`
	// History holds the step records of a JSON Lines metrics file, in order.
	History []map[string]float64 `json:"history,omitempty"`
}

// Artifact is a packaged model in a registry.
type Artifact struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
}

// Write stores r as indented JSON at path, atomically (temp file + rename).
func (r *Record) Write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding run record: %w", err)
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing run record %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".run-*.json")
	if err != nil {
		return fmt.Errorf("writing run record %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing run record %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing run record %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing run record %s: %w", path, err)
	}
	return nil
}

// Read loads a run.json.
func Read(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading run record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding run record %s: %w", path, err)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("run record %s has schemaVersion %q, want %q", path, r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}
