package promote

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

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
	// Options are passed to sign.Verify.
	Options []sign.Option
	// Remote and Name options are used to read attestations.
	Remote []remote.Option
	Name   []name.Option
}

func (v SignVerifier) Verify(ctx context.Context, ref string, p *sign.Policy) (*sign.Verified, error) {
	return sign.Verify(ctx, ref, p, v.Options...)
}

func (v SignVerifier) Statements(ctx context.Context, ref, predicateType string) ([]sign.Statement, error) {
	d, err := name.NewDigest(ref, v.Name...)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", ref, err)
	}
	opts := []ociremote.Option{ociremote.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, v.Remote...)...), ociremote.WithNameOptions(v.Name...)}
	at, err := ociremote.AttestationTag(d, opts...)
	if err != nil {
		return nil, err
	}
	sigs, err := ociremote.Signatures(at, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading the attestations of %s: %w", ref, err)
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, fmt.Errorf("reading the attestations of %s: %w", ref, err)
	}
	var out []sign.Statement
	for _, s := range list {
		b, err := s.Payload()
		if err != nil {
			continue
		}
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal(b, &env) != nil {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			continue
		}
		var st sign.Statement
		if json.Unmarshal(raw, &st) != nil || st.PredicateType != predicateType {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}
