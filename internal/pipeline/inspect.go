package pipeline

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/progress"
)

// InspectRequest is `mlship inspect`.
type InspectRequest struct {
	Ref string
	// Repository, when set, rewrites Ref onto it (ApplyRepository).
	Repository string
	Registry   []oci.Option
}

// InspectResult is the artifact REF resolves to; --output json prints it.
type InspectResult struct{ *oci.Artifact }

// Inspect resolves the reference and reads its manifest and config; the
// step outputs digest and ref are set.
func Inspect(ctx context.Context, r *Run, req InspectRequest) (*InspectResult, error) {
	c, err := r.Registry()
	if err != nil {
		return nil, err
	}
	a, err := c.Inspect(ctx, ApplyRepository(req.Ref, req.Repository), req.Registry...)
	if err != nil {
		return nil, err
	}
	_ = r.Actions.SetOutput("digest", a.Digest)
	_ = r.Actions.SetOutput("ref", a.Ref)
	return &InspectResult{a}, nil
}

// WriteText writes the summary table and the layer table.
func (res *InspectResult) WriteText(out io.Writer) error {
	a, m := res.Artifact, res.Manifest
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Ref:\t%s\n", a.Ref)
	fmt.Fprintf(w, "Digest:\t%s\n", a.Digest)
	fmt.Fprintf(w, "Artifact type:\t%s\n", orDefault(m.ArtifactType, "(none)"))
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
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ROLE\tFORMAT\tSIZE\tPATH\tDIGEST")
	var total int64
	for _, l := range m.Layers {
		role, format, ok := oci.ParseLayerMediaType(l.MediaType)
		r, fm := string(role), string(format)
		if !ok {
			r, fm = "?", l.MediaType
		}
		total += l.Size
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r, fm, progress.Bytes(l.Size), oci.LayerPath(l), oci.ShortDigest(l.Digest))
	}
	fmt.Fprintf(w, "\t\t%s\t(%d layers)\t\n", progress.Bytes(total), len(m.Layers))
	return w.Flush()
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
