package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
)

// Factory carries what every command needs: the streams and the Actions
// runtime. Commands take it instead of reaching for globals.
type Factory struct {
	IO      *iostreams.IOStreams
	Actions *gha.Runtime
	Version string
	// PlainHTTP is the root's persistent --plain-http flag: plain HTTP to
	// registries that are not on loopback, for every command.
	PlainHTTP bool

	registryOnce sync.Once
	registry     *oci.Client
}

// Registry returns the process's one registry client, built on first use
// from --plain-http and the run context (the Docker config, then the
// workflow token for ghcr.io inside Actions).
func (f *Factory) Registry() (*oci.Client, error) {
	f.registryOnce.Do(func() {
		env := gha.Parse(f.IO.Env)
		f.registry = oci.NewClient(
			oci.WithPlainHTTP(f.PlainHTTP),
			oci.WithKeychain(oci.DefaultKeychain(oci.GitHubToken{Token: env.Token, Actor: env.Actor, InActions: env.Actions})),
			oci.WithUserAgent("mlship/"+f.Version),
		)
	})
	return f.registry, nil
}

// NewFactory builds a Factory over ios.
func NewFactory(ios *iostreams.IOStreams, version string) *Factory {
	return &Factory{IO: ios, Actions: gha.New(ios.Out, ios.Env), Version: version}
}

// NewRootCmd assembles the mlship command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	var output string
	root := &cobra.Command{
		Use:   "mlship",
		Short: "GitOps for ML models: validate, train, package, sign, report, promote",
		Long: `mlship takes a model described in CUE from pull request to production:
it validates the spec, trains on (GPU) runners, packages the model as a
CNCF ModelPack OCI artifact, signs and attests it, reports evaluation and
drift on the pull request, and promotes it through environments when a
promotion pull request is merged.`,
		Example: `  # run the whole loop locally on embedded defaults
  mlship demo

  # check a spec
  mlship validate examples/iris`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			format, err := iostreams.ParseFormat(output)
			if err != nil {
				return err
			}
			f.IO.Format = format
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	root.PersistentFlags().BoolVar(&f.PlainHTTP, "plain-http", false, "speak plain HTTP to a registry that is not on loopback (loopback always is)")
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)

	root.AddCommand(
		NewCmdVersion(f, nil),
		NewCmdValidate(f, nil),
		NewCmdSchema(f, nil),
		NewCmdInit(f, nil),
		NewCmdDemo(f, nil),
		NewCmdKeygen(f, nil), NewCmdSign(f, nil), NewCmdAttest(f, nil), NewCmdVerify(f, nil),
		NewCmdDrift(f, nil), NewCmdMonitor(f, nil),
		NewCmdEval(f, nil), NewCmdReport(f, nil),
		NewCmdTrain(f, nil), NewCmdMatrix(f, nil), NewCmdRunner(f, nil),
		NewCmdPush(f, nil), NewCmdPackage(f, nil), NewCmdPull(f, nil), NewCmdInspect(f, nil), NewCmdTag(f, nil), NewCmdLs(f, nil),
		NewCmdDiff(f, nil), NewCmdHistory(f, nil), NewCmdCard(f, nil),
		NewCmdPromote(f, nil), NewCmdStatus(f, nil),
	)
	return root
}

// Execute runs the command tree and returns the process exit status.
func Execute(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	code := 1
	if ee := (*ExitError)(nil); errors.As(err, &ee) {
		code, err = ee.Code, ee.Err
	}
	if err != nil && !errors.Is(err, ErrSilent) {
		// Errors carry registry- and data-controlled text: written as text
		// (no terminal escapes; in Actions no line that starts a workflow
		// command such as ::stop-commands::).
		w := textWriter(f.IO.ErrOut)
		w.actions = gha.Parse(f.IO.Env).Actions
		fmt.Fprintf(w, "mlship: %v\n", err)
		_ = w.flush()
	}
	return code
}
