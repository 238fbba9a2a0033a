package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/progress"
)

// InspectOptions are the inputs of `mlship inspect`.
type InspectOptions struct {
	F        *Factory
	Ref      string
	Registry RegistryFlags
}

// NewCmdInspect builds `mlship inspect`.
func NewCmdInspect(f *Factory, runF func(*InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{F: f}
	cmd := &cobra.Command{
		Use:   "inspect REF",
		Short: "Show a model artifact's manifest, config and lineage",
		Long: `Inspect resolves REF and prints a summary of the ModelPack manifest and
config: digest, version, lineage annotations, and each layer's role,
format, size and path. --output json prints the manifest and config.`,
		Example: `  mlship inspect ghcr.io/acme/iris:prod
  mlship inspect oci:build/iris:1.0.0 --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runInspect(cmd.Context(), opts)
		},
	}
	opts.Registry.register(cmd.Flags())
	return cmd
}

func runInspect(ctx context.Context, opts *InspectOptions) error {
	f := opts.F
	ref := applyRepository(opts.Ref, opts.Registry.Repository)
	c, err := f.Registry()
	if err != nil {
		return err
	}
	a, err := c.Inspect(ctx, ref, opts.Registry.options(f)...)
	if err != nil {
		return err
	}
	_ = f.Actions.SetOutput("digest", a.Digest)
	_ = f.Actions.SetOutput("ref", a.Ref)
	if f.IO.JSON() {
		return f.IO.PrintJSON(a)
	}
	m := a.Manifest
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Ref:\t%s\n", a.Ref)
	fmt.Fprintf(w, "Digest:\t%s\n", a.Digest)
	fmt.Fprintf(w, "Artifact type:\t%s\n", orRef(m.ArtifactType, "(none)"))
	if c := a.Config; c != nil {
		d := c.Descriptor
		if d.Name != "" {
			fmt.Fprintf(w, "Name:\t%s\n", d.Name)
		}
		if d.Version != "" {
			fmt.Fprintf(w, "Version:\t%s\n", d.Version)
		}
		if d.CreatedAt != nil {
			fmt.Fprintf(w, "Created:\t%s\n", d.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
		}
		for _, kv := range [][2]string{{"Format", c.Config.Format}, {"Architecture", c.Config.Architecture}, {"Precision", c.Config.Precision}, {"Quantization", c.Config.Quantization}, {"Parameters", c.Config.ParamSize}} {
			if kv[1] != "" {
				fmt.Fprintf(w, "%s:\t%s\n", kv[0], kv[1])
			}
		}
	}
	if len(m.Annotations) > 0 {
		fmt.Fprintf(w, "Annotations:\t\n")
		keys := make([]string, 0, len(m.Annotations))
		for k := range m.Annotations {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s\t%s\n", k, m.Annotations[k])
		}
	}
	w.Flush()
	fmt.Fprintln(f.IO.Out)
	w = tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ROLE\tFORMAT\tSIZE\tPATH\tDIGEST")
	var total int64
	for _, l := range m.Layers {
		role, format, ok := oci.ParseLayerMediaType(l.MediaType)
		r, fm := string(role), string(format)
		if !ok {
			r, fm = "?", l.MediaType
		}
		total += l.Size
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r, fm, progress.Bytes(l.Size), oci.LayerPath(l), shortDigest(l.Digest))
	}
	fmt.Fprintf(w, "\t\t%s\t(%d layers)\t\n", progress.Bytes(total), len(m.Layers))
	return w.Flush()
}

func shortDigest(d string) string {
	if h, ok := strings.CutPrefix(d, "sha256:"); ok && len(h) >= 12 {
		return "sha256:" + h[:12]
	}
	return d
}
