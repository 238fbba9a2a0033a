// Package githubtest is an in-memory GitHub REST API emulator for tests.
//
// New starts an HTTP server on 127.0.0.1 that keeps state for the endpoints
// mlship uses (issues, labels and issue comments, check runs and annotations,
// commit statuses, deployments and their statuses, pull requests and
// reviews, commit → pull request lookup, team memberships, JIT runner
// configuration, workflow dispatches, artifact attestations, repository
// metadata) and checks every request and every response against GitHub's
// official OpenAPI description (testdata/rest-api.github.com.json.gz,
// MIT-licensed, from github/rest-api-description). An unknown path, a wrong
// method, a bad body or a response that does not match the schema reports a
// test error (t.Errorf) and answers 4xx/5xx; so does a valid GitHub
// operation the emulator does not implement (add a handler in handlers.go).
// The description is parsed once per test binary (a few seconds).
//
//	s := githubtest.New(t)                   // s.URL ends with "/", s.Token
//	pr := s.AddPullRequest("acme", "iris", githubtest.PullRequest{User: "alice"})
//	gh := github.NewClient(nil).WithAuthToken(s.Token); gh.BaseURL, _ = url.Parse(s.URL)
//	// ... or, for a child process (act, the mlship binary): cmd.Env = append(cmd.Env, s.Env()...)
//	s.Comments("acme", "iris", pr.Number)   // what was posted
//
// Behaviour follows api.github.com where it matters to mlship: any
// owner/repo exists; comments need an existing issue or pull request
// (AddIssue, AddPullRequest); check-run annotations accumulate over updates;
// creating a deployment checks commit statuses unless required_contexts is
// []; a successful deployment status marks earlier ones of the environment
// inactive; list endpoints paginate with Link headers; GitHub's size limits
// answer 422; labels named on an issue are created on demand; an artifact
// attestation is filed under the subject digests read from its bundle (the
// in-toto statement in the DSSE envelope, or a message signature's digest;
// a bundle it cannot read answers 422; signatures are not checked) and
// listed per repository or per owner (orgs/users, what `gh attestation
// verify --owner` reads) with cursor pagination and GitHub's predicate_type
// short names;
// Dispatches, Attestations, Issues and Labels return what was recorded.
// InjectFault and SecondaryRateLimit simulate failures for
// retry tests. PullRequestEvent and PushEvent build event payloads, and
// ValidateWebhook checks any payload, against the webhooks description.
package githubtest
