package signtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/digitorus/timestamp"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // registers the dsse entry type
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // registers the hashedrekord entry type
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"       // registers the intoto entry type
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/mlship/mlship/internal/gha"
)

// Workflow describes the GitHub Actions job the issued tokens speak for.
type Workflow struct {
	Repository string // acme/iris
	Path       string // .github/workflows/release.yml
	Ref        string // refs/heads/main
	SHA        string
	EventName  string
}

// JobWorkflowRef is the job_workflow_ref claim: OWNER/REPO/PATH@REF.
func (w Workflow) JobWorkflowRef() string { return w.Repository + "/" + w.Path + "@" + w.Ref }

// Identity is the certificate identity Fulcio derives for the workflow.
func (w Workflow) Identity() string { return "https://github.com/" + w.JobWorkflowRef() }

// Sigstore is the running stack.
type Sigstore struct {
	// IssuerURL is the OIDC issuer (the iss claim, and the certificates'
	// issuer extension).
	IssuerURL string
	// TokenRequestURL and TokenRequestToken are what the runner puts in
	// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
	TokenRequestURL   string
	TokenRequestToken string
	FulcioURL         string
	RekorURL          string
	// TSAURL is the RFC 3161 timestamp endpoint; TSAChain its certificate
	// chain (leaf, intermediate, root) and TSAChainFile the chain as PEM
	// (cosign's --timestamp-certificate-chain).
	TSAURL       string
	TSAChain     []*x509.Certificate
	TSAChainFile string
	Workflow     Workflow

	// Roots and Intermediates are the CA certificates; RootFile holds both
	// as PEM (SIGSTORE_ROOT_FILE) and RekorKeyFile the log's public key
	// (SIGSTORE_REKOR_PUBLIC_KEY).
	Root, Intermediate *x509.Certificate
	RekorKey           crypto.PublicKey
	RootFile           string
	RekorKeyFile       string
	// TrustedRootFile is all of it as a Sigstore trusted root
	// (trusted_root.json: Fulcio, Rekor, TSA), for --trusted-root: cosign
	// verifies bundles only against a trusted root, never SIGSTORE_*.
	TrustedRootFile string

	// Requests counts calls per endpoint ("token", "fulcio", "rekor").
	mu       sync.Mutex
	requests map[string]int

	tsaKey    *ecdsa.PrivateKey
	jwtKey    *rsa.PrivateKey
	interKey  crypto.Signer
	vs        *ca.VirtualSigstore
	logIndex  int64
	issuerSrv *httptest.Server
}

// Requests returns how many times an endpoint was called.
func (s *Sigstore) Requests(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[endpoint]
}

func (s *Sigstore) count(endpoint string) {
	s.mu.Lock()
	s.requests[endpoint]++
	s.mu.Unlock()
}

// Env is the environment a GitHub Actions job with id-token: write sees.
func (s *Sigstore) Env() map[string]string {
	w := s.Workflow
	return map[string]string{
		gha.VarActions:      "true",
		gha.VarIDTokenURL:   s.TokenRequestURL,
		gha.VarIDTokenToken: s.TokenRequestToken,
		gha.VarRepository:   w.Repository,
		gha.VarWorkflowRef:  w.JobWorkflowRef(),
		gha.VarSHA:          w.SHA,
		gha.VarRef:          w.Ref,
		gha.VarServerURL:    gha.DefaultServerURL,
		gha.VarRunID:        "4242",
		gha.VarRunAttempt:   "1",
	}
}

