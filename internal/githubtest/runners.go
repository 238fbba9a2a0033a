package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// JIT runners.

func generateJITConfig(c *call) {
	r := c.repo()
	var in struct {
		Name          string   `json:"name"`
		RunnerGroupID int64    `json:"runner_group_id"`
		Labels        []string `json:"labels"`
		WorkFolder    string   `json:"work_folder"`
	}
	if !c.decode(&in) {
		return
	}
	if in.WorkFolder == "" {
		in.WorkFolder = "_work"
	}
	for _, j := range r.runners {
		if j.Name == in.Name {
			c.error(http.StatusConflict, fmt.Sprintf("Already exists - A runner with the name %s already exists.", in.Name))
			return
		}
	}
	id := c.s.st.id()
	labels := []any{obj{"id": 1, "name": "self-hosted", "type": "read-only"}}
	for i, l := range in.Labels {
		if strings.EqualFold(l, "self-hosted") {
			continue
		}
		labels = append(labels, obj{"id": i + 2, "name": l, "type": "custom"})
	}
	encoded := encodeJIT(c.s, r, id, in.Name, in.RunnerGroupID, in.WorkFolder)
	j := JITConfig{Owner: r.owner, Repo: r.name, RunnerID: id, Name: in.Name, Labels: slices.Clone(in.Labels), RunnerGroupID: in.RunnerGroupID, WorkFolder: in.WorkFolder, EncodedConfig: encoded}
	r.runners = append(r.runners, &j)
	c.s.st.jit = append(c.s.st.jit, j)
	c.json(http.StatusCreated, obj{
		"runner": obj{"id": id, "runner_group_id": in.RunnerGroupID, "name": in.Name, "os": "unknown", "status": "offline",
			"busy": false, "labels": labels, "ephemeral": true},
		"encoded_jit_config": encoded,
	})
}

// encodeJIT builds a configuration shaped like GitHub's: base64 of a JSON
// object holding the runner's .runner, .credentials and
// .credentials_rsaparams files, each base64-encoded.
func encodeJIT(s *Server, r *repo, id int64, name string, group int64, work string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.StdEncoding.EncodeToString(b)
	}
	files := map[string]string{
		".runner": enc(map[string]any{
			"AgentId": id, "AgentName": name, "PoolId": group, "PoolName": "Default",
			"ServerUrl": s.api() + "/_services/pipelines/", "GitHubUrl": htmlBase + "/" + r.owner + "/" + r.name,
			"WorkFolder": work, "Ephemeral": true,
		}),
		".credentials": enc(map[string]any{
			"Scheme": "OAuthAccessToken", "Data": map[string]string{"clientId": fakeSHA(name)[:32], "authorizationUrl": s.api() + "/_apis/oauth2/token"},
		}),
		".credentials_rsaparams": enc(map[string]string{"d": "githubtest", "modulus": "githubtest", "exponent": "AQAB"}),
	}
	return enc(files)
}
