package gha

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAnnotate(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		an   Annotation
		want string
	}{
		{"outside actions", nil, Annotation{File: "a.cue", Line: 1, Message: "x"}, ""},
		{"error order", map[string]string{"GITHUB_ACTIONS": "true"}, Annotation{File: "a.cue", Line: 3, Col: 7, Message: "bad"}, "::error file=a.cue,line=3,col=7::bad\n"},
		{"escaping", map[string]string{"GITHUB_ACTIONS": "true"}, Annotation{Level: "warning", File: "a,b:c.cue", Title: "t", Message: "50%\nnext"}, "::warning file=a%2Cb%3Ac.cue,title=t::50%25%0Anext\n"},
		{"workspace relative", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws}, Annotation{File: filepath.Join(ws, "m", "model.cue"), Line: 1, Message: "m"}, "::error file=m/model.cue,line=1::m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			New(&b, env(tt.env)).Annotate(tt.an)
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestSetOutput(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	r := New(&bytes.Buffer{}, env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": out}))
	if err := r.SetOutput("digest", "sha256:abc"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetOutput("evil", "x\n"+outputDelimiter+"\ninjected=1"); err == nil {
		t.Error("a value holding the heredoc delimiter was accepted")
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "digest<<") || strings.Contains(string(b), "injected") {
		t.Errorf("GITHUB_OUTPUT = %q", b)
	}
	bad := New(&bytes.Buffer{}, env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(t.TempDir(), "missing", "dir", "out")}))
	if err := bad.SetOutput("k", "v"); err == nil {
		t.Error("an unwritable GITHUB_OUTPUT gave no error")
	}
}
