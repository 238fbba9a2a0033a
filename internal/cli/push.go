package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/oci/progress"
	"github.com/mlship/mlship/internal/spec"
)

// RegistryFlags are the flags of every command that talks to a registry.
type RegistryFlags struct {
	Repository string
	PlainHTTP  bool
	Jobs       int
}

func (r *RegistryFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.Repository, "repository", "", "registry repository HOST/REPO (or oci:PATH) overriding the spec's")
	fs.BoolVar(&r.PlainHTTP, "plain-http", false, "speak plain HTTP to a registry that is not on loopback (loopback always is)")
	fs.IntVar(&r.Jobs, "jobs", 4, "layers transferred in parallel")
}

func (r *RegistryFlags) options(f *Factory) []oci.Option {
	opts := []oci.Option{
		oci.WithKeychain(oci.DefaultKeychain(f.IO.Getenv)),
		oci.WithPlainHTTP(r.PlainHTTP),
		oci.WithJobs(r.Jobs),
		oci.WithUserAgent("mlship/" + f.Version),
		oci.WithProgress(progressFor(f)),
	}
	return opts
}

// progressFor picks a bar on a terminal, periodic lines in CI, nothing
// otherwise.
func progressFor(f *Factory) progress.Reporter {
	switch {
	case f.IO.Progress():
		return progress.NewBar(f.IO.ErrOut)
	case f.IO.CI():
		return progress.NewLines(f.IO.ErrOut, 5*time.Second)
	}
	return progress.Nop{}
}

// applyRepository rewrites ref onto repo: a bare tag or @digest is
// appended to it; a full reference keeps its tag or digest.
func applyRepository(ref, repo string) string {
	if repo == "" {
		return ref
	}
	if strings.HasPrefix(ref, oci.LayoutPrefix) {
		return ref
	}
	id := ref
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		id = ref[i+1:]
		if j := strings.IndexAny(id, ":@"); j >= 0 {
			id = id[j:]
		} else {
			id = ""
		}
	} else if !strings.HasPrefix(id, "@") && !strings.HasPrefix(id, ":") {
		id = ":" + id
	}
	if id == "" {
		return repo
	}
	return repo + id
}

// PushOptions are the inputs of `mlship push` and `mlship package`.
type PushOptions struct {
	F        *Factory
	Source   string
	Ref      string
	Registry RegistryFlags

	Roles       []string
	Annotations []string
	Tags        []string
	InputDigest string
	RequireRun  bool
	RunURL      string
	Monolithic  bool
	NoCache     bool
	CacheDir    string
	// layoutOnly is set by `mlship package`.
	layoutOnly bool
}

// PushOutput is printed with --output json.
type PushOutput struct {
	Digest   string   `json:"digest"`
	Ref      string   `json:"ref"`
	Tag      string   `json:"tag,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Size     int64    `json:"size"`
	Uploaded int64    `json:"uploaded"`
	Layers   int      `json:"layers"`
	Seconds  float64  `json:"seconds"`
	// Lineage is the training run whose input digest was stamped, or why
	// it was not.
	Lineage *RunLineage `json:"lineage,omitempty"`
}

// NewCmdPush builds `mlship push`.
func NewCmdPush(f *Factory, runF func(context.Context, *PushOptions) error) *cobra.Command {
	opts := &PushOptions{F: f}
	cmd := &cobra.Command{
		Use:   "push SOURCE [REF]",
		Short: "Package a model as a ModelPack OCI artifact and push it",
		Long: `Push packages SOURCE as a CNCF ModelPack artifact and pushes it to REF in
one pass: every file is hashed while it uploads (read once), layers go in
parallel, and blobs the registry already has are skipped.

SOURCE is a spec directory (the files and roles of its package section) or
a plain directory of model files, whose roles are inferred from names
(*.safetensors, *.bin, *.pt, *.onnx, *.gguf: weight; config.json,
tokenizer*, generation_config.json: weight config; *.md, LICENSE*: doc;
*.py: code); override with --role PATTERN=ROLE.

REF is HOST/REPO[:TAG|@DIGEST] or oci:PATH[:TAG] (an OCI image layout). It
defaults to the spec's registry repository tagged with the spec's version;
a bare TAG goes on that repository (or on --repository). Registries on
loopback get plain HTTP; others HTTPS unless --plain-http. Credentials come
from the Docker config, and for ghcr.io inside Actions from GITHUB_TOKEN.

After mlship train, the run's input digest (annotation
dev.mlship.input-digest and tag input-<hex12>, which train --reuse finds)
is stamped only when every packaged file in the model directory is one that
run.json lists, with the same sha256; otherwise the artifact is pushed
without it and a warning names the first file that differs, or, with
--require-run, nothing is pushed.

