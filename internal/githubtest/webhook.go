package githubtest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// ValidateWebhook checks an event payload (as written to the file gha.VarEventPath
// names, or delivered to a webhook) against GitHub's webhooks description. event is
// the X-GitHub-Event name ("pull_request", "push", "workflow_dispatch");
// for events with actions, the payload's "action" picks the schema
// ("pull_request" + "opened" → pull-request-opened). Mismatches are reported
// with tb.Errorf; the returned error says the same, for callers that want it.
func ValidateWebhook(tb testing.TB, event string, payload []byte) error {
	tb.Helper()
	err := validateWebhook(event, payload)
	if err != nil {
		tb.Errorf("%v", err)
	}
	return err
}

func validateWebhook(event string, payload []byte) error {
	doc, err := loadWebhooks()
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return fmt.Errorf("githubtest: %s payload is not JSON: %w", event, err)
	}
	m, _ := v.(map[string]any)
	base := strings.ReplaceAll(event, "_", "-")
	key := base
	if action, ok := m["action"].(string); ok && doc.Webhooks[base+"-"+strings.ReplaceAll(action, "_", "-")] != nil {
		key = base + "-" + strings.ReplaceAll(action, "_", "-")
	}
	item := doc.Webhooks[key]
	if item == nil || item.Post == nil || item.Post.RequestBody == nil || item.Post.RequestBody.Value == nil {
		var known []string
		for k := range doc.Webhooks {
			if strings.HasPrefix(k, base) {
				known = append(known, k)
			}
		}
		sort.Strings(known)
		return fmt.Errorf("githubtest: no webhook %q (event %q) in GitHub's webhooks description; known: %s", key, event, strings.Join(known, ", "))
	}
	mt := item.Post.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return fmt.Errorf("githubtest: webhook %q has no JSON schema", key)
	}
	if err := mt.Schema.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("githubtest: %s payload does not match GitHub's webhook schema %q:\n%w", event, key, err)
	}
	return nil
}
