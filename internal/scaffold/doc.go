// Package scaffold writes the files `mlship init` adds to a repository: a
// starter spec, the environments file and the pull-request and main
// workflows. Every file it writes carries a marker with the hash of its
// content, so a re-run can tell its own untouched files (safe to rewrite)
// from files a person wrote or edited (never overwritten).
package scaffold
