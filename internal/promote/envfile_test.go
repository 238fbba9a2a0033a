package promote

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)
)

func TestSetEnvironment(t *testing.T) {
	t.Parallel()
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, in string
		env            string
		st             spec.EnvState
		want           []string // substrings of the result, whitespace-collapsed
		gone           []string
	}{
		{"cue keeps comments and other environments", "environments.cue",
			"package mlship\n\n// what runs where\nenvironments: {\n\t// the dev cluster\n\tdev: digest: \"" + digestA + "\"\n\tstaging: {digest: \"" + digestA + "\", version: \"0.9.0\"}\n}\n",
			"staging", spec.EnvState{Digest: digestB},
			[]string{"package mlship", "// what runs where", "// the dev cluster", `dev: digest: "` + digestA + `"`, `digest: "` + digestB + `"`},
			[]string{"0.9.0"}},
		{"cue adds an environment", "environments.cue", "environments: dev: digest: \"" + digestA + "\"\n",
			"prod-eu", spec.EnvState{Digest: digestB, Version: "1.0.0", PromotedBy: "octocat"},
			[]string{`"prod-eu": {`, `digest: "` + digestB + `"`, `version: "1.0.0"`, `promotedBy: "octocat"`, `dev: digest: "` + digestA + `"`}, nil},
		{"new cue file", "environments.cue", "", "dev", spec.EnvState{Digest: digestA},
			[]string{`environments: { dev: { digest: "` + digestA + `"`}, nil},
		{"json keeps unknown fields", "environments.json",
			`{"environments": {"dev": {"digest": "` + digestA + `", "note": "keep"}}, "x": 1}`,
			"dev", spec.EnvState{Digest: digestB, Version: "1.2.3"},
			[]string{`"digest": "` + digestB + `"`, `"note": "keep"`, `"x": 1`, `"version": "1.2.3"`}, []string{digestA}},
		{"yaml", "environments.yaml", "environments:\n  dev:\n    digest: \"" + digestA + "\"\n",
			"staging", spec.EnvState{Digest: digestB},
			[]string{"dev:", "digest: " + digestA, "staging:", "digest: " + digestB}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := SetEnvironment(tt.file, []byte(tt.in), tt.env, tt.st)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(strings.Fields(string(out)), " ")
			for _, w := range tt.want {
				if !strings.Contains(got, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("result lacks %q:\n%s", w, out)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("result still has %q:\n%s", g, out)
				}
			}
			e, err := l.ParseEnvironments(tt.file, out)
			if err != nil {
				t.Fatalf("the result does not parse: %v\n%s", err, out)
			}
			if e.Environments[tt.env].Digest != tt.st.Digest || e.Environments[tt.env].Version != tt.st.Version {
				t.Errorf("parsed %+v", e.Environments[tt.env])
			}
		})
	}
}

func TestSetEnvironmentErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ file, in, env, digest string }{
		{"e.cue", "environments: {", "dev", digestA},
		{"e.json", "[1, 2]", "dev", digestA},
		{"e.json", "{", "dev", digestA},
		{"e.cue", "", "", digestA},
		{"e.cue", "", "dev", ""},
	} {
		if _, err := SetEnvironment(tt.file, []byte(tt.in), tt.env, spec.EnvState{Digest: tt.digest}); err == nil {
			t.Errorf("SetEnvironment(%s, %q, %q): no error", tt.file, tt.in, tt.env)
		}
	}
}

// FuzzSetEnvironment: any file content gives a result or an error, never a
// panic; a result always parses back with the digest set.
func FuzzSetEnvironment(f *testing.F) {
	l, err := spec.NewLoader()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("environments.cue", "environments: dev: digest: \""+digestA+"\"\n")
	f.Add("environments.json", `{"environments": {"dev": {"digest": "`+digestA+`"}}}`)
	f.Add("environments.yaml", "environments:\n  dev: {digest: x}\n")
	f.Add("environments.cue", "environments: dev: 1\n")
	f.Fuzz(func(t *testing.T, file, in string) {
		switch file {
		case "environments.cue", "environments.json", "environments.yaml":
		default:
			file = "environments.cue"
		}
		out, err := SetEnvironment(file, []byte(in), "staging", spec.EnvState{Digest: digestB})
		if err != nil {
			return
		}
		if e, err := l.ParseEnvironments(file, out); err == nil && e.Environments["staging"].Digest != digestB {
			t.Errorf("staging digest %q after the edit of %q", e.Environments["staging"].Digest, in)
		}
	})
}

// TestPlanMarkdownGolden renders a fixed plan.
func TestPlanMarkdownGolden(t *testing.T) {
	t.Parallel()
	pl := &Plan{Model: "iris", Repository: "ghcr.io/acme/iris", Mode: ModePlan, Base: strings.Repeat("1", 40), Head: strings.Repeat("2", 40), File: "mlship/environments.cue", PullRequest: 7,
		Envs: []EnvPlan{
			{Environment: "staging", From: digestA, To: digestB, Version: "1.2.0", Tag: "ghcr.io/acme/iris:staging", Rules: []Rule{
				{RuleDigestExists, Pass, "ghcr.io/acme/iris@" + digestB + " (version 1.2.0)"},
				{RuleSignature, Pass, "signed by key cosign.pub"},
				{RuleAttestations, Pass, "eval passed with gates accuracy ≥ 0.85"},
				{RuleOrder, Pass, "dev ran it (desired state at 111111111111)"},
				{RuleApprovals, Pass, "none required"},
			}},
			{Environment: "prod", To: digestB, Version: "1.2.0", Tag: "ghcr.io/acme/iris:prod", Rules: []Rule{
				{RuleDigestExists, Pass, "ghcr.io/acme/iris@" + digestB},
				{RuleSignature, Pass, "signed by key cosign.pub"},
				{RuleAttestations, Fail, "eval gate failed: accuracy 0.87 < 0.9"},
				{RuleOrder, Fail, "staging has not run " + digestB},
				{RuleApprovals, Pending, "0 of 1 required approval(s) on #7 from alice | bob"},
			}},
		}}
	pl.finish()
	got := pl.Markdown()
	golden := filepath.Join("testdata", "plan.md")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPlanMarkdownGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("markdown differs from %s (go test -update to accept):\n%s", golden, got)
	}
	if pl.OK || pl.Conclusion() != "failure" || len(pl.Failures()) != 2 {
		t.Errorf("ok=%t conclusion=%s failures=%v", pl.OK, pl.Conclusion(), pl.Failures())
	}
	if msg := pl.Err().Error(); !strings.Contains(msg, "prod: order: staging has not run "+digestB) {
		t.Errorf("refusal %q", msg)
	}
}
