package attest

import (
	"encoding/base64"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestPredicateType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"eval": EvalType, "provenance": ProvenanceType, "slsaprovenance1": ProvenanceType, "slsa": ProvenanceType, "promotion": PromotionType, "https://x/y": "https://x/y"} {
		if got := PredicateType(in); got != want {
			t.Errorf("PredicateType(%q) = %q, want %q", in, got, want)
		}
		if got := ShortName(PredicateType(in)); PredicateType(got) != want {
			t.Errorf("ShortName(%q) = %q does not map back", want, got)
		}
	}
}

func TestDecodeEnvelope(t *testing.T) {
	t.Parallel()
	st := `{"_type":"` + StatementType + `","subject":[{"name":"x","digest":{"sha256":"ab"}}],"predicateType":"` + EvalType + `","predicate":{"passed":true}}`
	tests := []struct{ name, in, want string }{
		{"ok", `{"payloadType":"application/vnd.in-toto+json","payload":"` + b64(st) + `","signatures":[]}`, ""},
		{"not json", `[`, "not a DSSE envelope"},
		{"not base64", `{"payload":"!!"}`, "not base64"},
		{"not a statement", `{"payload":"` + b64(`[1]`) + `"}`, "not an in-toto statement"},
		{"empty payload", `{"payload":""}`, "not an in-toto statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeEnvelope([]byte(tt.in))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.PredicateType != EvalType || len(got.Subject) != 1 || got.Subject[0].Digest["sha256"] != "ab" {
				t.Fatalf("statement = %+v", got)
			}
		})
	}
}

// FuzzDecodeEnvelope feeds attestation payloads as they come from a
// registry (untrusted) to the one statement decoder.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"` + b64(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"ab"}}],"predicateType":"p","predicate":{}}`) + `","signatures":[]}`))
	f.Add([]byte(`{"payload":"!!"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeEnvelope(b)
		if err != nil && (st.PredicateType != "" || st.Subject != nil) {
			t.Fatalf("statement %+v returned with error %v", st, err)
		}
	})
}
