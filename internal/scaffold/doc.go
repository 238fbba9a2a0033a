// Package scaffold writes the files `mlship init` adds to a repository: a
// starter that trains as written (Templates: sklearn, pytorch, go — a
// trainer, an evaluator, a small data set and the spec that runs them, each
// a copy of an example CI trains), the environments file and the
// pull-request, main and monitor workflows. Every file it writes that can
// hold a comment carries a marker with the hash of its content, so a re-run
// can tell its own untouched files (safe to rewrite) from files a person
// wrote or edited (never overwritten); data files carry none and are only
// ever left alone or refused.
package scaffold