// Start runs the stack for workflow w until the test ends.
func Start(t testing.TB, w Workflow) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	root, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(root, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	jwtKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sigstore{
		Workflow: w, Root: root, Intermediate: inter,
		jwtKey: jwtKey, interKey: interKey, vs: vs,
		requests:          map[string]int{},
		TokenRequestToken: hex.EncodeToString(randBytes(16)),
	}
	for _, l := range vs.RekorLogs() {
		s.RekorKey = l.PublicKey
	}

	issuer := http.NewServeMux()
	s.issuerSrv = httptest.NewServer(issuer)
	t.Cleanup(s.issuerSrv.Close)
	s.IssuerURL = s.issuerSrv.URL
	s.TokenRequestURL = s.IssuerURL + "/_apis/token?api-version=2.0"
	issuer.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	issuer.HandleFunc("GET /.well-known/jwks", s.jwks)
	issuer.HandleFunc("GET /_apis/token", s.token)

	fulcio := http.NewServeMux()
	fulcio.HandleFunc("POST /api/v2/signingCert", s.signingCert)
	fulcio.HandleFunc("POST /api/v1/signingCert", s.signingCertV1)
	fs := httptest.NewServer(fulcio)
	t.Cleanup(fs.Close)
	s.FulcioURL = fs.URL

	rekor := http.NewServeMux()
	rekor.HandleFunc("POST /api/v1/log/entries", s.createEntry)
	rs := httptest.NewServer(rekor)
	t.Cleanup(rs.Close)
	s.RekorURL = rs.URL

	if err := s.startTSA(t); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	s.TSAChainFile = filepath.Join(dir, "tsa-chain.pem")
	var tsaPEM []byte
	for _, c := range s.TSAChain {
		tsaPEM = append(tsaPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(s.TSAChainFile, tsaPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	s.RootFile = filepath.Join(dir, "fulcio-chain.pem")
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter.Raw}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})...)
	if err := os.WriteFile(s.RootFile, chain, 0o644); err != nil {
		t.Fatal(err)
	}
	if s.TrustedRootFile, err = s.writeTrustedRoot(dir); err != nil {
		t.Fatal(err)
	}
	rk, err := cryptoutils.MarshalPublicKeyToPEM(s.RekorKey)
	if err != nil {
		t.Fatal(err)
	}
	s.RekorKeyFile = filepath.Join(dir, "rekor.pub")
	if err := os.WriteFile(s.RekorKeyFile, rk, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func (s *Sigstore) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.IssuerURL,
		"jwks_uri":                              s.IssuerURL + "/.well-known/jwks",
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "job_workflow_ref"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
	})
}

func (s *Sigstore) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.jwtKey.PublicKey, KeyID: "mlship-test", Algorithm: "RS256", Use: "sig"}}})
}

// token emulates the Actions runtime's token endpoint.
func (s *Sigstore) token(w http.ResponseWriter, r *http.Request) {
	s.count("token")
	if r.Header.Get("Authorization") != "Bearer "+s.TokenRequestToken {
		http.Error(w, "bad request token", http.StatusUnauthorized)
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		aud = "https://github.com/" + strings.Split(s.Workflow.Repository, "/")[0]
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.jwtKey}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "mlship-test"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now := time.Now()
	wf := s.Workflow
	claims := map[string]any{
		"iss": s.IssuerURL, "aud": aud,
		"sub": "repo:" + wf.Repository + ":ref:" + wf.Ref,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": hex.EncodeToString(randBytes(8)), "ref": wf.Ref, "sha": wf.SHA, "repository": wf.Repository,
		"repository_owner": strings.Split(wf.Repository, "/")[0], "workflow_ref": wf.JobWorkflowRef(),
		"job_workflow_ref": wf.JobWorkflowRef(), "event_name": wf.EventName, "runner_environment": "github-hosted",
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"value": tok})
}

var (
	oidIssuerV1     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidTrigger      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 2}
	oidSHA          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 3}
	oidWorkflowRepo = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 5}
	oidWorkflowRef  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 6}
	oidIssuerV2     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// signingCert is Fulcio's v2 endpoint: verify the OIDC token against the
// issuer's JWKS, check the proof of possession, issue a certificate.
func (s *Sigstore) signingCert(w http.ResponseWriter, r *http.Request) {
	s.fulcio(w, r, 2)
}

// signingCertV1 is Fulcio's legacy v1 endpoint (cosign 2 uses it): the
// request carries the DER public key and a signature over the subject,
// the answer is 201 with the PEM chain as the body.
func (s *Sigstore) signingCertV1(w http.ResponseWriter, r *http.Request) {
	s.fulcio(w, r, 1)
}

