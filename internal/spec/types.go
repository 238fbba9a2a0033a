package spec

// Model is the typed view of a validated spec. Field names follow the CUE
// schema (schema/model.cue); defaults have already been applied by CUE.
type Model struct {
	APIVersion   string                 `json:"apiVersion"`
	Name         string                 `json:"name"`
	Version      string                 `json:"version"`
	Description  string                 `json:"description,omitempty"`
	Owners       []string               `json:"owners"`
	Authors      []string               `json:"authors"`
	License      string                 `json:"license,omitempty"`
	Family       string                 `json:"family,omitempty"`
	Registry     Registry               `json:"registry"`
	Datasets     map[string]Dataset     `json:"datasets"`
	Train        *Train                 `json:"train,omitempty"`
	Eval         *Eval                  `json:"eval,omitempty"`
	Drift        *Drift                 `json:"drift,omitempty"`
	Monitor      *Monitor               `json:"monitor,omitempty"`
	Package      Package                `json:"package"`
	Environments map[string]Environment `json:"environments"`
	Signing      Signing                `json:"signing"`

	// EnvironmentOrder lists environment names so that each comes after
	// the one it promotes from (declaration order among peers).
	EnvironmentOrder []string `json:"environmentOrder"`

	// Dir is the directory the spec was loaded from (absolute); relative
	// paths in the spec are relative to it.
	Dir string `json:"-"`
	// Files are the spec files that were loaded, as given.
	Files []string `json:"-"`
	// Digest is the sha256 of the spec's canonical JSON (defaults applied),
	// recorded in lineage and package annotations.
	Digest string `json:"-"`
}

// Registry says where artifacts are pushed.
type Registry struct {
	Repository string `json:"repository"`
	PlainHTTP  bool   `json:"plainHTTP"`
}

// Dataset is a data file the model is trained, evaluated or monitored on.
type Dataset struct {
	URI    string `json:"uri"`
	Digest string `json:"digest,omitempty"`
	Role   string `json:"role"`
	Format string `json:"format"`
}

// Train describes how to run training.
type Train struct {
	Command         []string          `json:"command"`
	Workdir         string            `json:"workdir"`
	Env             map[string]string `json:"env"`
	Hyperparameters map[string]any    `json:"hyperparameters"`
	Seed            int64             `json:"seed"`
	Timeout         string            `json:"timeout"`
	GracePeriod     string            `json:"gracePeriod"`
	Runner          Runner            `json:"runner"`
	GPU             GPU               `json:"gpu"`
	Outputs         Outputs           `json:"outputs"`
	Sweep           *Sweep            `json:"sweep,omitempty"`
}

// Runner selects the Actions runner.
type Runner struct {
	Labels []string `json:"labels"`
}

// GPU is the training's GPU requirement. Count 0 means no GPU is needed.
type GPU struct {
	Count        int    `json:"count"`
	Type         string `json:"type,omitempty"`
	MinMemoryMiB int    `json:"minMemoryMiB"`
}

// Outputs are the paths training writes, relative to the spec directory.
type Outputs struct {
	Model   string `json:"model"`
	Metrics string `json:"metrics"`
}

// Sweep is a grid over hyperparameters.
type Sweep struct {
	Parameters map[string][]any `json:"parameters"`
	Metric     string           `json:"metric"`
	Goal       string           `json:"goal"`
	MaxRuns    int              `json:"maxRuns"`
}

// Eval describes how a model is evaluated and gated.
type Eval struct {
	Command      []string          `json:"command,omitempty"`
	MetricsFile  string            `json:"metricsFile"`
	ExamplesFile string            `json:"examplesFile,omitempty"`
	Baseline     string            `json:"baseline"`
	Metrics      map[string]Metric `json:"metrics"`
	Bootstrap    Bootstrap         `json:"bootstrap"`
}

// Metric is one gated metric.
type Metric struct {
	Direction     string   `json:"direction"`
	Min           *float64 `json:"min,omitempty"`
	Max           *float64 `json:"max,omitempty"`
	MaxRegression *float64 `json:"maxRegression,omitempty"`
}

// Bootstrap configures paired bootstrap confidence intervals.
type Bootstrap struct {
	Samples    int     `json:"samples"`
	Confidence float64 `json:"confidence"`
	Seed       int64   `json:"seed"`
}

// Drift describes the data drift check.
type Drift struct {
	Reference      string                 `json:"reference"`
	Current        string                 `json:"current"`
	Columns        map[string]DriftColumn `json:"columns"`
	ShareThreshold float64                `json:"shareThreshold"`
	MemoryBudget   string                 `json:"memoryBudget"`
}

