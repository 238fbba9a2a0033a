package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
)

// check runs the rules CUE cannot express: references between sections,
// environment order, and paths that must stay inside the repository. v is
// the value as the user wrote it, so positions point into their files.
func (l *Loader) check(m *Model, v cue.Value) ErrorList {
	c := &checker{l: l, v: v, root: repoRoot(m.Dir), dir: m.Dir, files: m.Files}
	c.environments(m)
	c.sweep(m)
	c.paths(m)
	c.packagedSymlinks(m)
	c.evalRefs(m)
	c.signing(m)
	c.monitor(m)
	return dedupe(c.errs)
}

type checker struct {
	l     *Loader
	v     cue.Value
	root  string
	dir   string
	files []string
	errs  ErrorList
}

// errorf records a problem at the position of the field at path (or its
// nearest parent the user wrote).
func (c *checker) errorf(path []string, format string, args ...any) {
	sels := make([]cue.Selector, len(path))
	for i, p := range path {
		if n, err := strconv.Atoi(p); err == nil {
			sels[i] = cue.Index(n)
		} else {
			sels[i] = cue.Str(p)
		}
	}
	e := Error{Path: strings.Join(path, "."), Message: fmt.Sprintf(format, args...)}
	for n := len(sels); n > 0; n-- {
		fv := c.v.LookupPath(cue.MakePath(sels[:n]...))
		if p := fv.Pos(); fv.Exists() && p.IsValid() {
			e.File, e.Line, e.Col = c.l.rel(p.Filename()), p.Line(), p.Column()
			break
		}
	}
	if e.File == "" && len(c.files) > 0 {
		e.File, e.Line, e.Col = c.l.rel(c.files[0]), 1, 1
	}
	c.errs = append(c.errs, e)
}

