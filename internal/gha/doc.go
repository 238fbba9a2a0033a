// Package gha is mlship's view of the GitHub Actions runtime: step outputs,
// the job summary, annotations at file:line:col, log groups, masking, the
// OIDC token and the event payload. It wraps go-githubactions and turns its
// panics (an unwritable GITHUB_OUTPUT, say) into errors. Outside Actions
// every call is a harmless no-op, so commands never branch on the runtime.
package gha
