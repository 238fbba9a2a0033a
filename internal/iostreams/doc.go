// Package iostreams decides once how mlship talks to the person or program
// at the other end: whether stdout is a terminal (progress bars, colour),
// whether we run inside GitHub Actions (periodic log lines, annotations), and
// whether the caller asked for JSON. Commands print through it, never to
// os.Stdout directly, so tests can capture everything.
package iostreams