The manifest digest is printed on stdout, and set as the step outputs
digest and ref (REPO@DIGEST).`,
		Example: `  # push a spec's model to its registry, tagged with its version
  mlship push examples/iris

  # a plain directory of model files, to a local registry
  mlship push ./llama localhost:5000/acme/llama:v1 --role '*.tiktoken=weight-config'

  # into an OCI layout, as JSON
  mlship push examples/iris oci:/tmp/iris-layout:1.0.0 --output json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Source = args[0]
			if len(args) > 1 {
				opts.Ref = args[1]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPush(cmd.Context(), opts)
		},
	}
	opts.register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.Monolithic, "monolithic", false, "upload each blob in one PUT after hashing it (the default for ghcr.io, which rejects large chunked uploads)")
	return cmd
}

func (opts *PushOptions) register(fs *pflag.FlagSet) {
	opts.Registry.register(fs)
	fs.StringArrayVar(&opts.Roles, "role", nil, "PATTERN=ROLE: role of matching files of a plain directory (weight, weight-config, code, dataset, doc)")
	fs.StringArrayVar(&opts.Annotations, "annotation", nil, "KEY=VALUE manifest annotation (repeatable)")
	fs.StringArrayVar(&opts.Tags, "tag", nil, "extra tag to point at the pushed manifest (repeatable)")
	fs.StringVar(&opts.InputDigest, "input-digest", "", "training input digest (default: from the training's run.json, when the packaged files are the ones it lists); also tags input-<hex12>")
	fs.BoolVar(&opts.RequireRun, "require-run", false, "refuse unless the packaged files are the training run's outputs (sha256 in run.json outputs.files)")
	fs.StringVar(&opts.RunURL, "run-url", "", "URL of the run that built the model (default: the Actions run)")
	fs.BoolVar(&opts.NoCache, "no-cache", false, "do not use the digest cache (re-hash every file)")
	fs.StringVar(&opts.CacheDir, "cache-dir", "", "digest cache directory (default: $MLSHIP_CACHE_DIR or the user cache dir)")
}

// loadSource reads SOURCE as a spec directory if it holds one, else as a
// plain model directory.
func loadSource(ctx context.Context, path string, rules []oci.RoleRule) (oci.Source, *spec.Model, error) {
	if isSpecPath(path) {
		m, err := spec.Load(ctx, path)
		if err != nil {
			return oci.Source{}, nil, err
		}
		src, err := oci.SourceFromSpec(m)
		return src, m, err
	}
	src, err := oci.SourceFromDir(path, rules)
	return src, nil, err
}

func isSpecPath(p string) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		b := filepath.Base(p)
		return strings.HasPrefix(b, "model.") && (strings.HasSuffix(b, ".cue") || strings.HasSuffix(b, ".json") || strings.HasSuffix(b, ".yaml"))
	}
	for _, n := range []string{"model.cue", "model.json", "model.yaml"} {
		if _, err := os.Stat(filepath.Join(p, n)); err == nil {
			return true
		}
	}
	return false
}

// gitInfo returns the commit time and revision of the repository holding
// dir, if any.
func gitInfo(ctx context.Context, dir string) (time.Time, string) {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%ct %H").Output()
	if err != nil {
		return time.Time{}, ""
	}
	ts, rev, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, ""
	}
	return time.Unix(n, 0), rev
}

