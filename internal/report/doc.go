// Package report renders one Markdown report from an eval result, a drift
// result and any extra sections (promotion plans), trims it to GitHub's size
// limits least-important section first, and publishes it as a sticky pull
// request comment, a check run and the job summary. The same rendering
// serves all three, so reviewers read the same report everywhere.
package report
