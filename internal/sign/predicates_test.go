package sign

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/oci/static"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n%s", name, got)
	}
}

func TestProvenancePredicate(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/iris", "GITHUB_SHA": strings.Repeat("a", 40),
		"GITHUB_REF": "refs/heads/main", "GITHUB_WORKFLOW_REF": "acme/iris/.github/workflows/train.yml@refs/heads/main",
		"GITHUB_RUN_ID": "123", "GITHUB_RUN_ATTEMPT": "2",
	}
	in := ProvenanceFromEnv(func(k string) string { return env[k] })
	in.Inputs = []Dataset{{Name: "iris-train", URI: "data/train.csv", Digest: "sha256:" + strings.Repeat("b", 64)}}
	in.Parameters = map[string]any{"specDigest": "sha256:" + strings.Repeat("c", 64)}
	in.StartedOn = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := ProvenancePredicate(in)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden(t, "provenance.golden.json", pretty.Bytes())

	var p struct {
		RunDetails struct {
			Builder  struct{ ID string }           `json:"builder"`
			Metadata struct{ InvocationID string } `json:"metadata"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.RunDetails.Builder.ID != "https://github.com/acme/iris/.github/workflows/train.yml@refs/heads/main" {
		t.Errorf("builder id = %q", p.RunDetails.Builder.ID)
	}
	if p.RunDetails.Metadata.InvocationID != "https://github.com/acme/iris/actions/runs/123/attempts/2" {
		t.Errorf("invocation id = %q", p.RunDetails.Metadata.InvocationID)
	}

	for _, tt := range []struct {
		name string
		in   ProvenanceInput
		want string
	}{
		{"no builder", ProvenanceInput{SourceRepo: "x", SourceCommit: "y"}, "builder id"},
		{"no source", ProvenanceInput{BuilderID: "b"}, "source repository and commit"},
		{"bad input digest", ProvenanceInput{BuilderID: "b", SourceRepo: "x", SourceCommit: "y", Inputs: []Dataset{{Name: "d", Digest: "nohex"}}}, "want algorithm:hex"},
	} {
		if _, err := ProvenancePredicate(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestParseEvalResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"ok", `{"metrics":{"accuracy":0.9},"passed":true}`, ""},
		{"not json", `[`, "not a JSON object"},
		{"no passed", `{"metrics":{"accuracy":0.9}}`, `no "passed"`},
		{"no metrics", `{"passed":true}`, `no "metrics"`},
		{"inconsistent", `{"metrics":{"a":1},"passed":true,"gates":[{"metric":"a","passed":false}]}`, "inconsistent"},
		{"bad dataset digest", `{"metrics":{"a":1},"passed":true,"datasets":[{"name":"d","digest":"abc"}]}`, "want algorithm:hex"},
		{"bad baseline", `{"metrics":{"a":1},"passed":true,"baseline":{"digest":"md5:x"}}`, "baseline digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseEvalResult([]byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheckGates(t *testing.T) {
	t.Parallel()
	p := &EvalPredicate{Metrics: map[string]float64{"accuracy": 0.92, "log_loss": 0.4}, Passed: true}
	tests := []struct {
		name   string
		p      *EvalPredicate
		bounds map[string]Bound
		want   string
	}{
		{"passes", p, map[string]Bound{"accuracy": {Min: floatp(0.9)}, "log_loss": {Max: floatp(0.5)}}, ""},
		{"min", p, map[string]Bound{"accuracy": {Min: floatp(0.95)}}, "accuracy 0.92 < 0.95"},
		{"max", p, map[string]Bound{"log_loss": {Max: floatp(0.3)}}, "log_loss 0.4 > 0.3"},
		{"missing metric", p, map[string]Bound{"f1": {Min: floatp(0.1)}}, "metric f1 is missing"},
		{"recorded failure", &EvalPredicate{Metrics: map[string]float64{"a": 1}, Gates: []GateResult{{Metric: "a", Value: 1, Op: "<=", Bound: 0.5}}}, nil, "a 1 > 0.5"},
		{"recorded failure without gates", &EvalPredicate{Metrics: map[string]float64{"a": 1}}, nil, "passed=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.p.CheckGates(tt.bounds)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tt.want && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPredicateType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"eval": EvalPredicateType, "provenance": ProvenancePredicateType, "slsaprovenance1": ProvenancePredicateType, "https://x/y": "https://x/y"} {
		if got := PredicateType(in); got != want {
			t.Errorf("PredicateType(%q) = %q, want %q", in, got, want)
		}
	}
}

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

func FuzzParseEvalResult(f *testing.F) {
	f.Add([]byte(`{"metrics":{"accuracy":0.9},"passed":true}`))
	f.Add([]byte(`{"metrics":{"a":1},"passed":false,"gates":[{"metric":"a","value":1,"op":">=","bound":2,"passed":false}]}`))
	f.Add([]byte(`{"passed":true,"metrics":{"a":1e309}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseEvalResult(b)
		if err != nil {
			return
		}
		if len(p.Metrics) == 0 {
			t.Fatal("accepted a result without metrics")
		}
		_ = p.CheckGates(map[string]Bound{"a": {Min: floatp(0)}})
	})
}

// FuzzDecodeStatement feeds attestation payloads as they come from a
// registry (untrusted) to the statement decoder and the subject check.
func FuzzDecodeStatement(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"` + b64std(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"ab"}}],"predicateType":"p","predicate":{}}`) + `","signatures":[]}`))
	f.Add([]byte(`{"payload":"!!"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		att, err := static.NewAttestation(b)
		if err != nil {
			return
		}
		_, _ = decodeStatement(att)
		var h = mustHash(t)
		_ = intotoClaim(att, h, nil)
		_ = simpleClaim(att, h, nil)
		_ = signedAt(att, false)
	})
}

func FuzzTokenSubject(f *testing.F) {
	f.Add("a.eyJzdWIiOiJ4In0.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = tokenSubject(s)
	})
}
