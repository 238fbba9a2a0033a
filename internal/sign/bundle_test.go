package sign

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/mlship/mlship/internal/testenv"
)

// registries are the two ways a registry lists referrers: the in-process
// registry without the referrers API (mlship falls back to the referrers
// tag schema) and with it.
func registries(t *testing.T) map[string]string {
	return map[string]string{
		"tag schema":    testenv.InProcessRegistry(t),
		"referrers API": testenv.InProcessRegistry(t, registry.WithReferrersSupport(true)),
	}
}

// tamperPayload rewrites the statement inside a bundle's DSSE envelope
// (the signature is left as it was).
func tamperPayload(t *testing.T, bundle []byte, edit func(string) string) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	p, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	q := edit(string(p))
	if q == string(p) {
		t.Fatal("tampering changed nothing")
	}
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(q))
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBundleRefusals signs and attests in the Sigstore bundle format only
// and checks Verify accepts what it should and refuses each attack, on
// both kinds of registry.
func TestBundleRefusals(t *testing.T) {
	t.Parallel()
	for regName, host := range registries(t) {
		t.Run(regName, func(t *testing.T) {
			t.Parallel()
			keyPath, pubPath := keyPair(t, "cosign")
			otherKey, _ := keyPair(t, "other")
			s := keySigner(t, keyPath)
			key := pubKey(t, pubPath)
			bundleOnly := WithFormat(FormatBundle)
			o := makeOptions(nil)

			good := pushRandom(t, host, "acme/iris", "good")
			sres, err := Sign(bg, good.String(), s, bundleOnly)
			if err != nil {
				t.Fatal(err)
			}
			if sres.Tag != "" || len(sres.Bundles) != 1 || len(sres.Referrers) != 1 {
				t.Fatalf("bundle-only Sign wrote %+v", sres)
			}
			ares, err := Attest(bg, good.String(), s, EvalPredicateType, evalResult(t, 0.95, true), bundleOnly)
			if err != nil {
				t.Fatal(err)
			}

			unsigned := pushRandom(t, host, "acme/iris", "unsigned")

			other := pushRandom(t, host, "acme/iris", "other")
			if _, err := Sign(bg, other.String(), keySigner(t, otherKey), bundleOnly); err != nil {
				t.Fatal(err)
			}

			// replayed: good's signature bundle attached to another digest.
			replayed := pushRandom(t, host, "acme/iris", "replayed")
			if _, err := o.pushBundle(bg, replayed, sres.Bundles[0], SignPredicateType); err != nil {
				t.Fatal(err)
			}

			// tampered: good's signature bundle with its subject rewritten
			// to the victim's digest, attached to the victim.
			tampered := pushRandom(t, host, "acme/iris", "tampered")
			forged := tamperPayload(t, sres.Bundles[0], func(p string) string {
				return strings.ReplaceAll(p, good.DigestStr()[7:], tampered.DigestStr()[7:])
			})
			if _, err := o.pushBundle(bg, tampered, forged, SignPredicateType); err != nil {
				t.Fatal(err)
			}

			// gatefail: validly signed, but the eval attestation's payload
			// flipped from failing to passing.
			gatefail := pushRandom(t, host, "acme/iris", "gatefail")
			if _, err := Sign(bg, gatefail.String(), s, bundleOnly); err != nil {
				t.Fatal(err)
			}
			fres, err := Attest(bg, gatefail.String(), s, EvalPredicateType, evalResult(t, 0.71, false), bundleOnly)
			if err != nil {
				t.Fatal(err)
			}
			flipped := tamperPayload(t, fres.Bundles[0], func(p string) string {
				return strings.ReplaceAll(p, `"passed":false`, `"passed":true`)
			})
			if _, err := o.pushBundle(bg, gatefail, flipped, EvalPredicateType); err != nil {
				t.Fatal(err)
			}

			// attsub: good's eval bundle attached to another signed digest.
			attsub := pushRandom(t, host, "acme/iris", "attsub")
			if _, err := Sign(bg, attsub.String(), s, bundleOnly); err != nil {
				t.Fatal(err)
			}
			if _, err := o.pushBundle(bg, attsub, ares.Bundles[0], EvalPredicateType); err != nil {
				t.Fatal(err)
			}

			keyOnly := &Policy{Keys: []PublicKey{key}}
			withEval := &Policy{Keys: []PublicKey{key}, Attestations: []AttestationRule{NewAttestationRule("eval")}}
			young := &Policy{Keys: []PublicKey{key}, MaxAge: time.Hour}
			later := WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
			tests := []struct {
				name   string
				ref    name.Digest
				policy *Policy
				opts   []Option
				want   string
			}{
				{"signed", good, keyOnly, nil, ""},
				{"signed and attested", good, withEval, nil, ""},
				{"within max age", good, young, nil, ""},
				{"too old", good, young, []Option{later}, "signature too old"},
				{"unsigned", unsigned, keyOnly, nil, "unsigned"},
				{"another key", other, keyOnly, nil, "not signed by key cosign.pub"},
				{"bundle about another digest", replayed, keyOnly, nil, "the signature is for " + good.DigestStr()},
				{"tampered DSSE payload", tampered, keyOnly, nil, "not signed by key cosign.pub"},
				{"tampered eval payload", gatefail, withEval, nil, "eval gate failed"},
				{"eval bundle about another digest", attsub, withEval, nil, "subject is " + good.DigestStr()},
				{"extra bundle about another digest", unsigned, keyOnly, []Option{WithExtraBundles(sres.Bundles[0])}, "the signature is for " + good.DigestStr()},
				{"extra bundle tampered", tampered, keyOnly, []Option{WithExtraBundles(forged)}, "not signed by key cosign.pub"},
				{"extra bundle garbage", unsigned, keyOnly, []Option{WithExtraBundles([]byte(`{"mediaType":"nope"}`))}, "not a Sigstore bundle"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					v, err := Verify(bg, tt.ref.String(), tt.policy, tt.opts...)
					if tt.want != "" {
						refusal(t, err, tt.want)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if v.Signatures[0].Format != "bundle" || v.Signatures[0].KeyFingerprint != key.Fingerprint() || v.Signatures[0].SignedAt.IsZero() {
						t.Errorf("signature = %+v", v.Signatures[0])
					}
					for _, a := range v.Attestations {
						if a.Format != "bundle" {
							t.Errorf("attestation = %+v", a)
						}
					}
				})
			}

			// An artifact whose only signature arrives as an extra bundle
			// (read from GitHub's attestations API) is accepted.
			fresh := pushRandom(t, host, "acme/iris", "fresh")
			r2, err := Sign(bg, fresh.String(), s, bundleOnly)
			if err != nil {
				t.Fatal(err)
			}
			lone := pushRandom(t, host, "acme/iris", "lone")
			st, _ := signStatementJSON(lone, lone.DigestStr()[7:], time.Now().Unix())
			raw, _, err := s.signStatement(bg, st)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(bg, lone.String(), keyOnly, WithExtraBundles(raw)); err != nil {
				t.Fatalf("an extra bundle for the digest was refused: %v", err)
			}
			if _, err := Verify(bg, lone.String(), keyOnly, WithExtraBundles(r2.Bundles[0])); err == nil {
				t.Fatal("an extra bundle about another digest was accepted")
			}
		})
	}
}

