package sign

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// bundleTrust is the sigstore-go trust material for bundle verification:
// the policy's TrustRoot when it has one, else (when needed: keyless, or a
// required tlog entry) the public Sigstore trusted root from its TUF
// repository; nil when nothing beyond keys is needed.
func (p *Policy) bundleTrust(need bool) (root.TrustedMaterial, error) {
	if p.Trust == nil {
		if !need {
			return nil, nil
		}
		tr, err := root.FetchTrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("loading the public Sigstore trusted root (TUF; set SIGSTORE_ROOT_FILE and SIGSTORE_REKOR_PUBLIC_KEY for a private Sigstore): %w", err)
		}
		return tr, nil
	}
	return p.Trust.material()
}

// material converts explicit trust to a sigstore-go trusted root.
func (t *TrustRoot) material() (root.TrustedMaterial, error) {
	var cas []root.CertificateAuthority
	for _, r := range t.FulcioRoots {
		cas = append(cas, &root.FulcioCertificateAuthority{Root: r, Intermediates: t.FulcioIntermediates})
	}
	logs := func(keys []crypto.PublicKey) (map[string]*root.TransparencyLog, error) {
		m := map[string]*root.TransparencyLog{}
		for _, k := range keys {
			der, err := x509.MarshalPKIXPublicKey(k)
			if err != nil {
				return nil, fmt.Errorf("encoding a log public key: %w", err)
			}
			id := sha256.Sum256(der)
			// A key given without validity dates is valid whenever (sigstore-go
			// insists on a start).
			m[hex.EncodeToString(id[:])] = &root.TransparencyLog{ID: id[:], HashFunc: crypto.SHA256, PublicKey: k, SignatureHashFunc: crypto.SHA256, ValidityPeriodStart: time.Unix(1, 0)}
		}
		return m, nil
	}
	rekor, err := logs(t.RekorKeys)
	if err != nil {
		return nil, err
	}
	ct, err := logs(t.CTLogKeys)
	if err != nil {
		return nil, err
	}
	var tsas []root.TimestampingAuthority
	for _, chain := range t.TSAChains {
		if len(chain) == 0 {
			continue
		}
		a := &root.SigstoreTimestampingAuthority{Root: chain[len(chain)-1]}
		if len(chain) > 1 {
			a.Leaf = chain[0]
			a.Intermediates = chain[1 : len(chain)-1]
		}
		tsas = append(tsas, a)
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, cas, ct, tsas, rekor)
}

// keyMaterial trusts exactly one public key, whatever hint a bundle gives.
func keyMaterial(k PublicKey, base root.TrustedMaterial) root.TrustedMaterial {
	km := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(k.Verifier, timeZero, timeZero), nil
	})
	if base == nil {
		return km
	}
	return root.TrustedMaterialCollection{km, base}
}
