package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// PolicyFlags build a sign.Policy from flags and, optionally, the spec's
// signing section and an environment's required attestations. verify and
// pull --verify share them.
type PolicyFlags struct {
	Keys               []string
	Identity           string
	IdentityRegexp     string
	Issuer             string
	IssuerRegexp       string
	Attestations       []string
	TLog               bool
	InsecureIgnoreTLog bool
	InsecureIgnoreSCT  bool
	MaxAge             time.Duration
	SpecDir            string
	Env                string
}

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

// hasSigners reports whether the flags name who may sign.
func (p *PolicyFlags) hasSigners() bool {
	return len(p.Keys) > 0 || p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != ""
}

// Policy assembles the policy. With --spec the spec says what must hold
// (signing.tlog, signing.maxAge, and with --env that environment's
// attestations and gates); --key and the identity flags replace only who
// may sign, --attestation adds rules, and --tlog/--insecure-ignore-tlog
// and --max-age override. Anything that cannot be built is an error: no
// combination of flags falls back to a narrower policy.
func (p *PolicyFlags) Policy(ctx context.Context, f *Factory) (*sign.Policy, error) {
	if p.Env != "" && p.SpecDir == "" {
		return nil, errors.New("--env needs --spec DIR")
	}
	if p.TLog && p.InsecureIgnoreTLog {
		return nil, errors.New("--tlog and --insecure-ignore-tlog contradict each other")
	}
	pol, err := p.specPolicy(ctx, f)
	if err != nil {
		return nil, err
	}
	if err := p.applyFlags(pol, f); err != nil {
		return nil, err
	}
	trust, err := sign.TrustFromEnv(f.IO.Getenv)
	if err != nil {
		return nil, err
	}
	pol.Trust = trust
	return pol, pol.Validate()
}

// specPolicy is the spec's part of the policy (empty without --spec): its
// rules always, its signers only when the flags name none.
func (p *PolicyFlags) specPolicy(ctx context.Context, f *Factory) (*sign.Policy, error) {
	if p.SpecDir == "" {
		return &sign.Policy{}, nil
	}
	m, err := spec.Load(ctx, p.SpecDir)
	if err != nil {
		return nil, fmt.Errorf("--spec %s: %w", p.SpecDir, err)
	}
	pol, err := sign.SpecRules(m, p.Env)
	if err != nil {
		return nil, fmt.Errorf("policy from the spec in %s: %w", p.SpecDir, err)
	}
	if p.hasSigners() {
		return pol, nil
	}
	if pol.Keys, pol.Identities, err = sign.SpecSigners(m, f.IO.Getenv); err != nil {
		return nil, fmt.Errorf("policy from the spec in %s: %w", p.SpecDir, err)
	}
	return pol, nil
}

// applyFlags puts the flags' signers, rules and overrides on pol.
func (p *PolicyFlags) applyFlags(pol *sign.Policy, f *Factory) error {
	if p.hasSigners() {
		pol.Keys, pol.Identities = nil, nil
	}
	for _, k := range p.Keys {
		pk, err := sign.LoadPublicKey(k, f.IO.Getenv)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		pol.Keys = append(pol.Keys, pk)
	}
	if p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != "" {
		pol.Identities = append(pol.Identities, sign.Identity{Subject: p.Identity, SubjectRegexp: p.IdentityRegexp, Issuer: p.Issuer, IssuerRegexp: p.IssuerRegexp})
	}
	for _, a := range p.Attestations {
		pol.Attestations = append(pol.Attestations, sign.NewAttestationRule(a))
	}
	switch {
	case p.TLog:
		pol.RequireTLog = true
	case p.InsecureIgnoreTLog:
		pol.RequireTLog = false
	}
	if p.InsecureIgnoreSCT {
		pol.IgnoreSCT = true
	}
	if p.MaxAge != 0 {
		pol.MaxAge = p.MaxAge
	}
	return nil
}

// VerifyOptions are the inputs of `mlship verify`.
type VerifyOptions struct {
	F         *Factory
	Ref       string
	Policy    PolicyFlags
	PlainHTTP bool
}

