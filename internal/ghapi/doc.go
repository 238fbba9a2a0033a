// Package ghapi is mlship's GitHub REST client: the few calls the steps make
// (sticky pull-request comment, check runs, deployments, reviews, team
// membership, promotion pull requests, JIT runner configuration) on top of
// go-github, with bounded retries, GitHub's size limits applied, and errors
// that name the endpoint but never the token. Env reads the Actions
// environment (GITHUB_REPOSITORY, GITHUB_SHA, the event payload).
package ghapi
