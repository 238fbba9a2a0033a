package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-openapi/strfmt"
	"github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	rekorgen "github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/types/dsse"
	dssev001 "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	hashedrekordv001 "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Public Sigstore endpoints, the keyless defaults.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
	// GitHubIssuer is the OIDC issuer of GitHub Actions tokens.
	GitHubIssuer = "https://token.actions.githubusercontent.com"
	// Audience is the audience Fulcio expects on the OIDC token.
	Audience = "sigstore"
)

// Signer is one signing identity: a cosign key, or an ephemeral key with
// a Fulcio certificate (keyless). With a Rekor client each signature is
// also recorded in the transparency log and the entry attached as
// cosign's bundle annotation.
type Signer struct {
	sv       signature.SignerVerifier
	certPEM  []byte
	chainPEM []byte
	rekor    *rekorgen.Rekor
	identity string
	// rekorURL and tsaURL serve bundles (sigstore-go's own clients).
	rekorURL  string
	tsaURL    string
	transport http.RoundTripper
}

// SignerOption configures NewKeySigner and Keyless.
type SignerOption func(*signerOptions)

type signerOptions struct {
	rekorURL  string
	fulcioURL string
	tsaURL    string
	transport http.RoundTripper
}

// WithTimestampServer has an RFC 3161 timestamp authority (its full
// endpoint URL, e.g. https://timestamp.sigstore.dev/api/v1/timestamp)
// countersign every bundle's signature: a trusted signing time that does
// not depend on the transparency log. Legacy-format signatures do not
// carry it.
func WithTimestampServer(url string) SignerOption {
	return func(o *signerOptions) { o.tsaURL = url }
}

// WithTLogUpload records every signature in the Rekor log at url.
func WithTLogUpload(url string) SignerOption {
	return func(o *signerOptions) { o.rekorURL = url }
}

// WithFulcioURL sets the Fulcio base URL for keyless signing.
func WithFulcioURL(url string) SignerOption {
	return func(o *signerOptions) { o.fulcioURL = url }
}

// WithHTTPTransport sets the transport used for Fulcio (tests, proxies).
func WithHTTPTransport(rt http.RoundTripper) SignerOption {
	return func(o *signerOptions) { o.transport = rt }
}

// NewKeySigner signs with sv (a loaded cosign key); name describes it in
// output (usually the key's path).
func NewKeySigner(sv signature.SignerVerifier, name string, opts ...SignerOption) (*Signer, error) {
	o := &signerOptions{}
	for _, opt := range opts {
		opt(o)
	}
	s := &Signer{sv: sv, identity: "key " + name, rekorURL: o.rekorURL, tsaURL: o.tsaURL, transport: o.transport}
	if o.rekorURL != "" {
		rc, err := rekorclient.GetRekorClient(o.rekorURL)
		if err != nil {
			return nil, fmt.Errorf("rekor client for %s: %w", o.rekorURL, err)
		}
		s.rekor = rc
	}
	return s, nil
}

// Keyless creates an ephemeral key, proves possession of it to Fulcio with
// the OIDC idToken (in Actions: the job's token for audience "sigstore"),
// and returns a Signer holding the issued certificate. Every signature is
// uploaded to Rekor (WithTLogUpload, default the public Rekor): the
// certificate lives ten minutes, so the log entry's time is what proves it
// was valid when signing.
func Keyless(ctx context.Context, idToken string, opts ...SignerOption) (*Signer, error) {
	o := &signerOptions{fulcioURL: DefaultFulcioURL, rekorURL: DefaultRekorURL}
	for _, opt := range opts {
		opt(o)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating an ephemeral key: %w", err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading the ephemeral key: %w", err)
	}
	fc := &fulcioClient{base: strings.TrimRight(o.fulcioURL, "/"), http: &http.Client{Transport: o.transport}}
	certPEM, chainPEM, subject, err := fc.signingCert(ctx, idToken, priv)
	if err != nil {
		return nil, err
	}
	rc, err := rekorclient.GetRekorClient(o.rekorURL)
	if err != nil {
		return nil, fmt.Errorf("rekor client for %s: %w", o.rekorURL, err)
	}
	return &Signer{sv: sv, certPEM: certPEM, chainPEM: chainPEM, rekor: rc, identity: "certificate " + subject, rekorURL: o.rekorURL, tsaURL: o.tsaURL, transport: o.transport}, nil
}