func runPush(ctx context.Context, opts *PushOptions) error {
	f := opts.F
	start := time.Now()
	var rules []oci.RoleRule
	for _, r := range opts.Roles {
		rule, err := oci.ParseRoleRule(r)
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		rules = append(rules, rule)
	}
	src, m, err := loadSource(ctx, opts.Source, rules)
	if err != nil {
		return err
	}

	if opts.layoutOnly {
		if !strings.HasPrefix(opts.Ref, oci.LayoutPrefix) {
			opts.Ref = oci.LayoutPrefix + opts.Ref
		}
		if base := opts.Ref[strings.LastIndexAny(opts.Ref, `/\`)+1:]; m != nil && m.Version != "" && !strings.ContainsAny(strings.TrimPrefix(base, oci.LayoutPrefix), ":@") {
			opts.Ref += ":" + strings.ReplaceAll(m.Version, "+", "_")
		}
	}
	ref, err := pushRef(opts, m)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}

	getenv := f.IO.Getenv
	cache := opts.openCache(getenv)
	lin, err := opts.resolveLineage(f, m, src, cache)
	if err != nil {
		return err
	}
	commitTime, rev := gitInfo(ctx, src.Dir)
	created, err := oci.CreatedTime(getenv, commitTime)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	ann := map[string]string{}
	if server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"); server != "" && repo != "" {
		ann[oci.AnnotationSource] = server + "/" + repo
		if id := getenv("GITHUB_RUN_ID"); id != "" && opts.RunURL == "" {
			opts.RunURL = server + "/" + repo + "/actions/runs/" + id
		}
	}
	if sha := getenv("GITHUB_SHA"); sha != "" {
		rev = sha
	}
	if rev != "" {
		ann[oci.AnnotationRevision] = rev
	}
	if opts.RunURL != "" {
		ann[oci.AnnotationRunURL] = opts.RunURL
	}
	if lin.InputDigest != "" {
		ann[oci.AnnotationInputDigest] = lin.InputDigest
	}
	for _, a := range opts.Annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return &ExitError{Code: 2, Err: fmt.Errorf("annotation %q: want KEY=VALUE", a)}
		}
		ann[k] = v
	}

	ropts := append(opts.Registry.options(f), oci.WithAnnotations(ann), oci.WithCreated(created))
	if m != nil && m.Registry.PlainHTTP {
		ropts = append(ropts, oci.WithPlainHTTP(true))
	}
	if opts.Monolithic {
		ropts = append(ropts, oci.WithMonolithic(true))
	}
	if cache != nil {
		ropts = append(ropts, oci.WithCache(cache))
	}

	res, err := oci.Push(ctx, src, ref, ropts...)
	if err != nil {
		return err
	}
	tags := append([]string(nil), opts.Tags...)
	if lin.Tag != "" {
		tags = append(tags, lin.Tag)
	}
	var extra []string
	for _, t := range tags {
		tr, err := oci.Tag(ctx, res.Ref, t, ropts...)
		if err != nil {
			return err
		}
		extra = append(extra, tr.Tag)
	}
	out := PushOutput{Digest: res.Digest, Ref: res.Ref, Tag: res.Tag, Tags: extra, Size: res.Size, Uploaded: res.Uploaded, Layers: len(res.Layers), Seconds: time.Since(start).Seconds()}
	if lin.Run != "" || lin.InputDigest != "" {
		out.Lineage = &lin
	}
	for k, v := range map[string]string{"digest": res.Digest, "ref": res.Ref, "tag": res.Tag} {
		if err := f.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	verb := "Pushed"
	if strings.HasPrefix(ref, oci.LayoutPrefix) {
		verb = "Packaged"
	}
	if f.Actions.Active() {
		_ = f.Actions.AddStepSummary(fmt.Sprintf("%s `%s` (%d layers, %s, %s uploaded): `%s`\n", verb, orRef(res.Tag, res.Ref), len(res.Layers), progress.Bytes(res.Size), progress.Bytes(res.Uploaded), res.Digest))
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(out)
	}
	f.IO.Logf("%s %s (%d layers, %s, %s uploaded) in %.2fs\n", verb, orRef(res.Tag, res.Ref), len(res.Layers), progress.Bytes(res.Size), progress.Bytes(res.Uploaded), out.Seconds)
	f.IO.Printf("%s\n", res.Digest)
	return nil
}

// openCache opens the digest cache unless --no-cache (nil then).
func (opts *PushOptions) openCache(getenv func(string) string) *digestcache.Cache {
	if opts.NoCache {
		return nil
	}
	p, err := digestcache.DefaultPath(getenv)
	if opts.CacheDir != "" {
		p, err = filepath.Join(opts.CacheDir, "digests.json"), nil
	}
	if err != nil {
		return nil
	}
	return digestcache.Open(p)
}

func orRef(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// pushRef works out the destination from REF, --repository and the spec.
func pushRef(opts *PushOptions, m *spec.Model) (string, error) {
	repo := opts.Registry.Repository
	if repo == "" && m != nil {
		repo = m.Registry.Repository
	}
	ref := opts.Ref
	if ref == "" {
		if repo == "" {
			return "", errors.New("no destination: give REF (HOST/REPO:TAG or oci:PATH), --repository, or registry.repository in the spec")
		}
		tag := "latest"
		if m != nil && m.Version != "" {
			tag = strings.ReplaceAll(m.Version, "+", "_")
		}
		if strings.HasPrefix(repo, oci.LayoutPrefix) {
			return repo + ":" + tag, nil
		}
		return repo + ":" + tag, nil
	}
	if strings.HasPrefix(ref, oci.LayoutPrefix) {
		return ref, nil
	}
	if opts.Registry.Repository != "" || (!strings.Contains(ref, "/") && repo != "") {
		if strings.HasPrefix(repo, oci.LayoutPrefix) {
			return repo + ":" + strings.TrimPrefix(ref, ":"), nil
		}
		return applyRepository(ref, repo), nil
	}
	return ref, nil
}
