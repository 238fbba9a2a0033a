package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
)

// EnvPrefix marks a key reference that names an environment variable
// holding the PEM (as cosign's env://VAR).
const EnvPrefix = "env://"

// GenerateKeyPair returns a new ECDSA P-256 key pair in cosign's formats:
// the private key encrypted with password (scrypt + secretbox, PEM type
// "ENCRYPTED SIGSTORE PRIVATE KEY") and the PKIX public key PEM.
func GenerateKeyPair(password []byte) (privPEM, pubPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating a cosign key pair: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the private key: %w", err)
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypting the private key: %w", err)
	}
	pubPEM, err = cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: sigstorePrivateKeyPEM, Bytes: enc}), pubPEM, nil
}

// PEM types of cosign's encrypted private keys (it writes the first).
const (
	sigstorePrivateKeyPEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
	cosignPrivateKeyPEM   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// decryptPrivateKey reads cosign's encrypted private key format: PEM,
// scrypt + secretbox (go-securesystemslib's encrypted), PKCS #8.
func decryptPrivateKey(b, password []byte) (signature.SignerVerifier, error) {
	p, _ := pem.Decode(b)
	if p == nil {
		return nil, errors.New("not a PEM private key")
	}
	if p.Type != sigstorePrivateKeyPEM && p.Type != cosignPrivateKeyPEM {
		return nil, fmt.Errorf("unsupported PEM type %q (want %s)", p.Type, sigstorePrivateKeyPEM)
	}
	der, err := encrypted.Decrypt(p.Bytes, password)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	return signature.LoadDefaultSignerVerifier(pk, cosignLoadOpts()...)
}

// ReadKeyRef returns the PEM a key reference points at: a file path, or
// env://VAR for an environment variable read through getenv (the run
// context's; nil reads nothing).
func ReadKeyRef(ref string, getenv func(string) string) ([]byte, error) {
	if ref == "" {
		return nil, errors.New("empty key reference: give a file path or env://VAR")
	}
	if v, ok := strings.CutPrefix(ref, EnvPrefix); ok {
		var val string
		if getenv != nil {
			val = getenv(v)
		}
		if val == "" {
			return nil, fmt.Errorf("key %s: environment variable %s is empty or unset", ref, v)
		}
		return []byte(val), nil
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("reading key %s: %w", ref, err)
	}
	return b, nil
}

// LoadPrivateKey decrypts a cosign private key (file or env://VAR) with
// password and returns a signer for it.
func LoadPrivateKey(ref string, password []byte, getenv func(string) string) (signature.SignerVerifier, error) {
	b, err := ReadKeyRef(ref, getenv)
	if err != nil {
		return nil, err
	}
	sv, err := decryptPrivateKey(b, password)
	if err != nil {
		return nil, fmt.Errorf("loading private key %s (is COSIGN_PASSWORD right, and is it a cosign.key?): %w", ref, err)
	}
	return sv, nil
}

// PublicKey is a trusted verification key and the name refusals use for it.
type PublicKey struct {
	Name     string
	Verifier signature.Verifier
}

// Fingerprint is "sha256:<hex>" of the key's PKIX DER encoding, the
// same for a key however it was given (file, env://, certificate); ""
// when the key cannot be encoded.
func (k PublicKey) Fingerprint() string {
	if k.Verifier == nil {
		return ""
	}
	pub, err := k.Verifier.PublicKey()
	if err != nil {
		return ""
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// LoadPublicKey reads a PEM public key (file or env://VAR). A certificate
// PEM is accepted too; its public key is used.
func LoadPublicKey(ref string, getenv func(string) string) (PublicKey, error) {
	b, err := ReadKeyRef(ref, getenv)
	if err != nil {
		return PublicKey{}, err
	}
	return ParsePublicKey(ref, b)
}

// ParsePublicKey parses a PEM public key (or certificate) named nameForErrors.
func ParsePublicKey(nameForErrors string, pemBytes []byte) (PublicKey, error) {
	var pub crypto.PublicKey
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		certs, cerr := cryptoutils.UnmarshalCertificatesFromPEM(pemBytes)
		if cerr != nil || len(certs) == 0 {
			return PublicKey{}, fmt.Errorf("parsing public key %s: %w", nameForErrors, err)
		}
		pub = certs[0].PublicKey
	}
	v, err := signature.LoadVerifierWithOpts(pub, cosignLoadOpts()...)
	if err != nil {
		return PublicKey{}, fmt.Errorf("loading public key %s: %w", nameForErrors, err)
	}
	return PublicKey{Name: nameForErrors, Verifier: v}, nil
}

// cosignLoadOpts are cosign's key loading defaults: ED25519ph for
// ed25519 keys (the only variant hashedrekord entries take).
func cosignLoadOpts() []signature.LoadOption {
	return []signature.LoadOption{sigopts.WithED25519ph()}
}
