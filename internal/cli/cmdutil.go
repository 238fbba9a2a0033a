package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
)

// ExitError carries a specific exit status (1 for a failed check, 2 for
// usage errors) without printing anything more.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ErrSilent marks a failure that has already been reported to the user.
var ErrSilent = errors.New("failed")

// exitCode maps a pipeline error to the exit status: 2 for a usage error
// (pipeline.UsageError), else 1; nil stays nil.
func exitCode(err error) error {
	if err == nil {
		return nil
	}
	if pipeline.IsUsage(err) {
		return &ExitError{Code: 2, Err: err}
	}
	return &ExitError{Code: 1, Err: err}
}

// SignerFlags choose how sign and attest sign: a cosign key, or keyless
// in GitHub Actions.
type SignerFlags struct{ pipeline.SignerRequest }

func (s *SignerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.Key, "key", "", "cosign private key: a file or env://VAR (password from "+gha.VarCosignPassword+"); without it, keyless signing in GitHub Actions")
	fs.StringVar(&s.IdentityToken, "identity-token", "", "OIDC token for keyless signing (default: the Actions job's token, audience sigstore)")
	fs.StringVar(&s.FulcioURL, "fulcio-url", sign.DefaultFulcioURL, "Fulcio URL for keyless signing")
	fs.StringVar(&s.RekorURL, "rekor-url", sign.DefaultRekorURL, "Rekor URL (keyless signing, or --tlog-upload)")
	fs.BoolVar(&s.TLogUpload, "tlog-upload", false, "also record key-based signatures in Rekor (keyless ones always are)")
	fs.StringVar(&s.TimestampServerURL, "timestamp-server-url", "", "RFC 3161 timestamp authority countersigning each bundle, e.g. https://timestamp.sigstore.dev/api/v1/timestamp")
	fs.StringVar(&s.Format, "format", "", "what to write: bundle (Sigstore bundle as an OCI referrer, cosign 3's default), legacy (cosign's sha256-<hex>.sig/.att tags) or both (default both)")
	fs.BoolVar(&s.GitHubAttestation, "github-attestation", false, "also store each bundle with GitHub's artifact attestations API, for `gh attestation verify oci://REF --owner OWNER` (needs "+gha.VarToken+" with attestations: write)")
	fs.StringVar(&s.GitHubRepository, "github-repository", "", "with --github-attestation: OWNER/REPO to store the attestations in (default "+gha.VarRepository+")")
}

// PolicyFlags are the verification policy's flags; verify and pull
// --verify share them.
type PolicyFlags struct{ pipeline.PolicyRequest }

// Register adds the policy flags to fs.
func (p *PolicyFlags) Register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&p.Keys, "key", nil, "trusted cosign public key: a file or env://VAR (repeatable: any one may sign)")
	fs.StringVar(&p.Identity, "certificate-identity", "", "keyless: the signer's certificate identity, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main")
	fs.StringVar(&p.IdentityRegexp, "certificate-identity-regexp", "", "keyless: a regexp the certificate identity must match")
	fs.StringVar(&p.Issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer ("+sign.GitHubIssuer+" for Actions)")
	fs.StringVar(&p.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regexp the OIDC issuer must match")
	fs.StringArrayVar(&p.Attestations, "attestation", nil, "require an attestation: eval (with a passing gate), provenance, or a predicate type URI (repeatable)")
	fs.BoolVar(&p.TLog, "tlog", false, "require a Rekor entry for key-based signatures (verified offline from the attached bundle); keyless always requires one")
	fs.BoolVar(&p.InsecureIgnoreTLog, "insecure-ignore-tlog", false, "do not require a Rekor entry for key-based signatures (the default unless --tlog or the spec's signing.tlog)")
	fs.BoolVar(&p.InsecureIgnoreSCT, "insecure-ignore-sct", false, "keyless: skip the certificate-transparency check (private Fulcio without a CT log)")
	fs.DurationVar(&p.MaxAge, "max-age", 0, "refuse signatures older than this (e.g. 720h); 0: no bound")
	fs.StringVar(&p.SpecDir, "spec", "", "take the policy from the spec in this directory (signing section; with --env, its required attestations and gates, which --key and the identity flags never remove: they replace only the signer)")
	fs.StringVar(&p.Env, "env", "", "with --spec: the environment whose attestations and gates must hold")
}

// Policy assembles the policy (pipeline.Policy).
func (p *PolicyFlags) Policy(ctx context.Context, f *Factory) (*sign.Policy, error) {
	return pipeline.Policy(ctx, f.Run(), p.PolicyRequest)
}

// PromoteFlags are shared by promote plan, apply, propose and status.
type PromoteFlags struct{ pipeline.PromoterRequest }

func (p *PromoteFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.Repository, "repository", "", "registry repository HOST/REPO overriding the spec's registry.repository")
	fs.StringArrayVar(&p.Keys, "key", nil, "trusted cosign public key (file or env://VAR), replacing the spec's signing policy (repeatable)")
	fs.StringVar(&p.Identity, "certificate-identity", "", "keyless signer identity replacing the spec's signing policy")
	fs.StringVar(&p.IdentityRegexp, "certificate-identity-regexp", "", "keyless signer identity regexp replacing the spec's signing policy")
	fs.StringVar(&p.Issuer, "certificate-oidc-issuer", "", "keyless OIDC issuer ("+sign.GitHubIssuer+" for Actions)")
	fs.StringVar(&p.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless OIDC issuer regexp")
	fs.StringArrayVar(&p.AllowedWorkflows, "allowed-workflow", nil, "regexp the provenance builder (workflow) must match (repeatable; default: this repository's workflows, from "+gha.VarRepository+")")
	fs.StringVar(&p.MainBranch, "main-branch", "main", "the branch that holds the desired state")
}

// runOr runs a command: through runF when a test gave one (to see the
// options the flags made), else through its own run function.
func runOr[O any](cmd *cobra.Command, opts *O, runF func(*O) error, run func(context.Context, *O) error) error {
	if runF != nil {
		return runF(opts)
	}
	return run(cmd.Context(), opts)
}

// argOr is the i-th positional argument, or def when there are fewer.
func argOr(args []string, i int, def string) string {
	if i < len(args) {
		return args[i]
	}
	return def
}

// show prints v as JSON with --output json, else runs text.
func show(f *Factory, v any, text func() error) error {
	if f.IO.JSON() {
		return f.IO.PrintJSON(v)
	}
	return text()
}
