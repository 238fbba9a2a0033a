package sign

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/mlship/mlship/internal/sign/signtest"
	"github.com/mlship/mlship/internal/testenv"
)

var testWorkflow = signtest.Workflow{Repository: "acme/iris", Path: ".github/workflows/release.yml", Ref: "refs/heads/main", SHA: "0123456789abcdef0123456789abcdef01234567", EventName: "push"}

// TestKeyless runs the keyless flow end to end on loopback: a token from
// the emulated Actions token service, a certificate from the Fulcio
// emulator (which verifies the token against the issuer's JWKS and the
// proof of possession), Rekor entries from the log emulator, then
// verification by certificate identity and issuer with the bundle checked
// offline against the log's key.
func TestKeyless(t *testing.T) {
	t.Parallel()
	ss := signtest.Start(t, testWorkflow)
	host := testenv.InProcessRegistry(t)
	d := pushRandom(t, host, "acme/iris", "v1")

	tok, err := ss.Token(bg, Audience)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Keyless(bg, tok, WithFulcioURL(ss.FulcioURL), WithTLogUpload(ss.RekorURL))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Identity(), "certificate repo:acme/iris:ref:refs/heads/main"; got != want {
		t.Errorf("Identity() = %q, want %q", got, want)
	}
	res, err := Sign(bg, d.String(), s)
	if err != nil {
		t.Fatal(err)
	}
	if res.TLogIndex == nil {
		t.Fatal("keyless signature was not logged")
	}
	if _, err := Attest(bg, d.String(), s, EvalPredicateType, evalResult(t, 0.95, true)); err != nil {
		t.Fatal(err)
	}
	// Both formats: a legacy signature and attestation, and two bundles.
	if n := ss.Requests("rekor"); n != 4 {
		t.Errorf("rekor saw %d entries, want 4", n)
	}
	trust := &TrustRoot{FulcioRoots: []*x509Certificate{ss.Root}, FulcioIntermediates: []*x509Certificate{ss.Intermediate}, RekorKeys: []cryptoPublicKey{ss.RekorKey}}
	id := Identity{Subject: testWorkflow.Identity(), Issuer: ss.IssuerURL}

	tests := []struct {
		name string
		pol  *Policy
		want string
	}{
		{"exact identity", &Policy{Identities: []Identity{id}, Trust: trust, IgnoreSCT: true, Attestations: []AttestationRule{NewAttestationRule("eval")}}, ""},
		{"identity regexp", &Policy{Identities: []Identity{{SubjectRegexp: `^https://github\.com/acme/iris/\.github/workflows/.*@refs/heads/main$`, Issuer: ss.IssuerURL}}, Trust: trust, IgnoreSCT: true}, ""},
		{"another workflow", &Policy{Identities: []Identity{{Subject: "https://github.com/acme/iris/.github/workflows/other.yml@refs/heads/main", Issuer: ss.IssuerURL}}, Trust: trust, IgnoreSCT: true}, "not signed by identity"},
		{"another branch", &Policy{Identities: []Identity{{SubjectRegexp: `@refs/heads/main$`, Issuer: ss.IssuerURL}, {Subject: "x", Issuer: "y"}}, Trust: trust, IgnoreSCT: true}, ""},
		{"another issuer", &Policy{Identities: []Identity{{Subject: id.Subject, Issuer: GitHubIssuer}}, Trust: trust, IgnoreSCT: true}, "not signed by identity"},
		{"untrusted rekor key", &Policy{Identities: []Identity{id}, Trust: &TrustRoot{FulcioRoots: trust.FulcioRoots, FulcioIntermediates: trust.FulcioIntermediates, RekorKeys: []cryptoPublicKey{mustRekorKey(t)}}, IgnoreSCT: true}, "not signed by identity"},
		{"untrusted CA", &Policy{Identities: []Identity{id}, Trust: &TrustRoot{FulcioRoots: []*x509Certificate{otherRoot(t)}, RekorKeys: trust.RekorKeys}, IgnoreSCT: true}, "not signed by identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := Verify(bg, d.String(), tt.pol)
			if tt.want != "" {
				refusal(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sig := v.Signatures[0]
			if sig.Signer != testWorkflow.Identity() || sig.Issuer != ss.IssuerURL || !sig.TLog || sig.SignedAt.IsZero() {
				t.Errorf("verified signature = %+v", sig)
			}
		})
	}

	// Fulcio refuses a token that the issuer did not sign.
	forged, err := ss.ForeignToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Keyless(bg, forged, WithFulcioURL(ss.FulcioURL), WithTLogUpload(ss.RekorURL)); err == nil || !strings.Contains(err.Error(), "invalid identity token") {
		t.Fatalf("Keyless with a forged token: err = %v, want Fulcio's refusal", err)
	}
}

// TestKeylessBundleTimestamp signs keyless in the bundle format with a
// timestamp authority countersigning (loopback Fulcio, Rekor and TSA) and
// verifies with sigstore-go: the certificate must chain to the trusted
// Fulcio root at the time the TSA and the log vouch for.
func TestKeylessBundleTimestamp(t *testing.T) {
	t.Parallel()
	ss := signtest.Start(t, testWorkflow)
	host := testenv.InProcessRegistry(t, registry.WithReferrersSupport(true))
	d := pushRandom(t, host, "acme/iris", "v1")
	tok, err := ss.Token(bg, Audience)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Keyless(bg, tok, WithFulcioURL(ss.FulcioURL), WithTLogUpload(ss.RekorURL), WithTimestampServer(ss.TSAURL))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Sign(bg, d.String(), s, WithFormat(FormatBundle))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Attest(bg, d.String(), s, EvalPredicateType, evalResult(t, 0.95, true), WithFormat(FormatBundle)); err != nil {
		t.Fatal(err)
	}
	if n := ss.Requests("tsa"); n != 2 {
		t.Errorf("the TSA saw %d requests, want 2", n)
	}
	if res.TLogIndex == nil || len(res.Bundles) != 1 || !strings.Contains(string(res.Bundles[0]), "rfc3161Timestamps") {
		t.Fatalf("bundle has no log entry or timestamp: %+v", res)
	}
	otherTSA := signtest.Start(t, testWorkflow).TSAChain
	otherCA, otherLog := otherRoot(t), mustRekorKey(t)
	trust := &TrustRoot{FulcioRoots: []*x509Certificate{ss.Root}, FulcioIntermediates: []*x509Certificate{ss.Intermediate}, RekorKeys: []cryptoPublicKey{ss.RekorKey}, TSAChains: [][]*x509Certificate{ss.TSAChain}}
	id := Identity{Subject: testWorkflow.Identity(), Issuer: ss.IssuerURL}
	envTrust, err := TrustFromEnv(func(k string) string {
		return map[string]string{"SIGSTORE_ROOT_FILE": ss.RootFile, "SIGSTORE_REKOR_PUBLIC_KEY": ss.RekorKeyFile, "SIGSTORE_TSA_CERTIFICATE_FILE": ss.TSAChainFile}[k]
	})
	if err != nil || len(envTrust.TSAChains) != 1 || len(envTrust.TSAChains[0]) != 3 {
		t.Fatalf("TrustFromEnv = %+v, %v", envTrust, err)
	}
	with := func(f func(t *TrustRoot)) *TrustRoot {
		c := *trust
		f(&c)
		return &c
	}
	// tampered: the signature bundle's subject rewritten to another digest.
	victim := pushRandom(t, host, "acme/iris", "victim")
	forged := tamperPayload(t, res.Bundles[0], func(p string) string { return strings.ReplaceAll(p, d.DigestStr()[7:], victim.DigestStr()[7:]) })
	tests := []struct {
		name string
		ref  string
		pol  *Policy
		opts []Option
		want string
	}{
		{"timestamp and log", d.String(), &Policy{Identities: []Identity{id}, Trust: trust, IgnoreSCT: true, Attestations: []AttestationRule{NewAttestationRule("eval")}}, nil, ""},
		{"trust from SIGSTORE_* files", d.String(), &Policy{Identities: []Identity{id}, Trust: envTrust, IgnoreSCT: true, RequireTLog: true}, nil, ""},
		{"timestamp, tlog required", d.String(), &Policy{Identities: []Identity{id}, Trust: trust, IgnoreSCT: true, RequireTLog: true}, nil, ""},
		{"log only (TSA not trusted here)", d.String(), &Policy{Identities: []Identity{id}, Trust: with(func(t *TrustRoot) { t.TSAChains = nil }), IgnoreSCT: true}, nil, ""},
		{"timestamp only (another log's key)", d.String(), &Policy{Identities: []Identity{id}, Trust: with(func(t *TrustRoot) { t.RekorKeys = []cryptoPublicKey{otherLog} }), IgnoreSCT: true}, nil, ""},
		{"another log's key, tlog required", d.String(), &Policy{Identities: []Identity{id}, Trust: with(func(t *TrustRoot) { t.RekorKeys = []cryptoPublicKey{otherLog} }), IgnoreSCT: true, RequireTLog: true}, nil, "not signed by identity"},
		{"another TSA", d.String(), &Policy{Identities: []Identity{id}, Trust: with(func(t *TrustRoot) { t.TSAChains = [][]*x509Certificate{otherTSA} }), IgnoreSCT: true}, nil, "not signed by identity"},
		{"another identity", d.String(), &Policy{Identities: []Identity{{Subject: "https://github.com/acme/iris/.github/workflows/other.yml@refs/heads/main", Issuer: ss.IssuerURL}}, Trust: trust, IgnoreSCT: true}, nil, "not signed by identity"},
		{"untrusted CA", d.String(), &Policy{Identities: []Identity{id}, Trust: with(func(t *TrustRoot) { t.FulcioRoots = []*x509Certificate{otherCA} }), IgnoreSCT: true}, nil, "not signed by identity"},
		{"SCT required", d.String(), &Policy{Identities: []Identity{id}, Trust: with(func(t *TrustRoot) { t.CTLogKeys = []cryptoPublicKey{otherLog} })}, nil, "not signed by identity"},
		{"tampered DSSE payload", victim.String(), &Policy{Identities: []Identity{id}, Trust: trust, IgnoreSCT: true}, []Option{WithExtraBundles(forged)}, "not signed by identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := Verify(bg, tt.ref, tt.pol, tt.opts...)
			if tt.want != "" {
				refusal(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sig := v.Signatures[0]
			if sig.Signer != testWorkflow.Identity() || sig.Issuer != ss.IssuerURL || sig.SignedAt.IsZero() || sig.Format != "bundle" {
				t.Errorf("verified signature = %+v", sig)
			}
		})
	}
}

// TestKeyedBundleTimestampAndLog: a key-signed bundle with a Rekor entry
// and a TSA timestamp; the policy decides which must verify.
func TestKeyedBundleTimestampAndLog(t *testing.T) {
	t.Parallel()
	ss := signtest.Start(t, testWorkflow)
	host := testenv.InProcessRegistry(t)
	d := pushRandom(t, host, "acme/iris", "v1")
	keyPath, pubPath := keyPair(t, "cosign")
	s := keySigner(t, keyPath, WithTLogUpload(ss.RekorURL), WithTimestampServer(ss.TSAURL))
	if _, err := Sign(bg, d.String(), s, WithFormat(FormatBundle)); err != nil {
		t.Fatal(err)
	}
	key := pubKey(t, pubPath)
	otherTSA := signtest.Start(t, testWorkflow).TSAChain
	rekor := []cryptoPublicKey{ss.RekorKey}
	tests := []struct {
		name     string
		pol      *Policy
		want     string
		wantTLog bool
	}{
		{"key only", &Policy{Keys: []PublicKey{key}}, "", false},
		{"tlog required", &Policy{Keys: []PublicKey{key}, RequireTLog: true, Trust: &TrustRoot{RekorKeys: rekor}}, "", true},
		{"tlog required, another log key", &Policy{Keys: []PublicKey{key}, RequireTLog: true, Trust: &TrustRoot{RekorKeys: []cryptoPublicKey{mustRekorKey(t)}}}, "not signed by key cosign.pub", false},
		{"trusted TSA", &Policy{Keys: []PublicKey{key}, Trust: &TrustRoot{TSAChains: [][]*x509Certificate{ss.TSAChain}}, MaxAge: time.Hour}, "", false},
		{"another TSA", &Policy{Keys: []PublicKey{key}, Trust: &TrustRoot{TSAChains: [][]*x509Certificate{otherTSA}}}, "not signed by key cosign.pub", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := Verify(bg, d.String(), tt.pol)
			if tt.want != "" {
				refusal(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sig := v.Signatures[0]; sig.TLog != tt.wantTLog || sig.SignedAt.IsZero() || sig.KeyFingerprint != key.Fingerprint() {
				t.Errorf("verified signature = %+v", sig)
			}
		})
	}
}
