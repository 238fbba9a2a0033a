// Package ghapi is mlship's GitHub REST client: the few calls the steps make
// (sticky pull-request comment, check runs, deployments, reviews, team
// membership, promotion pull requests, JIT runner configuration, issues,
// workflow dispatches, artifact attestations) on top of go-github, with
// bounded retries, GitHub's size limits applied, and errors that name the
// endpoint but never the token. The run context it works for (repository,
// commit, event) is gha.Env, read once by internal/gha.
package ghapi