// NewCmdVerify builds `mlship verify`.
func NewCmdVerify(f *Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{F: f}
	cmd := &cobra.Command{
		Use:   "verify REF",
		Short: "Verify a model artifact's signature and required attestations",
		Long: `Verify resolves REF to its manifest digest and checks, as cosign verify and
verify-attestation do, that a signature by an accepted signer covers
exactly that digest, and that every required attestation is attached,
signed by an accepted signer and about that digest (for eval: with a
passing gate, and the environment's gates when --spec/--env are given).

Key-based verification is offline by default: no transparency-log look-up
unless --tlog (or the spec's signing.tlog) asks for a Rekor entry, which is
then checked from the bundle attached to the signature. Keyless signatures
always need their Rekor entry. Trust for keyless and tlog checks comes from
the public Sigstore, or SIGSTORE_ROOT_FILE / SIGSTORE_REKOR_PUBLIC_KEY /
SIGSTORE_CT_LOG_PUBLIC_KEY_FILE as with cosign.

A refusal exits 1 and names the rule that failed.`,
		Example: `  mlship verify ghcr.io/acme/iris:1.2.0 --key cosign.pub
  mlship verify ghcr.io/acme/iris:prod --key cosign.pub --attestation eval --attestation provenance --max-age 720h
  mlship verify ghcr.io/acme/iris@sha256:... \
      --certificate-identity https://github.com/acme/iris/.github/workflows/release.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
  mlship verify ghcr.io/acme/iris@sha256:... --spec . --env prod`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runVerify(cmd.Context(), opts)
		},
	}
	opts.Policy.Register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.PlainHTTP, "plain-http", false, "speak plain HTTP to a registry that is not on loopback")
	return cmd
}

func runVerify(ctx context.Context, opts *VerifyOptions) error {
	f := opts.F
	pol, err := opts.Policy.Policy(ctx, f)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	v, err := sign.Verify(ctx, opts.Ref, pol, registryOptions(f, opts.PlainHTTP)...)
	if err != nil {
		_ = f.Actions.SetOutput("verified", "false")
		_ = f.Actions.AddStepSummary(fmt.Sprintf("❌ `%s`: %v\n", opts.Ref, err))
		if f.IO.JSON() {
			_ = f.IO.PrintJSON(map[string]any{"ref": opts.Ref, "verified": false, "error": err.Error()})
		}
		return &ExitError{Code: 1, Err: err}
	}
	for k, val := range map[string]string{"verified": "true", "digest": v.Digest, "ref": v.Ref} {
		if err := f.Actions.SetOutput(k, val); err != nil {
			return err
		}
	}
	if err := f.Actions.AddStepSummary(fmt.Sprintf("✅ verified `%s` (signed by %s; %d attestation%s)\n", v.Ref, v.Signatures[0].Signer, len(v.Attestations), plural(len(v.Attestations)))); err != nil {
		return err
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(struct {
			*sign.Verified
			OK bool `json:"verified"`
		}{v, true})
	}
	f.IO.Printf("Verified %s\n", v.Ref)
	for _, line := range verifiedLines(v) {
		f.IO.Printf("  %s\n", line)
	}
	return nil
}

// verifiedLines says what was verified, one line per signature,
// attestation and gate: who signed (key name and fingerprint, or
// certificate identity and issuer), when, and with which values.
func verifiedLines(v *sign.Verified) []string {
	var lines []string
	for _, s := range v.Signatures {
		when := "no signing time"
		if !s.SignedAt.IsZero() {
			when = "signed " + s.SignedAt.Format(time.RFC3339)
		}
		tl := "no tlog entry"
		if s.TLog {
			tl = "rekor entry verified"
		}
		lines = append(lines, fmt.Sprintf("signature: %s (%s, %s)", signerName(s.Signer, s.Issuer, s.KeyFingerprint), when, tl))
	}
	for _, a := range v.Attestations {
		extra := ""
		if a.Passed != nil {
			extra = ", gate passed"
		}
		lines = append(lines, fmt.Sprintf("attestation: %s by %s%s", sign.ShortName(a.PredicateType), signerName(a.Signer, a.Issuer, a.KeyFingerprint), extra))
		for _, g := range a.Gates {
			lines = append(lines, "  gate: "+g.String())
		}
	}
	return lines
}

func signerName(signer, issuer, fingerprint string) string {
	switch {
	case fingerprint != "":
		return signer + " [" + fingerprint + "]"
	case issuer != "":
		return signer + " [issuer " + issuer + "]"
	}
	return signer
}
