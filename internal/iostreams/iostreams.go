package iostreams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/mlship/mlship/internal/gha"
)

// Format is the output format chosen with --output.
type Format string

const (
	// Text is human-readable output (the default).
	Text Format = "text"
	// JSON is one JSON document on stdout, for scripts.
	JSON Format = "json"
)

// ParseFormat validates a --output value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Text, JSON:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown output format %q: use text or json", s)
}

// IOStreams bundles the process's streams with what we know about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// Format is what --output asked for.
	Format Format
	// StdoutTTY and StderrTTY say whether progress may be drawn.
	StdoutTTY bool
	StderrTTY bool
	// Env reads the process environment (through internal/gha, its one
	// reader); tests replace it.
	Env func(string) string
}

// System returns streams bound to the process.
func System() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		Format:    Text,
		StdoutTTY: isTerminal(os.Stdout),
		StderrTTY: isTerminal(os.Stderr),
		Env:       gha.ProcessEnv,
	}
}

// Test returns streams writing into buffers, with an empty environment
// unless env is given.
func Test(env map[string]string) (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{
		In:     &bytes.Buffer{},
		Out:    out,
		ErrOut: errOut,
		Format: Text,
		Env:    func(k string) string { return env[k] },
	}, out, errOut
}

// JSON reports whether the caller asked for JSON output.
func (s *IOStreams) JSON() bool { return s.Format == JSON }

// InActions reports whether we run inside a GitHub Actions job.
func (s *IOStreams) InActions() bool { return gha.Parse(s.Env).Actions }

// CI reports whether we run in any CI system (no terminal tricks there).
func (s *IOStreams) CI() bool { return gha.Parse(s.Env).CI }

// Progress reports whether an interactive progress bar may be drawn on
// stderr: a terminal, outside CI.
func (s *IOStreams) Progress() bool { return s.StderrTTY && !s.CI() }

// PrintJSON writes v as indented JSON to stdout.
func (s *IOStreams) PrintJSON(v any) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON output: %w", err)
	}
	return nil
}

// Printf writes human output to stdout; it is silent in JSON mode so
// stdout stays one parseable document.
func (s *IOStreams) Printf(format string, a ...any) {
	if s.JSON() {
		return
	}
	fmt.Fprintf(s.Out, format, a...)
}

// Logf writes a progress or status line to stderr.
func (s *IOStreams) Logf(format string, a ...any) {
	fmt.Fprintf(s.ErrOut, format, a...)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0
}