// TestFormats checks what each --format writes and that Verify reads it.
func TestFormats(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	keyPath, pubPath := keyPair(t, "cosign")
	s := keySigner(t, keyPath)
	pol := &Policy{Keys: []PublicKey{pubKey(t, pubPath)}, Attestations: []AttestationRule{NewAttestationRule("eval")}}
	for _, f := range []Format{FormatLegacy, FormatBundle, FormatBoth} {
		t.Run(string(f), func(t *testing.T) {
			d := pushRandom(t, host, "acme/iris", string(f))
			r, err := Sign(bg, d.String(), s, WithFormat(f))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Attest(bg, d.String(), s, EvalPredicateType, evalResult(t, 0.95, true), WithFormat(f)); err != nil {
				t.Fatal(err)
			}
			if got := r.Tag != ""; got != f.legacy() {
				t.Errorf("legacy tag written = %v for %s", got, f)
			}
			if got := len(r.Bundles) > 0; got != f.bundle() {
				t.Errorf("bundle written = %v for %s", got, f)
			}
			v, err := Verify(bg, d.String(), pol)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Signatures) != 1 || v.Signatures[0].Format != string(f) || len(v.Attestations) != 1 || v.Attestations[0].Format != string(f) {
				t.Errorf("verified %+v for %s", v, f)
			}
		})
	}
	if _, err := ParseFormat("sigstore"); err == nil {
		t.Error("ParseFormat accepted an unknown format")
	}
}

// FuzzParseBundle: a bundle read from a registry or GitHub is untrusted;
// parsing it (and reading its signing time) never panics, and whatever
// parses without error has a statement.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJqZWN0IjpbeyJkaWdlc3QiOnsic2hhMjU2IjoiYWIifSwiYW5ub3RhdGlvbnMiOnsidGltZXN0YW1wIjoxfX1dfQ==","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fb := parseBundle("fuzz", raw)
		if fb.err == nil {
			if fb.b == nil || fb.st.Type == "" {
				t.Fatalf("parsed without error but incomplete: %+v", fb)
			}
			_ = statementTime(fb.payload)
			_ = subjectIs(fb.st, "sha256:ab")
		}
	})
}
