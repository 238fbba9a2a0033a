package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/sign"
)

// AttestOptions are the inputs of `mlship attest`.
type AttestOptions struct {
	F             *Factory
	Ref           string
	Signer        SignerFlags
	PredicateType string
	Predicate     string
	Eval          string
	Provenance    bool
	BuilderID     string
	SourceRepo    string
	SourceCommit  string
	SourceRef     string
	RunURL        string
	Inputs        []string
	Replace       bool
}

// NewCmdAttest builds `mlship attest`.
func NewCmdAttest(f *Factory, runF func(*AttestOptions) error) *cobra.Command {
	opts := &AttestOptions{F: f}
	cmd := &cobra.Command{
		Use:   "attest REF",
		Short: "Attach a signed in-toto attestation (eval result, SLSA provenance, any predicate)",
		Long: `Attest wraps a predicate in an in-toto v1 statement whose subject is the
manifest digest REF resolves to, signs it as a DSSE envelope and attaches
it the way cosign attest does (tag sha256-<hex>.att). ` + "`cosign verify-attestation --type URI`" + `
accepts it.

Three ways to give the predicate:
  --predicate-type URI --predicate FILE   any JSON predicate (as cosign attest)
  --eval RESULT.json                      the eval step's result (metrics,
                                          thresholds, baseline digest, dataset
                                          digests, passed) as ` + sign.EvalPredicateType + `
  --provenance                            SLSA provenance v1 (` + sign.ProvenancePredicateType + `):
                                          builder = the GitHub workflow ref, source
                                          repo and commit, run URL, training inputs;
                                          read from GITHUB_* and the flags below.

Keys and keyless signing work as for mlship sign.`,
		Example: `  mlship attest ghcr.io/acme/iris:1.2.0 --key cosign.key --eval eval/result.json
  mlship attest ghcr.io/acme/iris@sha256:... --key cosign.key --provenance --input train=sha256:...
  mlship attest ghcr.io/acme/iris@sha256:... --key cosign.key \
      --predicate-type https://example.com/model-card/v1 --predicate card.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			n := 0
			if opts.Predicate != "" {
				n++
			}
			if opts.Eval != "" {
				n++
			}
			if opts.Provenance {
				n++
			}
			if n != 1 {
				return &ExitError{Code: 2, Err: errors.New("give exactly one of --predicate (with --predicate-type), --eval or --provenance")}
			}
			if opts.Predicate != "" && opts.PredicateType == "" {
				return &ExitError{Code: 2, Err: errors.New("--predicate needs --predicate-type URI")}
			}
			if runF != nil {
				return runF(opts)
			}
			return runAttest(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	opts.Signer.register(fs)
	fs.StringVar(&opts.PredicateType, "predicate-type", "", "predicate type URI (or eval, provenance)")
	fs.StringVar(&opts.Predicate, "predicate", "", "predicate JSON file")
	fs.StringVar(&opts.Eval, "eval", "", "eval result JSON to attest as "+sign.EvalPredicateType)
	fs.BoolVar(&opts.Provenance, "provenance", false, "attest SLSA provenance v1 built from the GitHub Actions environment")
	fs.StringVar(&opts.BuilderID, "builder-id", "", "provenance builder id (default https://github.com/$GITHUB_WORKFLOW_REF)")
	fs.StringVar(&opts.SourceRepo, "source-repo", "", "provenance source repository URL (default from GITHUB_REPOSITORY)")
	fs.StringVar(&opts.SourceCommit, "source-commit", "", "provenance source commit (default GITHUB_SHA)")
	fs.StringVar(&opts.SourceRef, "source-ref", "", "provenance source ref (default GITHUB_REF)")
	fs.StringVar(&opts.RunURL, "run-url", "", "provenance run URL (default from GITHUB_RUN_ID)")
	fs.StringArrayVar(&opts.Inputs, "input", nil, "provenance training input NAME=sha256:HEX[@URI] (repeatable)")
	fs.BoolVar(&opts.Replace, "replace", false, "replace earlier attestations of the same predicate type")
	return cmd
}

func runAttest(ctx context.Context, opts *AttestOptions) error {
	f := opts.F
	typ, pred, err := opts.predicate()
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	s, err := opts.Signer.signer(ctx, f)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	ro := append(registryOptions(f, opts.Signer.PlainHTTP), sign.WithReplace(opts.Replace))
	res, err := sign.Attest(ctx, opts.Ref, s, typ, pred, ro...)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	return reportSigned(f, "Attested", res)
}

func (opts *AttestOptions) predicate() (string, []byte, error) {
	switch {
	case opts.Eval != "":
		b, err := os.ReadFile(opts.Eval)
		if err != nil {
			return "", nil, fmt.Errorf("reading the eval result: %w", err)
		}
		if _, err := sign.ParseEvalResult(b); err != nil {
			return "", nil, fmt.Errorf("%s: %w", opts.Eval, err)
		}
		return sign.EvalPredicateType, b, nil
	case opts.Provenance:
		in := sign.ProvenanceFromEnv(opts.F.IO.Getenv)
		for _, kv := range []struct {
			dst *string
			v   string
		}{{&in.BuilderID, opts.BuilderID}, {&in.SourceRepo, opts.SourceRepo}, {&in.SourceCommit, opts.SourceCommit}, {&in.SourceRef, opts.SourceRef}, {&in.RunURL, opts.RunURL}} {
			if kv.v != "" {
				*kv.dst = kv.v
			}
		}
		for _, s := range opts.Inputs {
			n, rest, ok := strings.Cut(s, "=")
			if !ok || n == "" {
				return "", nil, fmt.Errorf("--input %q: want NAME=sha256:HEX[@URI]", s)
			}
			dg, uri, _ := strings.Cut(rest, "@")
			in.Inputs = append(in.Inputs, sign.Dataset{Name: n, Digest: dg, URI: uri})
		}
		b, err := sign.ProvenancePredicate(in)
		return sign.ProvenancePredicateType, b, err
	default:
		b, err := os.ReadFile(opts.Predicate)
		if err != nil {
			return "", nil, fmt.Errorf("reading the predicate: %w", err)
		}
		typ := sign.PredicateType(opts.PredicateType)
		if typ == sign.EvalPredicateType {
			if _, err := sign.ParseEvalResult(b); err != nil {
				return "", nil, fmt.Errorf("%s: %w", opts.Predicate, err)
			}
		}
		return typ, b, nil
	}
}
