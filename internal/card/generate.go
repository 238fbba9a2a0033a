package card

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train/lineage"
)

// Input is what a card is generated from. Spec is required; the others
// are nil when unknown, and Notes say why (the card says what it lacks
// rather than leaving it out silently).
type Input struct {
	Spec *spec.Model
	// Eval is the evaluation of this model (its metrics go to model-index).
	Eval *attest.EvalResult
	// Drift is the drift check of the data the model serves.
	Drift *drift.Result
	// Run is the training run whose outputs are packaged.
	Run *lineage.Record
	// InputDigest is the training input digest the artifact carries (its
	// annotation), when there is one: Run's, or one given explicitly.
	InputDigest string
	// Notes are sentences on what the card could not include.
	Notes []string
}

// Generate renders the card for in: front matter and Markdown. The same
// input gives the same bytes (no clock is read), so an unchanged model
// keeps its digest.
func Generate(in Input) ([]byte, error) {
	m := in.Spec
	if m == nil {
		return nil, errors.New("model card: no spec")
	}
	meta := Metadata{License: strings.ToLower(m.License), LibraryName: frameworkName(m), MLShip: lineageOf(in)}
	for _, name := range sortedKeys(m.Datasets) {
		if m.Datasets[name].Role == "train" || m.Datasets[name].Role == "eval" {
			meta.Datasets = append(meta.Datasets, name)
		}
	}
	meta.Tags = []string{"mlship"}
	if a := m.Package.Architecture; a != "" {
		meta.Tags = append(meta.Tags, a)
	}
	if ev := in.Eval; ev != nil && len(ev.Metrics) > 0 {
		meta.Metrics = ev.Metrics.Names()
		ds := evalDataset(m, ev)
		res := IndexResult{Task: IndexTask{Type: TaskOther, Name: m.Description}, Dataset: ds}
		for _, name := range ev.Metrics.Names() {
			v := ev.Metrics[name]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			res.Metrics = append(res.Metrics, IndexMetric{Type: name, Value: v, Name: name})
		}
		meta.ModelIndex = []ModelIndex{{Name: m.Name, Results: []IndexResult{res}}}
	} else if m.Eval != nil {
		meta.Metrics = sortedKeys(m.Eval.Metrics)
	}
	return Render(meta, body(in, meta))
}

func frameworkName(m *spec.Model) string {
	if fw := m.Package.Framework; fw != nil {
		return fw.Name
	}
	return ""
}

// evalDataset is the model-index dataset: the eval result's eval-role
// dataset (with its digest as revision), else the spec's.
func evalDataset(m *spec.Model, ev *attest.EvalResult) IndexDataset {
	for _, d := range ev.Datasets {
		if d.Role == "eval" {
			return IndexDataset{Type: d.Name, Name: d.Name, Split: "eval", Revision: d.Digest}
		}
	}
	for _, name := range sortedKeys(m.Datasets) {
		if d := m.Datasets[name]; d.Role == "eval" {
			return IndexDataset{Type: name, Name: name, Split: "eval", Revision: d.Digest}
		}
	}
	return IndexDataset{Type: "custom", Name: "eval", Split: "eval"}
}

func lineageOf(in Input) *Lineage {
	m := in.Spec
	l := &Lineage{Name: m.Name, Version: m.Version, SpecDigest: m.Digest, InputDigest: in.InputDigest}
	if fw := m.Package.Framework; fw != nil && fw.Name != "" {
		l.Framework = fw.Name
		if fw.Version != "" {
			l.Framework += "@" + fw.Version
		}
	}
	if r := in.Run; r != nil {
		l.InputDigest = r.InputDigest
		if len(r.Inputs.Datasets) > 0 {
			l.Datasets = r.Inputs.Datasets
		}
		l.Code = r.Inputs.Code
		if len(r.Inputs.Hyperparameters) > 0 {
			l.Hyperparameters = r.Inputs.Hyperparameters
		}
		seed := r.Inputs.Seed
		l.Seed = &seed
		if r.Git != nil {
			l.Commit, l.Dirty = r.Git.Commit, r.Git.Dirty
		}
		l.Runner = runnerString(r.Runner)
		if len(r.Toolchain) > 0 {
			l.Toolchain = r.Toolchain
		}
	}
	if ev := in.Eval; ev != nil {
		passed := ev.Passed
		l.EvalPassed = &passed
	}
	return l
}

