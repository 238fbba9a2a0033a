package githubtest

import (
	"net/http"
	"strings"
	"testing"
)

// TestUnknownIDsAreNotFound: every handler on one resource answers 404 for
// an id or number that names nothing, as api.github.com does, and changes
// nothing.
func TestUnknownIDsAreNotFound(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.AddPullRequest("o", "r", PullRequest{HeadSHA: strings.Repeat("a", 40)})
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/repos/o/r/issues/99/comments", ""},
		{"POST", "/repos/o/r/issues/99/comments", `{"body":"x"}`},
		{"GET", "/repos/o/r/issues/comments/12345", ""},
		{"PATCH", "/repos/o/r/issues/comments/12345", `{"body":"x"}`},
		{"DELETE", "/repos/o/r/issues/comments/12345", ""},
		{"GET", "/repos/o/r/check-runs/12345", ""},
		{"PATCH", "/repos/o/r/check-runs/12345", `{"status":"completed","conclusion":"success"}`},
		{"GET", "/repos/o/r/check-runs/12345/annotations", ""},
		{"GET", "/repos/o/r/deployments/12345", ""},
		{"POST", "/repos/o/r/deployments/12345/statuses", `{"state":"success"}`},
		{"GET", "/repos/o/r/deployments/12345/statuses", ""},
		{"GET", "/repos/o/r/pulls/99", ""},
		{"PATCH", "/repos/o/r/pulls/99", `{"title":"x"}`},
		{"GET", "/repos/o/r/pulls/99/reviews", ""},
		{"POST", "/repos/o/r/pulls/99/reviews", `{"event":"COMMENT","body":"x"}`},
	} {
		req, _ := http.NewRequest(tt.method, strings.TrimSuffix(s.URL, "/")+tt.path, strings.NewReader(tt.body))
		req.Header.Set("Authorization", "Bearer "+s.Token)
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", tt.method, tt.path, resp.StatusCode)
		}
	}
	if n := len(s.Comments("o", "r", 1)); n != 0 {
		t.Errorf("%d comments after refused requests", n)
	}
}
