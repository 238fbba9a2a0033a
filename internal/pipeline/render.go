package pipeline

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/oci/progress"
	"github.com/mlship/mlship/internal/sign"
)

// WriteDriftText writes drift's human output: a warning about unknown
// columns on errw, the verdict and the per-column table on w.
func WriteDriftText(w, errw io.Writer, res *drift.Result) {
	if len(res.UnknownColumns) > 0 {
		fmt.Fprintf(errw, "warning: drift.columns names columns that are not in the reference data: %s\n", strings.Join(res.UnknownColumns, ", "))
	}
	fmt.Fprintf(w, "%s\n", DriftVerdict(res))
	fmt.Fprintf(w, "reference %s (%d rows), current %s (%d rows), %s statistics\n\n", res.Reference.Path, res.Reference.Rows, res.Current.Path, res.Current.Rows, res.Mode)
	fmt.Fprintf(w, "%-24s %-12s %-14s %12s %12s %10s  %s\n", "COLUMN", "TYPE", "TEST", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFT")
	for _, c := range res.Columns {
		p := "-"
		if c.PValue != nil {
			p = FormatScore(*c.PValue)
		}
		d := "no"
		if c.Drift {
			d = "YES"
		}
		fmt.Fprintf(w, "%-24s %-12s %-14s %12s %12s %10s  %s%s\n", c.Name, c.Type, c.Test, FormatScore(c.Statistic), p, FormatScore(c.Threshold), d, DriftColumnNotes(c))
	}
}

// WriteText writes what training did: the input digest alone for
// DigestOnly, else what was trained or reused, and the input digest.
func (res *TrainResult) WriteText(w io.Writer) {
	switch {
	case res.DigestOnly:
		fmt.Fprintf(w, "%s\n", res.InputDigest)
		return
	case res.Reused:
		fmt.Fprintf(w, "reused %s (trained from the same inputs before; nothing ran)\n", res.Artifact.Ref)
	default:
		fmt.Fprintf(w, "trained %s %s in %.1fs: %s\n", res.Model, res.Version, res.DurationSeconds, MetricLine(res.Metrics))
		fmt.Fprintf(w, "model    %s\nrun      %s\n", relToWD(res.ModelDir), relToWD(res.RunPath))
	}
	fmt.Fprintf(w, "inputs   %s\n", res.InputDigest)
}

// relToWD shows path relative to the working directory when it is below it.
func relToWD(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// WriteText writes each spec's problems on errw and its verdict on w.
func (res *ValidateResult) WriteText(w, errw io.Writer) {
	for _, c := range res.Specs {
		for _, e := range c.Errors {
			fmt.Fprintln(errw, e.Error())
		}
		if c.Valid {
			fmt.Fprintf(w, "ok   %s (%s %s)\n", c.Path, c.Name, c.Version)
			continue
		}
		s := "s"
		if len(c.Errors) == 1 {
			s = ""
		}
		fmt.Fprintf(w, "FAIL %s: %d problem%s\n", c.Path, len(c.Errors), s)
	}
}

// WriteSignedText writes a signature or attestation ("Signed",
// "Attested"): the signer, then where it went (each bundle referrer, the
// legacy tag), the Rekor index and GitHub attestation ids.
func WriteSignedText(w io.Writer, verb string, res *sign.Result) {
	fmt.Fprintf(w, "%s%s %s\n  signer: %s\n", verb, SignedWhat(res), res.Ref, res.Signer)
	for _, r := range res.Referrers {
		fmt.Fprintf(w, "  bundle: %s\n", r)
	}
	if res.Tag != "" {
		fmt.Fprintf(w, "  legacy: %s\n", res.Tag)
	}
	if res.TLogIndex != nil {
		fmt.Fprintf(w, "  rekor log index: %d\n", *res.TLogIndex)
	}
	for _, id := range res.GitHubAttestations {
		fmt.Fprintf(w, "  github attestation: %d\n", id)
	}
}

// WriteVerifiedText writes the heading and, indented, what was verified.
func WriteVerifiedText(w io.Writer, heading string, v *sign.Verified) {
	fmt.Fprintf(w, "%s\n", heading)
	for _, line := range VerifiedLines(v) {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// WriteText writes the headline and what was written or posted.
func (res *ReportResult) WriteText(w io.Writer, req ReportRequest) {
	fmt.Fprintf(w, "%s\n", res.Headline)
	switch {
	case req.DryRun:
		fmt.Fprintf(w, "dry run: wrote %s (%d bytes), posted nothing\n", req.Out, res.Bytes)
	case res.Posted:
		fmt.Fprintf(w, "posted: comment %d, check run %d (%s); wrote %s\n", res.CommentID, res.CheckRunID, res.Conclusion, req.Out)
	default:
		fmt.Fprintf(w, "wrote %s\n", req.Out)
	}
}

// WriteText writes the best run and its parameters.
func (res *MatrixSelectResult) WriteText(w io.Writer) {
	sel, best := res.Selection, res.Selection.Best
	fmt.Fprintf(w, "best %s = %g (%s) of %d runs: %s\n", sel.Metric, best.Value, sel.Goal, len(sel.Runs), best.Path)
	if len(res.Params) > 0 {
		fmt.Fprintf(w, "params %s\n", strings.Join(res.Params, " "))
	}
}

// WriteText logs what was pushed on errw and prints the digest on w.
func (res *PushResult) WriteText(w, errw io.Writer) {
	fmt.Fprintf(errw, "%s %s (%d layers, %s, %s uploaded) in %.2fs\n", res.Verb, res.Shown(), res.Layers, progress.Bytes(res.Size), progress.Bytes(res.Uploaded), res.Seconds)
	fmt.Fprintf(w, "%s\n", res.Digest)
}
