package cli

import (
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// VersionOptions are the inputs of `mlship version`.
type VersionOptions struct {
	F *Factory
}

// NewCmdVersion prints the build's version.
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{F: f}
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the mlship version",
		Example: "  mlship version\n  mlship version --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVersion(opts)
		},
	}
}

func runVersion(opts *VersionOptions) error {
	f := opts.F
	v := f.Version
	commit := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" || v == "dev" {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(map[string]string{"version": v, "commit": commit, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH})
	}
	f.IO.Printf("mlship %s (%s, %s/%s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
