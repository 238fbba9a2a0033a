package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mlship/mlship/internal/oci"
)

// ListRequest is `mlship ls`.
type ListRequest struct {
	// Repo is HOST/REPO or oci:PATH; Repository, when set, replaces it.
	Repo, Repository string
	// All also lists the tags signatures, attestations, SBOMs and the
	// referrers tag schema live under (sha256-<hex>[.sig|.att|.sbom]).
	All      bool
	Registry []oci.Option
}

// ListResult is what `mlship ls --output json` prints.
type ListResult struct {
	Repository string        `json:"repository"`
	Tags       []oci.TagInfo `json:"tags"`
	// All is the request's All; Hidden counts the tags it left out.
	All    bool `json:"-"`
	Hidden int  `json:"-"`
}

// List lists the repository's tags, without the proof tags unless All.
func List(ctx context.Context, r *Run, req ListRequest) (*ListResult, error) {
	res := &ListResult{Repository: req.Repo, All: req.All, Tags: []oci.TagInfo{}}
	if req.Repository != "" {
		res.Repository = req.Repository
	}
	if res.Repository == "" {
		return nil, usage(errors.New("no repository: give REPO (HOST/REPO or oci:PATH) or --repository"))
	}
	ropts := req.Registry
	if !req.All {
		ropts = append(ropts[:len(ropts):len(ropts)], oci.WithTagFilter(func(tag string) bool {
			if oci.TagKind(tag) != "" {
				res.Hidden++ // List calls the filter from one goroutine
				return false
			}
			return true
		}))
	}
	c, err := r.Registry()
	if err != nil {
		return nil, err
	}
	tags, err := c.ListTags(ctx, res.Repository, ropts...)
	if err != nil {
		return nil, err
	}
	if tags != nil {
		res.Tags = tags
	}
	return res, nil
}

// HiddenNote says how many tags were left out ("" when none).
func (res *ListResult) HiddenNote() string {
	if res.Hidden == 0 {
		return ""
	}
	return fmt.Sprintf("%d signature, attestation, SBOM or referrers tags not shown: --all lists them\n", res.Hidden)
}

// WriteText writes the tag table (with a KIND column when All).
func (res *ListResult) WriteText(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if res.All {
		fmt.Fprintln(w, "TAG\tDIGEST\tVERSION\tCREATED\tKIND")
	} else {
		fmt.Fprintln(w, "TAG\tDIGEST\tVERSION\tCREATED")
	}
	for _, t := range res.Tags {
		v, c := Dash(t.Version), Dash(t.Created)
		if !res.All {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Tag, t.Digest, v, c)
			continue
		}
		k := t.Kind
		switch {
		case k != "":
		case t.Model:
			k = "model"
		default:
			k = "other"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Tag, t.Digest, v, c, k)
	}
	return w.Flush()
}