func (s *Sigstore) fulcio(w http.ResponseWriter, r *http.Request, api int) {
	s.count("fulcio")
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "missing bearer token", http.StatusUnauthorized)
		return
	}
	ctx := oidc.ClientContext(r.Context(), s.issuerSrv.Client())
	provider, err := oidc.NewProvider(ctx, s.IssuerURL)
	if err != nil {
		http.Error(w, "oidc discovery: "+err.Error(), http.StatusInternalServerError)
		return
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw)
	if err != nil {
		http.Error(w, "invalid identity token: "+err.Error(), http.StatusUnauthorized)
		return
	}
	var claims struct {
		JobWorkflowRef string `json:"job_workflow_ref"`
		SHA            string `json:"sha"`
		Repository     string `json:"repository"`
		Ref            string `json:"ref"`
		EventName      string `json:"event_name"`
	}
	if err := idt.Claims(&claims); err != nil || claims.JobWorkflowRef == "" {
		http.Error(w, "token lacks job_workflow_ref", http.StatusBadRequest)
		return
	}
	var pub crypto.PublicKey
	var pop []byte
	if api == 1 {
		var req struct {
			PublicKey struct {
				Content []byte `json:"content"`
			} `json:"publicKey"`
			SignedEmailAddress []byte `json:"signedEmailAddress"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		k, err := cryptoutils.UnmarshalPEMToPublicKey(req.PublicKey.Content) // cosign sends PEM
		if err != nil {
			k, err = x509.ParsePKIXPublicKey(req.PublicKey.Content)
		}
		if err != nil {
			http.Error(w, "bad public key: "+err.Error(), http.StatusBadRequest)
			return
		}
		pub, pop = k, req.SignedEmailAddress
	} else {
		var req struct {
			PublicKeyRequest struct {
				PublicKey struct {
					Content string `json:"content"`
				} `json:"publicKey"`
				ProofOfPossession string `json:"proofOfPossession"`
			} `json:"publicKeyRequest"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		k, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
		if err != nil {
			http.Error(w, "bad public key: "+err.Error(), http.StatusBadRequest)
			return
		}
		p, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
		if err != nil {
			http.Error(w, "bad proof of possession", http.StatusBadRequest)
			return
		}
		pub, pop = k, p
	}
	ecPub, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		http.Error(w, "only ECDSA keys", http.StatusBadRequest)
		return
	}
	h := sha256.Sum256([]byte(idt.Subject))
	if !ecdsa.VerifyASN1(ecPub, h[:], pop) {
		http.Error(w, "proof of possession does not verify", http.StatusBadRequest)
		return
	}
	issuerV2, _ := asn1.MarshalWithParams(s.IssuerURL, "utf8")
	uri, _ := parseURL("https://github.com/" + claims.JobWorkflowRef)
	now := time.Now()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:         uri,
		ExtraExtensions: []pkix.Extension{
			{Id: oidIssuerV1, Value: []byte(s.IssuerURL)},
			{Id: oidIssuerV2, Value: issuerV2},
			{Id: oidTrigger, Value: []byte(claims.EventName)},
			{Id: oidSHA, Value: []byte(claims.SHA)},
			{Id: oidWorkflowRepo, Value: []byte(claims.Repository)},
			{Id: oidWorkflowRef, Value: []byte(claims.Ref)},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.Intermediate, pub, s.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	chain := []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Intermediate.Raw})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Root.Raw})),
	}
	if api == 1 {
		w.Header().Set("Content-Type", "application/pem-certificate-chain")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, strings.Join(chain, ""))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

