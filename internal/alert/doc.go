// Package alert keeps one GitHub issue per model and environment for
// post-deployment monitoring: opened when an alert starts, updated in place
// on every run with a short history, closed with a comment when the sample
// is healthy again, and optionally starting a retraining workflow
// (workflow_dispatch) when an alert opens.
//
// # Finding the issue again
//
// The issue body's first line is a hidden marker, Marker(key):
// "<!-- mlship:alert model=<m> environment=<e> -->" (names query-escaped, "-"
// included, so no name can close the comment or imitate another key). Sync
// lists the repository's issues, open and closed, that carry the label
// DefaultLabel ("mlship-alert") and keeps those whose first line is exactly
// that marker; a marker quoted or placed anywhere else, or another model's
// or environment's marker, does not match. Labels can only be set by people
// with triage access, so a stranger cannot plant an issue Sync would adopt;
// WithAuthor narrows matching to issues opened by one login (in Actions,
// "github-actions[bot]"). Removing the label detaches an issue: mlship then
// opens a new one.
//
// # One issue per key, across runs and episodes
//
// An alert episode runs from the first alerting sample to the first healthy
// one. There is one issue per key for its whole life: a new episode reopens
// the closed issue (with a comment) rather than opening another, so the
// history stays in one place and there are never two issues for one model
// and environment. If a person closes the issue while the alert is still
// active, mlship respects it: it keeps recording runs in the closed issue's
// body but does not reopen it until a healthy sample has ended the episode;
// if a person reopens a resolved issue, mlship leaves it open until the next
// alert episode ends.
// Should two concurrent runs both open an issue, the next run keeps the
// lowest-numbered open one and closes the others as duplicates.
//
// # What the body holds
//
// The history (time, sample size, drifted columns, dataset drift share,
// metrics, alert) lives in a hidden state line under the marker, base64 JSON
// read back with bounded size; the visible table is rendered from it. It
// keeps the last WithHistory rows (default 20), each with at most 10 column
// names and 16 metrics, and drops older rows until the body fits GitHub's
// 65,536-character limit. Untrusted names (columns, metrics) are escaped
// with report.Escape. An unreadable state line (a person edited the body)
// starts a fresh history rather than failing the run.
package alert
