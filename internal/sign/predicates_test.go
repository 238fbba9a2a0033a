package sign

import (
	"strings"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/oci/static"
)

func TestTokenSubject(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return "h." + b64url(s) + ".s" }
	tests := []struct{ tok, want, err string }{
		{enc(`{"sub":"repo:a/b:ref:refs/heads/main"}`), "repo:a/b:ref:refs/heads/main", ""},
		{enc(`{"sub":"x","email":"me@example.com"}`), "me@example.com", ""},
		{enc(`{}`), "", "neither sub nor email"},
		{"nodots", "", "not a JWT"},
		{"a.!!!.c", "", "decoding"},
	}
	for _, tt := range tests {
		got, err := tokenSubject(tt.tok)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("tokenSubject(%q) err = %v, want %q", tt.tok, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("tokenSubject(%q) = %q, %v; want %q", tt.tok, got, err, tt.want)
		}
	}
}

// FuzzDecodeStatement feeds legacy attestation and signature layers as
// they come from a registry (untrusted) to their conversion into bundles
// and to the subject and time checks.
func FuzzDecodeStatement(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"` + b64std(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"ab"}}],"predicateType":"p","predicate":{}}`) + `","signatures":[]}`))
	f.Add([]byte(`{"payload":"!!"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		att, err := static.NewAttestation(b)
		if err != nil {
			return
		}
		h := mustHash(t).String()
		if fb := legacyBundle("fuzz", att, true); fb.err == nil {
			_ = subjectIs(fb.st, h)
		}
		_ = simpleSubject(b, h)
		_ = simpleTime(b)
	})
}

func FuzzTokenSubject(f *testing.F) {
	f.Add("a.eyJzdWIiOiJ4In0.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = tokenSubject(s)
	})
}
