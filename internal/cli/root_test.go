package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/iostreams"
)

// TestEveryCommandHasExamples holds the CLI to its promise: every command a
// user can run shows working examples in --help, and takes --output.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	root := NewRootCmd(NewFactory(ios, "test"))
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			n++
			if strings.TrimSpace(sub.Example) == "" {
				t.Errorf("%s has no Example in its help", sub.CommandPath())
			} else if !strings.Contains(sub.Example, "mlship ") {
				t.Errorf("%s: examples do not show an mlship command line: %q", sub.CommandPath(), sub.Example)
			}
			if sub.Flag("output") == nil {
				t.Errorf("%s does not take --output", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
	if n < 20 {
		t.Errorf("only %d commands found", n)
	}
}