func (c *checker) environments(m *Model) {
	// Declaration order from CUE, so peers keep the order they were written.
	var names []string
	it, err := c.v.LookupPath(cue.ParsePath("environments")).Fields()
	if err == nil {
		for it.Next() {
			names = append(names, it.Selector().Unquoted())
		}
	}
	for _, n := range names {
		if a := m.Environments[n].After; a != "" {
			if _, ok := m.Environments[a]; !ok {
				c.errorf([]string{"environments", n, "after"}, "environment %q comes after %q, which is not defined (defined: %s)", n, a, strings.Join(names, ", "))
			}
		}
	}
	// Kahn's algorithm; whatever is left over sits on a cycle.
	done := map[string]bool{}
	var order []string
	for len(order) < len(names) {
		progressed := false
		for _, n := range names {
			if done[n] {
				continue
			}
			a := m.Environments[n].After
			if a == "" || done[a] || m.Environments[a].After == "" && !contains(names, a) {
				done[n] = true
				order = append(order, n)
				progressed = true
			}
		}
		if !progressed {
			var cyc []string
			for _, n := range names {
				if !done[n] {
					cyc = append(cyc, n)
				}
			}
			for _, n := range cyc {
				if _, ok := m.Environments[m.Environments[n].After]; ok {
					c.errorf([]string{"environments", n, "after"}, "environment order has a cycle through %s: each environment must come after an earlier one", strings.Join(cyc, " → "))
				}
			}
			order = append(order, cyc...)
			break
		}
	}
	m.EnvironmentOrder = order
	if m.Eval != nil && len(m.Environments) > 0 {
		if _, ok := m.Environments[m.Eval.Baseline]; !ok {
			c.errorf([]string{"eval", "baseline"}, "baseline environment %q is not defined (defined: %s)", m.Eval.Baseline, strings.Join(names, ", "))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *checker) sweep(m *Model) {
	if m.Train == nil || m.Train.Sweep == nil {
		return
	}
	keys := sortedKeys(m.Train.Sweep.Parameters)
	for _, k := range keys {
		if _, ok := m.Train.Hyperparameters[k]; !ok {
			c.errorf([]string{"train", "sweep", "parameters", k}, "sweep parameter %q is not a hyperparameter (declare it under train.hyperparameters with its default; known: %s)", k, strings.Join(sortedKeys(m.Train.Hyperparameters), ", "))
		}
	}
	runs := 1
	for _, k := range keys {
		runs *= len(m.Train.Sweep.Parameters[k])
	}
	if runs > m.Train.Sweep.MaxRuns {
		c.errorf([]string{"train", "sweep"}, "sweep has %d combinations, more than maxRuns (%d): trim the grid or raise maxRuns", runs, m.Train.Sweep.MaxRuns)
	}
}

func sortedKeys[V any](mp map[string]V) []string {
	keys := make([]string, 0, len(mp))
	for k := range mp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// paths checks every path field is relative and stays inside the
// repository (the enclosing git work tree, else the spec directory).
func (c *checker) paths(m *Model) {
	check := func(p string, path ...string) {
		if p == "" || isURL(p) {
			return
		}
		if filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
			c.errorf(path, "path %q is absolute: paths are relative to the spec directory", p)
			return
		}
		abs := filepath.Join(c.dir, filepath.FromSlash(p))
		if r, err := filepath.Rel(c.root, abs); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			c.errorf(path, "path %q leaves the repository: keep model files inside it", p)
		}
	}
	for _, name := range sortedKeys(m.Datasets) {
		check(m.Datasets[name].URI, "datasets", name, "uri")
	}
	if t := m.Train; t != nil {
		check(t.Workdir, "train", "workdir")
		check(t.Outputs.Model, "train", "outputs", "model")
		check(t.Outputs.Metrics, "train", "outputs", "metrics")
	}
	if e := m.Eval; e != nil {
		check(e.MetricsFile, "eval", "metricsFile")
		check(e.ExamplesFile, "eval", "examplesFile")
	}
	if d := m.Drift; d != nil {
		check(d.Reference, "drift", "reference")
		check(d.Current, "drift", "current")
	}
	if mo := m.Monitor; mo != nil && !strings.ContainsAny(mo.Current, "*?[") {
		check(mo.Current, "monitor", "current")
	}
	for i, f := range m.Package.Files {
		check(f.Path, "package", "files", fmt.Sprint(i), "path")
	}
	if k := m.Signing.Key; k != "" && !strings.Contains(k, "://") {
		check(k, "signing", "key")
	}
	if pr := m.Signing.Promotion; pr != nil && pr.Key != "" && !strings.Contains(pr.Key, "://") {
		check(pr.Key, "signing", "promotion", "key")
	}
}

func isURL(s string) bool {
	i := strings.Index(s, "://")
	return i > 0 && !strings.ContainsAny(s[:i], "/.")
}

func (c *checker) evalRefs(m *Model) {
	for _, env := range sortedKeys(m.Environments) {
		for _, metric := range sortedKeys(m.Environments[env].Gates) {
			if m.Eval == nil {
				c.errorf([]string{"environments", env, "gates", metric}, "gate on %q needs an eval section declaring that metric", metric)
				continue
			}
			if _, ok := m.Eval.Metrics[metric]; !ok {
				c.errorf([]string{"environments", env, "gates", metric}, "gate on metric %q, which eval.metrics does not declare (declared: %s)", metric, strings.Join(sortedKeys(m.Eval.Metrics), ", "))
			}
		}
	}
}

// monitor checks that predictions and labels come as a pair and that there
// are eval metrics to compute from them.
func (c *checker) monitor(m *Model) {
	mo := m.Monitor
	if mo == nil {
		return
	}
	switch {
	case mo.Prediction != "" && mo.Label == "":
		c.errorf([]string{"monitor", "prediction"}, "monitor.prediction %q needs monitor.label: metrics compare predictions with labels", mo.Prediction)
	case mo.Label != "" && mo.Prediction == "":
		c.errorf([]string{"monitor", "label"}, "monitor.label %q needs monitor.prediction: metrics compare predictions with labels", mo.Label)
	case mo.Prediction != "" && mo.Prediction == mo.Label:
		c.errorf([]string{"monitor", "label"}, "monitor.label and monitor.prediction are both %q: name two columns", mo.Label)
	case mo.Prediction != "" && (m.Eval == nil || len(m.Eval.Metrics) == 0):
		c.errorf([]string{"monitor", "prediction"}, "monitor.prediction and monitor.label need eval.metrics naming the metrics to compute (e.g. accuracy)")
	}
}

func (c *checker) signing(m *Model) {
	if k := m.Signing.Keyless; k != nil && k.Identity == "" && k.IdentityRegexp == "" {
		c.errorf([]string{"signing", "keyless"}, "keyless signing needs identity or identityRegexp (e.g. https://github.com/OWNER/REPO/.github/workflows/main.yml@refs/heads/main) so verification knows who may sign")
	}
	pr := m.Signing.Promotion
	if pr == nil {
		return
	}
	switch {
	case pr.Key == "" && pr.Keyless == nil:
		c.errorf([]string{"signing", "promotion"}, "signing.promotion needs key or keyless naming who signs promotion records (e.g. keyless: identity: \"https://github.com/OWNER/REPO/.github/workflows/main.yml@refs/heads/main\")")
	case pr.Key != "" && pr.Keyless != nil:
		c.errorf([]string{"signing", "promotion"}, "signing.promotion names both key and keyless: name one signer of promotion records")
	case pr.Keyless != nil && pr.Keyless.Identity == "" && pr.Keyless.IdentityRegexp == "":
		c.errorf([]string{"signing", "promotion", "keyless"}, "signing.promotion.keyless needs identity or identityRegexp (e.g. https://github.com/OWNER/REPO/.github/workflows/main.yml@refs/heads/main)")
	case pr.Keyless != nil && pr.Keyless.IdentityRegexp != "":
		if _, err := regexp.Compile(pr.Keyless.IdentityRegexp); err != nil {
			c.errorf([]string{"signing", "promotion", "keyless", "identityRegexp"}, "identityRegexp %q does not compile: %v", pr.Keyless.IdentityRegexp, err)
		}
	}
	if pr.Key != "" && pr.Key == m.Signing.Key {
		c.errorf([]string{"signing", "promotion", "key"}, "signing.promotion.key is signing.key (%s): pull-request workflows hold the candidates' key; give promotion records a key of their own", pr.Key)
	}
}

// repoRoot is the closest directory above dir holding .git, or dir.
func repoRoot(dir string) string {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}
