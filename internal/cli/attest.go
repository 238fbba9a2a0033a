package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
)

// AttestOptions are the inputs of `mlship attest`.
type AttestOptions struct {
	F      *Factory
	Signer SignerFlags
	pipeline.AttestRequest
}

// NewCmdAttest builds `mlship attest`.
func NewCmdAttest(f *Factory, runF func(*AttestOptions) error) *cobra.Command {
	opts := &AttestOptions{F: f}
	cmd := &cobra.Command{
		Use:   "attest REF",
		Short: "Attach a signed in-toto attestation (eval result, SLSA provenance, any predicate)",
		Long: `Attest wraps a predicate in an in-toto v1 statement whose subject is the
manifest digest REF resolves to, signs it as a DSSE envelope and attaches
it the way cosign attest does: by default (--format both) as a Sigstore
bundle referrer (cosign 3) and under the tag sha256-<hex>.att (cosign 2).
` + "`cosign verify-attestation --type URI`" + ` accepts it.

Three ways to give the predicate:
  --predicate-type URI --predicate FILE   any JSON predicate (as cosign attest)
  --eval RESULT.json                      the eval step's result (metrics,
                                          thresholds, baseline digest, dataset
                                          digests, passed) as ` + attest.EvalType + `
  --provenance                            SLSA provenance v1 (` + attest.ProvenanceType + `):
                                          builder = the GitHub workflow ref, source
                                          repo and commit, run URL, training inputs;
                                          read from the run context and the flags below.

Keys, keyless signing, --format, --timestamp-server-url and
--github-attestation work as for mlship sign.`,
		Example: `  mlship attest ghcr.io/acme/iris:1.2.0 --key cosign.key --eval eval/result.json
  mlship attest ghcr.io/acme/iris@sha256:... --key cosign.key --provenance --input train=sha256:...
  mlship attest ghcr.io/acme/iris@sha256:... --key cosign.key \
      --predicate-type https://example.com/model-card/v1 --predicate card.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if err := opts.Check(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return runOr(cmd, opts, runF, runAttest)
		},
	}
	fs := cmd.Flags()
	opts.Signer.register(fs)
	fs.StringVar(&opts.PredicateType, "predicate-type", "", "predicate type URI (or eval, provenance)")
	fs.StringVar(&opts.Predicate, "predicate", "", "predicate JSON file")
	fs.StringVar(&opts.Eval, "eval", "", "eval result JSON to attest as "+attest.EvalType)
	fs.BoolVar(&opts.Provenance, "provenance", false, "attest SLSA provenance v1 built from the GitHub Actions environment")
	fs.StringVar(&opts.BuilderID, "builder-id", "", "provenance builder id (default https://github.com/$"+gha.VarWorkflowRef+")")
	fs.StringVar(&opts.SourceRepo, "source-repo", "", "provenance source repository URL (default from "+gha.VarRepository+")")
	fs.StringVar(&opts.SourceCommit, "source-commit", "", "provenance source commit (default "+gha.VarSHA+")")
	fs.StringVar(&opts.SourceRef, "source-ref", "", "provenance source ref (default "+gha.VarRef+")")
	fs.StringVar(&opts.RunURL, "run-url", "", "provenance run URL (default from "+gha.VarRunID+")")
	fs.StringArrayVar(&opts.Inputs, "input", nil, "provenance training input NAME=sha256:HEX[@URI] (repeatable)")
	fs.BoolVar(&opts.Replace, "replace", false, "replace earlier attestations of the same predicate type")
	return cmd
}

func runAttest(ctx context.Context, opts *AttestOptions) error {
	req := opts.AttestRequest
	req.Signer = opts.Signer.SignerRequest
	res, err := pipeline.Attest(ctx, opts.F.Run(), req)
	if err != nil {
		return exitCode(err)
	}
	return printSigned(opts.F, "Attested", res)
}