// DriftColumn overrides inference and defaults for one column.
type DriftColumn struct {
	Type      string   `json:"type,omitempty"`
	Test      string   `json:"test,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	Ignore    bool     `json:"ignore"`
}

// Monitor is how `mlship monitor` checks an environment's production
// samples. Unset thresholds default to the drift section's (see
// MonitorDrift).
type Monitor struct {
	Current        string                 `json:"current,omitempty"`
	Columns        map[string]DriftColumn `json:"columns"`
	ShareThreshold *float64               `json:"shareThreshold,omitempty"`
	MemoryBudget   string                 `json:"memoryBudget,omitempty"`
	Prediction     string                 `json:"prediction,omitempty"`
	Label          string                 `json:"label,omitempty"`
	Alert          MonitorAlert           `json:"alert"`
}

// MonitorAlert says how the alert issue is kept.
type MonitorAlert struct {
	Labels      []string `json:"labels"`
	Assignees   []string `json:"assignees"`
	History     int      `json:"history"`
	Dispatch    string   `json:"dispatch,omitempty"`
	FailOnAlert bool     `json:"failOnAlert"`
}

// MonitorDrift is the drift configuration monitoring uses: the drift
// section with the monitor section's columns, share threshold and memory
// budget laid over it; prediction and label columns are ignored (they are
// scored, not tested for drift). Either section may be absent.
func (m *Model) MonitorDrift() Drift {
	var d Drift
	if m.Drift != nil {
		d = *m.Drift
	}
	cols := map[string]DriftColumn{}
	for k, v := range d.Columns {
		cols[k] = v
	}
	if mo := m.Monitor; mo != nil {
		for k, v := range mo.Columns {
			cols[k] = v
		}
		if mo.ShareThreshold != nil {
			d.ShareThreshold = *mo.ShareThreshold
		}
		if mo.MemoryBudget != "" {
			d.MemoryBudget = mo.MemoryBudget
		}
		for _, c := range []string{mo.Prediction, mo.Label} {
			if c != "" {
				cols[c] = DriftColumn{Ignore: true}
			}
		}
	}
	d.Columns = cols
	return d
}

// Package lists what goes into the ModelPack artifact.
type Package struct {
	Files        []File     `json:"files"`
	Format       string     `json:"format,omitempty"`
	Architecture string     `json:"architecture,omitempty"`
	Precision    string     `json:"precision,omitempty"`
	Quantization string     `json:"quantization,omitempty"`
	ParamSize    string     `json:"paramSize,omitempty"`
	Framework    *Framework `json:"framework,omitempty"`
}

// Framework names the ML framework the weights belong to.
type Framework struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// File is a file or directory packaged as one layer.
type File struct {
	Path     string `json:"path"`
	Role     string `json:"role"`
	Compress string `json:"compress"`
}

// Environment is a deployment stage with its promotion rules.
type Environment struct {
	After        string          `json:"after,omitempty"`
	AllowSkip    bool            `json:"allowSkip"`
	Gates        map[string]Gate `json:"gates"`
	Approvals    Approvals       `json:"approvals"`
	Attestations []string        `json:"attestations"`
}

// Gate is an absolute bound on a metric for one environment.
type Gate struct {
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Approvals is the review requirement on promotion pull requests.
type Approvals struct {
	Required  int      `json:"required"`
	Reviewers []string `json:"reviewers"`
}

// Signing is the verification policy: who may sign.
type Signing struct {
	Key     string   `json:"key,omitempty"`
	Keyless *Keyless `json:"keyless,omitempty"`
	// Promotion, when set, is the only signer whose promotion records
	// count (apart from Key/Keyless, which sign candidates).
	Promotion *PromotionSigning `json:"promotion,omitempty"`
	TLog      bool              `json:"tlog"`
	MaxAge    string            `json:"maxAge"`
}

// PromotionSigning names who signs promotion records: a key or a keyless
// identity (issuer defaulting to GitHub Actions').
type PromotionSigning struct {
	Key     string   `json:"key,omitempty"`
	Keyless *Keyless `json:"keyless,omitempty"`
}

// Keyless is a Sigstore keyless identity.
type Keyless struct {
	Identity       string `json:"identity,omitempty"`
	IdentityRegexp string `json:"identityRegexp,omitempty"`
	Issuer         string `json:"issuer"`
	FulcioURL      string `json:"fulcioURL"`
	RekorURL       string `json:"rekorURL"`
}

// Environments is the desired state file (mlship/environments.cue).
type Environments struct {
	Environments map[string]EnvState `json:"environments"`
}

// EnvState is what one environment should run.
type EnvState struct {
	Digest     string `json:"digest"`
	Version    string `json:"version,omitempty"`
	PromotedBy string `json:"promotedBy,omitempty"`
}
