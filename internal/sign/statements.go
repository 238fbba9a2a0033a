package sign

import (
	"context"
	"fmt"

	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/mlship/mlship/internal/attest"
)

// Statements returns the in-toto statements of predicateType attached to
// ref (a digest reference) under cosign's attestation tag. Signatures are
// NOT checked: call Verify for that; these are for display and for
// callers that verified ref first.
func Statements(ctx context.Context, ref, predicateType string, opts ...Option) ([]Statement, error) {
	o := makeOptions(opts)
	d, err := o.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	ro := []ociremote.Option{ociremote.WithRemoteOptions(o.remoteOpts(ctx)...), ociremote.WithNameOptions(o.name...)}
	at, err := ociremote.AttestationTag(d, ro...)
	if err != nil {
		return nil, err
	}
	sigs, err := ociremote.Signatures(at, ro...)
	if err != nil {
		return nil, fmt.Errorf("reading the attestations of %s: %w", ref, err)
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, fmt.Errorf("reading the attestations of %s: %w", ref, err)
	}
	var out []Statement
	for _, s := range list {
		b, err := s.Payload()
		if err != nil {
			continue
		}
		st, err := attest.DecodeEnvelope(b)
		if err != nil || st.PredicateType != predicateType {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}
