package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/mlship/mlship/internal/oci"
)

// TagRequest is `mlship tag`.
type TagRequest struct {
	Ref, Tag string
	// Repository, when set, rewrites Ref onto it (ApplyRepository).
	Repository string
	Registry   []oci.Option
}

// TagResult is what `mlship tag --output json` prints.
type TagResult struct {
	Digest string `json:"digest"`
	Ref    string `json:"ref"`
	Tag    string `json:"tag"`
}

// Tag points the tag, in Ref's repository, at what Ref resolves to, and
// records it in the step outputs and the job summary.
func Tag(ctx context.Context, r *Run, req TagRequest) (*TagResult, error) {
	c, err := r.Registry()
	if err != nil {
		return nil, err
	}
	got, err := c.Tag(ctx, ApplyRepository(req.Ref, req.Repository), req.Tag, req.Registry...)
	if err != nil {
		return nil, err
	}
	res := &TagResult{Digest: got.Digest, Ref: got.Ref, Tag: got.Tag}
	for k, v := range map[string]string{"digest": res.Digest, "ref": res.Ref, "tag": res.Tag} {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return nil, err
		}
	}
	if r.Actions.Active() {
		_ = r.Summary(fmt.Sprintf("Tagged `%s` → `%s`\n", res.Tag, res.Digest))
	}
	return res, nil
}

// WriteText writes "TAG -> DIGEST".
func (res *TagResult) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s -> %s\n", res.Tag, res.Digest)
	return err
}