// runnerString is "os/arch", then the runner's environment and labels.
// The runner's name is left out, as are the run's times (they are in the
// provenance attestation): the card is a layer, and the same commit
// trained again on another machine of the same labels must package the
// same bytes.
func runnerString(r lineage.Runner) string {
	s := r.OS + "/" + r.Arch
	if r.OS == "" && r.Arch == "" {
		s = ""
	}
	var extra []string
	if r.Environment != "" {
		extra = append(extra, r.Environment)
	}
	if len(r.Labels) > 0 {
		extra = append(extra, "labels "+strings.Join(r.Labels, ","))
	}
	if len(extra) > 0 {
		s = strings.TrimSpace(s + " (" + strings.Join(extra, "; ") + ")")
	}
	return s
}

func body(in Input, meta Metadata) string {
	m := in.Spec
	var b strings.Builder
	e := report.Escape
	fmt.Fprintf(&b, "%s\n\n# %s %s\n\n", GeneratedMarker, e(m.Name), e(m.Version))
	if m.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", e(m.Description))
	}

	b.WriteString("## Model details\n\n| | |\n| --- | --- |\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, v)
		}
	}
	row("Version", e(m.Version))
	row("License", e(m.License))
	row("Owners", e(strings.Join(m.Owners, ", ")))
	row("Authors", e(strings.Join(m.Authors, ", ")))
	row("Family", e(m.Family))
	row("Architecture", e(m.Package.Architecture))
	row("Format", e(m.Package.Format))
	row("Precision", e(m.Package.Precision))
	row("Quantization", e(m.Package.Quantization))
	row("Parameters", e(m.Package.ParamSize))
	if meta.MLShip != nil {
		row("Framework", e(meta.MLShip.Framework))
	}
	if m.Registry.Repository != "" {
		row("Registry", "`"+report.EscapeCodeCell(m.Registry.Repository)+"`")
	}
	b.WriteString("\n")

	writeData(&b, m, in.Run)
	writeTraining(&b, m, in.Run)
	writeEval(&b, in.Eval)
	writeDrift(&b, in.Drift)
	writeLineage(&b, meta.MLShip)

	if len(in.Notes) > 0 {
		b.WriteString("## Not on this card\n\n")
		for _, n := range in.Notes {
			fmt.Fprintf(&b, "- %s\n", e(n))
		}
		b.WriteString("\n")
	}
	if repo := m.Registry.Repository; repo != "" {
		tag := strings.ReplaceAll(m.Version, "+", "_")
		if tag == "" {
			tag = "latest"
		}
		fmt.Fprintf(&b, "## Use\n\n```sh\nmlship pull %s:%s --verify --spec .\n```\n", codeLine(repo), codeLine(tag))
	}
	return b.String()
}

// codeLine keeps s on one line inside a fenced block.
func codeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '`' {
			return ' '
		}
		return r
	}, s)
}

func writeData(b *strings.Builder, m *spec.Model, run *lineage.Record) {
	if len(m.Datasets) == 0 {
		return
	}
	e := report.Escape
	b.WriteString("## Data\n\n| dataset | role | uri | digest |\n| --- | --- | --- | --- |\n")
	for _, name := range sortedKeys(m.Datasets) {
		d := m.Datasets[name]
		dg := d.Digest
		if run != nil && run.Inputs.Datasets[name] != "" {
			dg = run.Inputs.Datasets[name]
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", e(name), e(d.Role), code(d.URI), code(dg))
	}
	b.WriteString("\n")
}

func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + report.EscapeCodeCell(s) + "`"
}

