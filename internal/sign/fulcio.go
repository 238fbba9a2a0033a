package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// fulcioClient speaks Fulcio's v2 REST API (POST /api/v2/signingCert).
type fulcioClient struct {
	base string
	http *http.Client
}

type fulcioRequest struct {
	PublicKeyRequest struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
}

type fulcioChain struct {
	Chain struct {
		Certificates []string `json:"certificates"`
	} `json:"chain"`
}

type fulcioResponse struct {
	Embedded *fulcioChain `json:"signedCertificateEmbeddedSct"`
	Detached *fulcioChain `json:"signedCertificateDetachedSct"`
}

// tokenSubject returns the claim Fulcio binds the certificate to: the
// email when the token carries one, else sub. The token is not verified
// here (Fulcio does that).
func tokenSubject(idToken string) (string, error) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return "", errors.New("the OIDC token is not a JWT (want three dot-separated parts)")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("decoding the OIDC token claims: %w", err)
	}
	var c struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("decoding the OIDC token claims: %w", err)
	}
	if c.Email != "" {
		return c.Email, nil
	}
	if c.Sub == "" {
		return "", errors.New("the OIDC token has neither sub nor email")
	}
	return c.Sub, nil
}

// signingCert asks Fulcio for a certificate over priv's public key and
// returns the leaf PEM, the rest of the chain PEM and the token subject.
func (c *fulcioClient) signingCert(ctx context.Context, idToken string, priv *ecdsa.PrivateKey) (leaf, chain []byte, subject string, err error) {
	subject, err = tokenSubject(idToken)
	if err != nil {
		return nil, nil, "", err
	}
	digest := sha256.Sum256([]byte(subject))
	pop, err := priv.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, nil, "", fmt.Errorf("signing the proof of possession: %w", err)
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, "", err
	}
	var req fulcioRequest
	req.PublicKeyRequest.PublicKey.Algorithm = "ECDSA"
	req.PublicKeyRequest.PublicKey.Content = string(pubPEM)
	req.PublicKeyRequest.ProofOfPossession = base64.StdEncoding.EncodeToString(pop)
	body, _ := json.Marshal(req)
	endpoint := c.base + "/api/v2/signingCert"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, nil, "", fmt.Errorf("fulcio %s: %w", endpoint, err)
	}
	hr.Header.Set("Authorization", "Bearer "+idToken)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, nil, "", fmt.Errorf("fulcio %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, "", fmt.Errorf("fulcio %s: reading the response: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, nil, "", fmt.Errorf("fulcio %s refused the certificate request: %s: %s", endpoint, resp.Status, strings.TrimSpace(string(rb)))
	}
	var fr fulcioResponse
	if err := json.Unmarshal(rb, &fr); err != nil {
		return nil, nil, "", fmt.Errorf("fulcio %s: decoding the response: %w", endpoint, err)
	}
	ch := fr.Embedded
	if ch == nil || len(ch.Chain.Certificates) == 0 {
		ch = fr.Detached
	}
	if ch == nil || len(ch.Chain.Certificates) == 0 {
		return nil, nil, "", fmt.Errorf("fulcio %s returned no certificate", endpoint)
	}
	certs := ch.Chain.Certificates
	leafCerts, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(certs[0]))
	if err != nil || len(leafCerts) != 1 {
		return nil, nil, "", fmt.Errorf("fulcio %s returned an unparsable certificate: %v", endpoint, err)
	}
	if err := cryptoutils.EqualKeys(leafCerts[0].PublicKey, priv.Public()); err != nil {
		return nil, nil, "", fmt.Errorf("fulcio %s issued a certificate for another key: %w", endpoint, err)
	}
	leaf = []byte(certs[0])
	for _, c := range certs[1:] {
		chain = append(chain, []byte(strings.TrimSpace(c)+"\n")...)
	}
	return leaf, chain, subject, nil
}
