package githubtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// testStatementBundle returns a DSSE Sigstore bundle whose in-toto
// statement is about digests (hex sha256), with predicate type pt. The
// signature is not a real one: GitHub's store files a bundle by what it
// says; verifiers check the signature.
func testStatementBundle(pt string, digests ...string) string {
	var subj []map[string]any
	for i, d := range digests {
		subj = append(subj, map[string]any{"name": fmt.Sprintf("model-%d", i), "digest": map[string]string{"sha256": d}})
	}
	st, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "subject": subj, "predicateType": pt, "predicate": map[string]any{}})
	b, _ := json.Marshal(map[string]any{
		"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": "k"}},
		"dsseEnvelope": map[string]any{
			"payload": base64.StdEncoding.EncodeToString(st), "payloadType": "application/vnd.in-toto+json",
			"signatures": []any{map[string]any{"sig": base64.StdEncoding.EncodeToString([]byte("sig")), "keyid": ""}},
		},
	})
	return string(b)
}

func hexDigest(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func doJSON(t *testing.T, s *Server, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, strings.TrimSuffix(s.URL, "/")+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestCreateAttestationReadsSubject(t *testing.T) {
	t.Parallel()
	d1, d2 := hexDigest("a"), hexDigest("b")
	raw32 := sha256.Sum256([]byte("m"))
	msgSig := `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"k"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"` + base64.StdEncoding.EncodeToString(raw32[:]) + `"},"signature":"c2ln"}}`
	badPayload := strings.Replace(testStatementBundle("x", d1), `"payload":"`, `"payload":"!!`, 1)
	tests := []struct {
		name     string
		bundle   string
		want     int
		subjects []string
		errPart  string
	}{
		{"dsse two subjects", testStatementBundle("https://slsa.dev/provenance/v1", d1, d2), 201, []string{"sha256:" + d1, "sha256:" + d2}, ""},
		{"message signature", msgSig, 201, []string{"sha256:" + hex.EncodeToString(raw32[:])}, ""},
		{"not a bundle media type", strings.Replace(testStatementBundle("x", d1), "application/vnd.dev.sigstore.bundle.v0.3+json", "application/json", 1), 422, nil, "mediaType"},
		{"no verification material", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{}}`, 422, nil, "verificationMaterial"},
		{"neither content", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"x":1}}`, 422, nil, "neither"},
		{"payload not base64", badPayload, 422, nil, "base64"},
		{"upper-case digest", testStatementBundle("x", strings.ToUpper(d1)), 422, nil, "hex"},
		{"short digest", testStatementBundle("x", "abc"), 422, nil, "hex"},
		{"no subjects", testStatementBundle("x"), 422, nil, "no subject"},
		{"other payload type", strings.Replace(testStatementBundle("x", d1), "application/vnd.in-toto+json", "text/plain", 1), 422, nil, "payloadType"},
		{"bad message digest", strings.Replace(msgSig, "SHA2_256", "MD5", 1), 422, nil, "algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(t)
			status, body, _ := doJSON(t, s, "POST", "/repos/o/r/attestations", `{"bundle":`+tt.bundle+`}`)
			if status != tt.want {
				t.Fatalf("status %d (%s), want %d", status, body, tt.want)
			}
			got := s.Attestations("o", "r")
			if tt.want != 201 {
				if len(got) != 0 || !strings.Contains(body, tt.errPart) || !strings.Contains(body, "Validation Failed") {
					t.Fatalf("refusal stored %d or body %s lacks %q", len(got), body, tt.errPart)
				}
				return
			}
			if len(got) != 1 || fmt.Sprint(got[0].Subjects) != fmt.Sprint(tt.subjects) {
				t.Fatalf("stored %+v, want subjects %v", got, tt.subjects)
			}
		})
	}
}

func TestListAttestations(t *testing.T) {
	t.Parallel()
	s := New(t)
	d, other := hexDigest("model"), hexDigest("other")
	types := []string{"https://slsa.dev/provenance/v1", "https://spdx.dev/Document/v2.3", "https://mlship.dev/attestations/promotion/v1"}
	for i := 0; i < 45; i++ {
		if st, body, _ := doJSON(t, s, "POST", "/repos/o/r/attestations", `{"bundle":`+testStatementBundle(types[i%3], d)+`}`); st != 201 {
			t.Fatalf("create: %d %s", st, body)
		}
	}
	doJSON(t, s, "POST", "/repos/o/r/attestations", `{"bundle":`+testStatementBundle(types[0], other)+`}`)
	// Another repository's attestations are not listed.
	doJSON(t, s, "POST", "/repos/o/elsewhere/attestations", `{"bundle":`+testStatementBundle(types[0], d)+`}`)

	count := func(query string) (int, int) {
		t.Helper()
		n, pages := 0, 0
		next := "/repos/o/r/attestations/sha256:" + d + query
		for next != "" {
			st, body, h := doJSON(t, s, "GET", next, "")
			if st != 200 {
				t.Fatalf("GET %s: %d %s", next, st, body)
			}
			var out struct {
				Attestations []struct {
					Bundle       json.RawMessage `json:"bundle"`
					RepositoryID int64           `json:"repository_id"`
				} `json:"attestations"`
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatal(err)
			}
			for _, a := range out.Attestations {
				if !strings.Contains(string(a.Bundle), "dsseEnvelope") {
					t.Fatalf("bundle not returned: %s", a.Bundle)
				}
			}
			n += len(out.Attestations)
			pages++
			next = ""
			if l := h.Get("Link"); strings.Contains(l, `rel="next"`) {
				u := l[strings.Index(l, "<")+1 : strings.Index(l, ">")]
				next = u[strings.Index(u, "/repos/"):]
			}
		}
		return n, pages
	}
	tests := []struct {
		query       string
		want, pages int
	}{
		{"?per_page=20", 45, 3},
		{"", 45, 2},
		{"?per_page=100&predicate_type=provenance", 15, 1},
		{"?predicate_type=sbom", 15, 1},
		{"?predicate_type=https://mlship.dev/attestations/promotion/v1", 15, 1},
		{"?predicate_type=https://mlship.dev/attestations/promotion", 0, 1},
	}
	for _, tt := range tests {
		if n, p := count(tt.query); n != tt.want || p != tt.pages {
			t.Errorf("list%s: %d attestations in %d pages, want %d in %d", tt.query, n, p, tt.want, tt.pages)
		}
	}
	if st, body, _ := doJSON(t, s, "GET", "/repos/o/r/attestations/sha256:"+hexDigest("none"), ""); st != 200 || body != `{"attestations":[]}` {
		t.Errorf("unknown digest: %d %s", st, body)
	}
	if st, _, _ := doJSON(t, s, "GET", "/repos/o/r/attestations/sha256:"+d+"?after=bogus", ""); st != 400 {
		t.Errorf("bad cursor: %d, want 400", st)
	}
}

func TestWorkflowDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, workflow, body string
		declared             []string
		want                 int
		violation            string
	}{
		{"file name", "retrain.yml", `{"ref":"main","inputs":{"model":"iris","n":3,"force":true}}`, nil, 204, ""},
		{"numeric id", "123", `{"ref":"main"}`, nil, 204, ""},
		{"run details", "retrain.yml", `{"ref":"main","return_run_details":true}`, nil, 200, ""},
		{"ref missing", "retrain.yml", `{"inputs":{}}`, nil, 422, "request does not match"},
		{"26 inputs", "retrain.yml", `{"ref":"main","inputs":{` + manyInputs(26) + `}}`, nil, 422, "request does not match"},
		{"object input", "retrain.yml", `{"ref":"main","inputs":{"x":{"y":1}}}`, nil, 422, ""},
		{"undeclared workflow", "nope.yml", `{"ref":"main"}`, []string{"retrain.yml"}, 404, ""},
		{"declared workflow", "retrain.yml", `{"ref":"main"}`, []string{"retrain.yml"}, 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v violations
			s := New(t, WithViolationHandler(v.add))
			if tt.declared != nil {
				s.SetWorkflows("o", "r", tt.declared...)
			}
			st, body, _ := doJSON(t, s, "POST", "/repos/o/r/actions/workflows/"+tt.workflow+"/dispatches", tt.body)
			if st != tt.want {
				t.Fatalf("status %d (%s), want %d", st, body, tt.want)
			}
			got := v.all()
			if tt.violation == "" && len(got) != 0 || tt.violation != "" && (len(got) != 1 || !strings.Contains(got[0], tt.violation)) {
				t.Errorf("violations = %q, want %q", got, tt.violation)
			}
			ds := s.Dispatches("o", "r")
			if ok := st < 300; ok != (len(ds) == 1) {
				t.Fatalf("dispatches = %+v after status %d", ds, st)
			}
			if len(ds) == 1 && (ds[0].Workflow != tt.workflow || ds[0].Ref != "main") {
				t.Fatalf("dispatch = %+v", ds[0])
			}
		})
	}
}

func manyInputs(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf(`"i%d":"v"`, i))
	}
	return strings.Join(parts, ",")
}

// `gh attestation verify --owner OWNER` reads the owner-wide lists.
func TestOwnerAttestations(t *testing.T) {
	t.Parallel()
	s := New(t)
	d := hexDigest("model")
	for _, r := range []string{"/repos/acme/a", "/repos/acme/b", "/repos/other/a"} {
		if st, body, _ := doJSON(t, s, "POST", r+"/attestations", `{"bundle":`+testStatementBundle("https://slsa.dev/provenance/v1", d)+`}`); st != 201 {
			t.Fatalf("%s: %d %s", r, st, body)
		}
	}
	for _, path := range []string{"/orgs/acme/attestations/sha256:" + d, "/users/acme/attestations/sha256:" + d + "?predicate_type=provenance"} {
		st, body, _ := doJSON(t, s, "GET", path, "")
		var out struct {
			Attestations []struct {
				RepositoryID int64 `json:"repository_id"`
			} `json:"attestations"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || st != 200 {
			t.Fatalf("%s: %d %s", path, st, body)
		}
		if len(out.Attestations) != 2 || out.Attestations[0].RepositoryID == out.Attestations[1].RepositoryID {
			t.Errorf("%s: %s, want one from each of acme's two repositories", path, body)
		}
	}
	// The DELETE by id shares the path shape; it is not emulated.
	var v violations
	s2 := New(t, WithViolationHandler(v.add))
	if st, _, _ := doJSON(t, s2, "DELETE", "/orgs/acme/attestations/42", ""); st == 204 || len(v.all()) != 1 {
		t.Errorf("DELETE by id: status %d, violations %q", st, v.all())
	}
}