// Identity describes the signer: "key PATH" or "certificate SUBJECT".
func (s *Signer) Identity() string { return s.identity }

// Certificate returns the Fulcio certificate PEM (nil for a key signer).
func (s *Signer) Certificate() []byte { return s.certPEM }

// publicPEM is what goes into the tlog entry: the certificate when there
// is one, else the public key.
func (s *Signer) publicPEM() ([]byte, error) {
	if s.certPEM != nil {
		return s.certPEM, nil
	}
	pub, err := s.sv.PublicKey()
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalPublicKeyToPEM(pub)
}

// upload records a simple-signing signature (hashedrekord) in Rekor.
func (s *Signer) uploadSignature(ctx context.Context, payload, sig []byte) (*bundle.RekorBundle, error) {
	if s.rekor == nil {
		return nil, nil
	}
	pemBytes, err := s.publicPEM()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(payload)
	e, err := tlogUpload(ctx, s.rekor, &models.Hashedrekord{
		APIVersion: ptr(hashedrekordv001.APIVERSION),
		Spec: models.HashedrekordV001Schema{
			Data: &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{
				Algorithm: ptr(models.HashedrekordV001SchemaDataHashAlgorithmSha256),
				Value:     ptr(hex.EncodeToString(sum[:])),
			}},
			Signature: &models.HashedrekordV001SchemaSignature{
				Content:   strfmt.Base64(sig),
				PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: strfmt.Base64(pemBytes)},
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("uploading the signature to the transparency log: %w", err)
	}
	return bundle.EntryToBundle(e), nil
}

// uploadEnvelope records a DSSE envelope (attestation) in Rekor.
func (s *Signer) uploadEnvelope(ctx context.Context, envelope []byte) (*bundle.RekorBundle, error) {
	if s.rekor == nil {
		return nil, nil
	}
	pemBytes, err := s.publicPEM()
	if err != nil {
		return nil, err
	}
	pe, err := types.NewProposedEntry(ctx, dsse.KIND, dssev001.APIVERSION, types.ArtifactProperties{ArtifactBytes: envelope, PublicKeyBytes: [][]byte{pemBytes}})
	if err != nil {
		return nil, fmt.Errorf("building the transparency-log entry of the attestation: %w", err)
	}
	e, err := tlogUpload(ctx, s.rekor, pe)
	if err != nil {
		return nil, fmt.Errorf("uploading the attestation to the transparency log: %w", err)
	}
	return bundle.EntryToBundle(e), nil
}

// tlogUpload records entry pe in Rekor and returns the log's answer; an
// entry the log already holds is fetched instead.
func tlogUpload(ctx context.Context, rc *rekorgen.Rekor, pe models.ProposedEntry) (*models.LogEntryAnon, error) {
	params := entries.NewCreateLogEntryParamsWithContext(ctx)
	params.SetProposedEntry(pe)
	resp, err := rc.Entries.CreateLogEntry(params)
	if err != nil {
		var exists *entries.CreateLogEntryConflict
		if !errors.As(err, &exists) || exists.Location == "" {
			return nil, err
		}
		parts := strings.Split(exists.Location.String(), "/")
		get := entries.NewGetLogEntryByUUIDParamsWithContext(ctx)
		get.SetEntryUUID(parts[len(parts)-1])
		got, gerr := rc.Entries.GetLogEntryByUUID(get)
		if gerr != nil {
			return nil, fmt.Errorf("the entry exists in the log, but fetching it failed: %w", gerr)
		}
		for _, e := range got.Payload {
			return &e, nil
		}
		return nil, errors.New("the log answered an empty entry")
	}
	for _, e := range resp.Payload {
		return &e, nil
	}
	return nil, errors.New("the log answered no entry")
}

func ptr[T any](v T) *T { return &v }
