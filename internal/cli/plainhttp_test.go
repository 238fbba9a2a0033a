package cli

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/iostreams"
)

// TestPlainHTTPIsOneRootFlag: --plain-http is declared once, on the root,
// and every command that talks to a registry parses it into the
// Factory's client.
func TestPlainHTTPIsOneRootFlag(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	root := NewRootCmd(f)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c != root && c.LocalNonPersistentFlags().Lookup("plain-http") != nil {
			t.Errorf("%s declares its own --plain-http", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, args := range [][]string{{"push"}, {"pull"}, {"inspect"}, {"tag"}, {"ls"}, {"eval"}, {"verify"}, {"sign"}, {"attest"}, {"promote", "plan"}} {
		f := NewFactory(ios, "test")
		cmd, _, err := NewRootCmd(f).Find(args)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if err := cmd.ParseFlags([]string{"--plain-http"}); err != nil {
			t.Errorf("mlship %v --plain-http: %v", args, err)
			continue
		}
		c, err := f.Registry()
		if err != nil || !f.PlainHTTP || !c.PlainHTTP() {
			t.Errorf("mlship %v --plain-http: the client does not speak plain HTTP (%v)", args, err)
		}
	}
}