func writeTraining(b *strings.Builder, m *spec.Model, run *lineage.Record) {
	if m.Train == nil && run == nil {
		return
	}
	e := report.Escape
	b.WriteString("## Training\n\n")
	hp := map[string]any{}
	var seed *int64
	if m.Train != nil {
		for k, v := range m.Train.Hyperparameters {
			hp[k] = v
		}
		s := m.Train.Seed
		seed = &s
	}
	if run != nil {
		for k, v := range run.Inputs.Hyperparameters {
			hp[k] = v
		}
		s := run.Inputs.Seed
		seed = &s
		fmt.Fprintf(b, "Trained on %s (status %s); the run's times are in its provenance attestation.\n\n", e(runnerString(run.Runner)), e(run.Status))
	} else {
		b.WriteString("No training run matches the packaged files: the values below are the spec's.\n\n")
	}
	if len(hp) > 0 || seed != nil {
		b.WriteString("| hyperparameter | value |\n| --- | --- |\n")
		for _, k := range sortedKeys(hp) {
			fmt.Fprintf(b, "| %s | %s |\n", e(k), code(fmt.Sprint(hp[k])))
		}
		if seed != nil {
			fmt.Fprintf(b, "| seed | `%d` |\n", *seed)
		}
		b.WriteString("\n")
	}
}

func writeEval(b *strings.Builder, ev *attest.EvalResult) {
	b.WriteString("## Evaluation\n\n")
	if ev == nil {
		b.WriteString("No evaluation result was available at package time.\n\n")
		return
	}
	e := report.Escape
	verdict := "passed"
	if !ev.Passed {
		verdict = "**failed**"
	}
	fmt.Fprintf(b, "Gates %s", verdict)
	if ev.Environment != "" {
		fmt.Fprintf(b, " for %s", e(ev.Environment))
	}
	b.WriteString(".")
	if bl := ev.Baseline; bl != nil {
		fmt.Fprintf(b, " Baseline: %s %s.", e(bl.Environment), code(bl.Digest))
	}
	b.WriteString("\n\n| metric | value | direction | baseline | delta | verdict |\n| --- | --- | --- | --- | --- | --- |\n")
	cmp := map[string]attest.Comparison{}
	for _, c := range ev.Comparisons {
		cmp[c.Metric] = c
	}
	for _, name := range ev.Metrics.Names() {
		c := cmp[name]
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", e(name), num(ev.Metrics[name]), e(dash(c.Direction)), numPtr(c.Baseline), numPtr(c.Delta), e(dash(c.Verdict)))
	}
	b.WriteString("\n")
}

func writeDrift(b *strings.Builder, d *drift.Result) {
	if d == nil {
		return
	}
	e := report.Escape
	b.WriteString("## Data drift\n\n")
	state := "no dataset drift"
	if d.DatasetDrift {
		state = "**dataset drift**"
	}
	fmt.Fprintf(b, "%d of %d columns drifted (share %s, threshold %s): %s; reference %d rows, current %d rows (%s).\n\n",
		d.DriftedColumns, len(d.Columns), num(d.DriftShare), num(d.ShareThreshold), state, d.Reference.Rows, d.Current.Rows, e(dash(d.Mode)))
	var drifted []string
	for _, c := range d.Columns {
		if c.Drift {
			drifted = append(drifted, e(c.Name)+" ("+e(c.Test)+")")
		}
	}
	if len(drifted) > 0 {
		fmt.Fprintf(b, "Drifted: %s.\n\n", strings.Join(drifted, ", "))
	}
}

func writeLineage(b *strings.Builder, l *Lineage) {
	if l == nil {
		return
	}
	b.WriteString("## Lineage\n\n| | |\n| --- | --- |\n")
	for _, kv := range [][2]string{{"Training input digest", l.InputDigest}, {"Code", l.Code}, {"Commit", l.Commit}, {"Spec digest", l.SpecDigest}, {"Runner", l.Runner}} {
		if kv[1] != "" {
			fmt.Fprintf(b, "| %s | %s |\n", kv[0], code(kv[1]))
		}
	}
	for _, k := range sortedKeys(l.Toolchain) {
		fmt.Fprintf(b, "| %s | %s |\n", report.Escape(k), code(l.Toolchain[k]))
	}
	b.WriteString("\n")
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

func numPtr(f *float64) string {
	if f == nil {
		return "—"
	}
	return num(*f)
}
