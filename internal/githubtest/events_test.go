package githubtest

import (
	"strings"
	"testing"
)

func TestEventsMatchWebhookSchemas(t *testing.T) {
	t.Parallel()
	s := New(t)
	pr := s.AddPullRequest("acme", "iris", PullRequest{User: "alice"})
	for _, action := range []string{"opened", "synchronize", "reopened"} {
		if _, err := s.PullRequestEvent("acme", "iris", pr.Number, action); err != nil {
			t.Errorf("%s: %v", action, err)
		}
	}
	merged := s.AddPullRequest("acme", "iris", PullRequest{User: "alice", Head: "promote", Merged: true})
	if _, err := s.PullRequestEvent("acme", "iris", merged.Number, "closed"); err != nil {
		t.Errorf("closed: %v", err)
	}
	if _, err := s.PushEvent("acme", "iris", "refs/heads/main", strings.Repeat("1", 40), strings.Repeat("2", 40), "bob"); err != nil {
		t.Errorf("push: %v", err)
	}
}

func TestValidateWebhookRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ event, payload, want string }{
		{"pull_request", `{"action":"opened","number":1}`, "does not match"},
		{"push", `{"ref":1}`, "does not match"},
		{"no_such_event", `{}`, "no webhook"},
		{"push", `{`, "not JSON"},
	} {
		err := validateWebhook(tc.event, []byte(tc.payload))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.event, tc.payload, err, tc.want)
		}
	}
}
