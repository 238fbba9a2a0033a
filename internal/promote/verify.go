package promote

import (
	"context"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
)

// Verifier checks signatures and attestations (internal/sign in
// production).
type Verifier interface {
	// Verify checks ref against policy; a failure is a *sign.Refusal naming
	// the rule.
	Verify(ctx context.Context, ref string, policy *sign.Policy) (*sign.Verified, error)
	// Statements returns the in-toto statements of predicateType attached
	// to ref (signatures not checked: call Verify for that).
	Statements(ctx context.Context, ref, predicateType string) ([]sign.Statement, error)
}

// SignVerifier is the Verifier over internal/sign and cosign's tag scheme.
type SignVerifier struct {
	// Client is the process's registry client (nil: the defaults).
	Client *oci.Client
	// Options are passed to sign.Verify and sign.Statements after the
	// client.
	Options []sign.Option
}

func (v SignVerifier) options() []sign.Option {
	return append([]sign.Option{sign.WithClient(v.Client)}, v.Options...)
}

func (v SignVerifier) Verify(ctx context.Context, ref string, p *sign.Policy) (*sign.Verified, error) {
	return sign.Verify(ctx, ref, p, v.options()...)
}

func (v SignVerifier) Statements(ctx context.Context, ref, predicateType string) ([]sign.Statement, error) {
	return sign.Statements(ctx, ref, predicateType, v.options()...)
}
