package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/progress"
	"github.com/mlship/mlship/internal/pipeline"
)

// RegistryFlags are the flags of every command that talks to a registry.
// (--plain-http is the root's persistent flag, in the Factory's client.)
type RegistryFlags struct {
	Repository string
	Jobs       int
	// Timeout is the idle timeout of every request body: a transfer that
	// moves no byte for that long is dropped and retried (resumed where
	// the registry allows).
	Timeout time.Duration
	// Retries is how many times each registry request is tried in all.
	Retries int
}

func (r *RegistryFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.Repository, "repository", "", "registry repository HOST/REPO (or oci:PATH) overriding the spec's")
	fs.IntVar(&r.Jobs, "jobs", 4, "layers transferred in parallel")
	fs.DurationVar(&r.Timeout, "timeout", oci.DefaultIdleTimeout, "drop and retry a registry transfer that moves no byte for this `DURATION` (0: never)")
	fs.IntVar(&r.Retries, "retries", oci.DefaultRetries, "tries in all for each registry request on 5xx, 429, resets and timeouts (with jittered backoff)")
}

// options are the per-call options over the Factory's client (f.Registry).
func (r *RegistryFlags) options(f *Factory) []oci.Option {
	return []oci.Option{oci.WithJobs(r.Jobs), oci.WithProgress(progressFor(f)), oci.WithIdleTimeout(r.Timeout), oci.WithRetries(r.Retries, 0)}
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

// PushOptions are the inputs of `mlship push` and `mlship package`.
// The request's Repository and Registry come from the Registry flags.
type PushOptions struct {
	F        *Factory
	Registry RegistryFlags
	pipeline.PushRequest
}

// NewCmdPush builds `mlship push`.
func NewCmdPush(f *Factory, runF func(*PushOptions) error) *cobra.Command {
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
from the Docker config, and for ghcr.io inside Actions from ` + gha.VarToken + `.

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
			opts.Ref = argOr(args, 1, "")
			return runOr(cmd, opts, runF, runPush)
		},
	}
	opts.register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.Monolithic, "monolithic", false, "upload each blob in one PUT after hashing it (reads each file twice; by default push uploads in chunks and falls back to one PUT only when the registry refuses chunked uploads)")
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
	fs.StringVar(&opts.CacheDir, "cache-dir", "", "digest cache directory (default: $"+gha.VarCacheDir+" or the user cache dir)")
}

func runPush(ctx context.Context, opts *PushOptions) error {
	f := opts.F
	res, err := pipeline.Push(ctx, f.Run(), opts.request(f))
	if err != nil {
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	res.WriteText(f.IO.Out, f.IO.ErrOut)
	return nil
}

// request is the pipeline request the flags describe.
func (opts *PushOptions) request(f *Factory) pipeline.PushRequest {
	req := opts.PushRequest
	req.Repository, req.Registry = opts.Registry.Repository, opts.Registry.options(f)
	return req
}