// createEntry is Rekor's POST /api/v1/log/entries: canonicalize with
// Rekor's type code (which also checks the entry's signature), then sign
// an entry timestamp.
func (s *Sigstore) createEntry(w http.ResponseWriter, r *http.Request) {
	s.count("rekor")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<22))
	if err != nil {
		rekorError(w, http.StatusBadRequest, err)
		return
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		rekorError(w, http.StatusBadRequest, err)
		return
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		rekorError(w, http.StatusBadRequest, err)
		return
	}
	canon, err := types.CanonicalizeEntry(r.Context(), entry)
	if err != nil {
		rekorError(w, http.StatusBadRequest, err)
		return
	}
	logID, err := s.vs.RekorLogID()
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err)
		return
	}
	s.mu.Lock()
	idx := s.logIndex
	s.logIndex++
	s.mu.Unlock()
	b64 := base64.StdEncoding.EncodeToString(canon)
	proof, err := s.vs.GetInclusionProof(canon)
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err)
		return
	}
	now := time.Now().Unix()
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{Body: b64, IntegratedTime: now, LogIndex: idx, LogID: logID})
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err)
		return
	}
	leaf := sha256.Sum256(append([]byte{0}, canon...))
	uuid := hex.EncodeToString(leaf[:])
	w.Header().Set("Location", fmt.Sprintf("%s/api/v1/log/entries/%s", "http://"+r.Host, uuid))
	w.Header().Set("ETag", uuid)
	writeJSON(w, http.StatusCreated, map[string]any{uuid: map[string]any{
		"body": b64, "integratedTime": now, "logID": logID, "logIndex": idx,
		"verification": map[string]any{"signedEntryTimestamp": base64.StdEncoding.EncodeToString(set), "inclusionProof": proof},
	}})
}

func rekorError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]any{"code": code, "message": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Token fetches a token the way the runner's toolkit does.
func (s *Sigstore) Token(ctx context.Context, audience string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.TokenRequestURL+"&audience="+audience, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.TokenRequestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", err
	}
	return v.Value, nil
}

// ForeignToken is a well-formed token for the same workflow signed by a
// key the issuer does not publish: Fulcio must refuse it.
func (s *Sigstore) ForeignToken() (string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, nil)
	if err != nil {
		return "", err
	}
	now := time.Now()
	return jwt.Signed(signer).Claims(map[string]any{
		"iss": s.IssuerURL, "aud": "sigstore", "sub": "repo:" + s.Workflow.Repository + ":ref:" + s.Workflow.Ref,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "job_workflow_ref": s.Workflow.JobWorkflowRef(),
	}).Serialize()
}

func parseURL(s string) ([]*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	return []*url.URL{u}, nil
}

// startTSA runs an RFC 3161 timestamp authority (POST
// application/timestamp-query, as sigstore's timestamp-authority serves
// at /api/v1/timestamp) with its own root, intermediate and leaf.
func (s *Sigstore) startTSA(t testing.TB) error {
	root, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return err
	}
	inter, interKey, err := ca.GenerateTSAIntermediate(root, rootKey)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leaf, err := ca.GenerateTSALeafCert(time.Now().Add(-time.Minute), key, inter, interKey) // valid for 10 minutes from its argument
	if err != nil {
		return err
	}
	s.tsaKey, s.TSAChain = key, []*x509.Certificate{leaf, inter, root}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/timestamp", s.timestamp)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.TSAURL = srv.URL + "/api/v1/timestamp"
	return nil
}

func (s *Sigstore) timestamp(w http.ResponseWriter, r *http.Request) {
	s.count("tsa")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, "bad timestamp request: "+err.Error(), http.StatusBadRequest)
		return
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              time.Now(),
		Nonce:             req.Nonce,
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
		AddTSACertificate: req.Certificates,
		ExtraExtensions:   req.Extensions,
	}
	resp, err := ts.CreateResponseWithOpts(s.TSAChain[0], s.tsaKey, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

func (s *Sigstore) writeTrustedRoot(dir string) (string, error) {
	start := time.Now().Add(-time.Hour)
	der, err := x509.MarshalPKIXPublicKey(s.RekorKey)
	if err != nil {
		return "", err
	}
	id := sha256.Sum256(der)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: s.Root, Intermediates: []*x509.Certificate{s.Intermediate}, ValidityPeriodStart: start, URI: s.FulcioURL}},
		nil,
		[]root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{Root: s.TSAChain[2], Intermediates: s.TSAChain[1:2], Leaf: s.TSAChain[0], ValidityPeriodStart: start, URI: s.TSAURL}},
		map[string]*root.TransparencyLog{hex.EncodeToString(id[:]): {BaseURL: s.RekorURL, ID: id[:], ValidityPeriodStart: start, HashFunc: crypto.SHA256, PublicKey: s.RekorKey, SignatureHashFunc: crypto.SHA256}},
	)
	if err != nil {
		return "", err
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "trusted_root.json")
	return p, os.WriteFile(p, b, 0o644)
}
