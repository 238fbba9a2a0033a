package eval

import (
	"context"
	"strings"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
)

// bundledResult finds an eval attestation of digest stored as a Sigstore
// bundle (cosign 3, mlship --format bundle|both): a referrer listed by
// the registry's referrers API or its referrers tag schema. Read, not
// verified, as the legacy tag is. An OCI layout has none: nil.
func bundledResult(ctx context.Context, st *registryStore, digest string) (*Result, error) {
	if strings.HasPrefix(st.repo, oci.LayoutPrefix) {
		return nil, nil
	}
	c := st.c
	if st.plain {
		c = c.With(oci.WithPlainHTTP(true))
	}
	sts, err := sign.Statements(ctx, st.repo+"@"+digest, attest.EvalType, sign.WithClient(c))
	if err != nil {
		return nil, err
	}
	for i := len(sts) - 1; i >= 0; i-- {
		if res, err := attest.ParseEvalResult(sts[i].Predicate); err == nil {
			return res, nil
		}
	}
	return nil, nil
}
