package sign

import (
	"context"
	"fmt"

	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/mlship/mlship/internal/attest"
)

// Statements returns the in-toto statements of predicateType attached to
// ref (a digest reference): Sigstore bundles among its referrers (and
// WithExtraBundles), then cosign's legacy attestation tag; a statement
// stored in both formats is returned once. Signatures are NOT checked:
// call Verify for that; these are for display and for callers that
// verified ref first.
func Statements(ctx context.Context, ref, predicateType string, opts ...Option) ([]Statement, error) {
	o := makeOptions(opts)
	d, err := o.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out []Statement
	seen := map[string]bool{}
	add := func(st Statement) {
		if st.PredicateType != predicateType {
			return
		}
		k := string(st.Predicate)
		for _, s := range st.Subject {
			k += "\x00" + s.Digest["sha256"]
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, st)
		}
	}
	bundles, berr := o.findBundles(ctx, d)
	for _, fb := range bundles {
		if fb.err == nil {
			add(fb.st)
		}
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
	for _, s := range list {
		b, err := s.Payload()
		if err != nil {
			continue
		}
		st, err := attest.DecodeEnvelope(b)
		if err != nil {
			continue
		}
		add(st)
	}
	if len(out) == 0 && berr != nil {
		return nil, berr
	}
	return out, nil
}
