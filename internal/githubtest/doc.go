// Package githubtest is an in-memory GitHub REST API emulator for tests.
//
// New starts an HTTP server on 127.0.0.1 that keeps state for the endpoints
// mlship uses (issue comments, check runs, commit statuses, deployments and
// their statuses, pull requests and reviews, team memberships, JIT runner
// configuration) and checks every request and every response against
// GitHub's official OpenAPI description (testdata/rest-api.github.com.json.gz,
// MIT-licensed, from github/rest-api-description). An unknown path, a wrong
// method, a bad body or a response that does not match the schema reports a
// test error and answers 4xx/5xx. ValidateWebhook checks event payloads
// against the webhooks description.
package githubtest
