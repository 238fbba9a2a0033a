package sign

import (
	"crypto/x509"
	"encoding/asn1"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// certIdentity is the first SAN of a Fulcio certificate.
func certIdentity(c *x509.Certificate) string {
	if sans := cryptoutils.GetSubjectAlternateNames(c); len(sans) > 0 {
		return sans[0]
	}
	return c.Subject.String()
}

// certIssuer is the OIDC issuer recorded in a Fulcio certificate.
func certIssuer(c *x509.Certificate) string {
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(oidIssuerV2):
			var s string
			if _, err := asn1.Unmarshal(e.Value, &s); err == nil {
				return s
			}
		case e.Id.Equal(oidIssuerV1):
			return string(e.Value)
		}
	}
	return ""
}
