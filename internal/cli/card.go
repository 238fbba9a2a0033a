package cli

import (
	"context"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// CardOptions are the inputs of `mlship card`.
type CardOptions struct {
	F        *Factory
	Registry RegistryFlags
	pipeline.CardRequest
}

// NewCmdCard builds `mlship card REF`.
func NewCmdCard(f *Factory, runF func(*CardOptions) error) *cobra.Command {
	opts := &CardOptions{F: f}
	cmd := &cobra.Command{
		Use:   "card REF",
		Short: "Print the model card (MODEL_CARD.md) of a packaged model",
		Long: `Card prints MODEL_CARD.md, the model card package writes at the root of
every model packaged from a spec: Hugging Face YAML front matter (license,
datasets, metrics, model-index with the eval results, and mlship's lineage)
followed by Markdown. It reads the manifest and that one layer, nothing
else. --output json prints the parsed front matter and the file; the
contract is in docs/registry.md.`,
		Example: `  mlship card ghcr.io/acme/iris:prod
  mlship card ghcr.io/acme/iris@sha256:... --output json
  mlship card --repository ghcr.io/acme/iris 1.0.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			return runOr(cmd, opts, runF, runCard)
		},
	}
	opts.Registry.register(cmd.Flags())
	return cmd
}

func runCard(ctx context.Context, opts *CardOptions) error {
	f := opts.F
	req := opts.CardRequest
	req.Repository, req.Registry = opts.Registry.Repository, opts.Registry.options(f)
	res, err := pipeline.Card(ctx, f.Run(), req)
	if err != nil {
		return exitCode(err)
	}
	return showText(f, res, res.WriteText)
}

// showText prints res as JSON with --output json, else writes its text
// through textWriter: the text of card, ls, diff, history and status holds
// what a registry, GitHub or a record says (a card, annotations, names),
// which must reach a terminal as text, never as control sequences.
func showText(f *Factory, res any, write func(io.Writer) error) error {
	return show(f, res, func() error {
		w := textWriter(f.IO.Out)
		w.actions = f.Run().Env.Actions
		if err := write(w); err != nil {
			return err
		}
		return w.flush()
	})
}

// safeText writes through to w with every control character but newline
// and tab made visible (\x1b, \u009b): no escape sequence, carriage
// return or backspace from untrusted text reaches a terminal. UTF-8 split
// across writes is carried over. In GitHub Actions (actions), where the
// runner obeys every output line that starts with "::" (::stop-commands::
// ends masking for the rest of the step), a colon that starts a line
// (after blanks) is written \x3a.
type safeText struct {
	w       io.Writer
	carry   []byte
	actions bool
	midLine bool // a character other than a blank was written on this line
}

func textWriter(w io.Writer) *safeText { return &safeText{w: w} }

func (s *safeText) Write(p []byte) (int, error) {
	buf := append(s.carry, p...)
	out := make([]byte, 0, len(buf))
	i := 0
	for i < len(buf) {
		c := buf[i]
		if c < utf8.RuneSelf {
			switch {
			case c == ':' && s.actions && !s.midLine:
				out = append(out, "\\x3a"...)
			case c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f):
				out = append(out, c)
			default:
				out = fmt.Appendf(out, "\\x%02x", c)
			}
			s.midLine = c != '\n' && (s.midLine || (c != ' ' && c != '\t'))
			i++
			continue
		}
		if !utf8.FullRune(buf[i:]) {
			break
		}
		s.midLine = true
		r, n := utf8.DecodeRune(buf[i:])
		if r >= 0x80 && r < 0xa0 {
			out = fmt.Appendf(out, "\\u%04x", r)
		} else {
			out = append(out, buf[i:i+n]...)
		}
		i += n
	}
	s.carry = append([]byte(nil), buf[i:]...)
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flush writes an incomplete UTF-8 sequence left at the end as it is (it
// is no control character).
func (s *safeText) flush() error {
	if len(s.carry) == 0 {
		return nil
	}
	_, err := s.w.Write(s.carry)
	s.carry = nil
	return err
}
