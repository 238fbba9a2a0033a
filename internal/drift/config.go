package drift

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/mlship/mlship/internal/spec"
)

// Defaults (Evidently's).
const (
	DefaultShareThreshold  = 0.5
	DefaultMemoryBudget    = 1 << 30
	DefaultSmallSampleRows = 1000
	DefaultPValue          = 0.05
	DefaultDistance        = 0.1
)

// Source is a data file: CSV, Parquet or JSON Lines, chosen by Format or
// else by the file extension (.parquet/.pq are Parquet, .jsonl/.ndjson JSON
// Lines, anything else CSV; a .gz suffix or gzip's magic bytes mean
// gzip-compressed, except for Parquet).
type Source struct {
	Path   string
	Format string // "csv", "parquet" or "" (by extension)
	// profile, when set, is the data (a reference profile): see
	// ProfileSource.
	profile *Profile
	// paths, when set, are several files read as one data set: see Files.
	paths []string
}

// File is a Source for path with its format inferred from the extension.
func File(path string) Source { return Source{Path: path} }

func (s Source) format() string {
	if s.profile != nil {
		return "profile"
	}
	if s.Format != "" {
		return strings.ToLower(s.Format)
	}
	if len(s.paths) > 0 {
		return "files"
	}
	f, _ := fileFormat(s.Path)
	return f
}

// ColumnConfig overrides inference and defaults for one column.
type ColumnConfig struct {
	Type      ColumnType // "" infers
	Test      string     // "" picks the default for the type and size
	Threshold *float64   // nil uses the test's default
	Ignore    bool
}

// Config is what Compare needs besides the two data sets. The zero value
// uses every default.
type Config struct {
	Columns map[string]ColumnConfig
	// ShareThreshold: the data set has drifted when the share of drifted
	// columns is at least this (default 0.5).
	ShareThreshold float64
	// MemoryBudget bounds the memory exact statistics may hold, in bytes
	// (default 1 GiB). Above it numeric columns switch to fixed-bin
	// histograms and the result's Mode is "approximate".
	MemoryBudget int64
	// SmallSampleRows: with at most this many reference rows the defaults
	// are the Kolmogorov–Smirnov and chi-squared tests, above it the
	// Wasserstein and Jensen–Shannon distances (default 1000).
	SmallSampleRows int64
	// Workers is how many columns are tested at once (default GOMAXPROCS).
	Workers int
	// ExtraTests are computed too, for every column they apply to, and
	// reported in ColumnResult.Extra; they do not decide drift.
	ExtraTests []string
	// exactCurrent keeps every current value against a profile's
	// centroids instead of binning them (fineHist): tests compare the two.
	exactCurrent bool
	// sequential reads CSV on one goroutine even when the column types
	// are fixed (see scanCSVPipelined): tests compare the two.
	sequential bool
}

func (c Config) withDefaults() Config {
	if c.ShareThreshold <= 0 {
		c.ShareThreshold = DefaultShareThreshold
	}
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = DefaultMemoryBudget
	}
	if c.SmallSampleRows <= 0 {
		c.SmallSampleRows = DefaultSmallSampleRows
	}
	return c
}

func (c Config) validate() error {
	if c.ShareThreshold <= 0 || c.ShareThreshold > 1 {
		return fmt.Errorf("drift share threshold %v is out of range: use a number in (0, 1]", c.ShareThreshold)
	}
	for _, t := range c.ExtraTests {
		if err := testFits(t, ""); err != nil {
			return fmt.Errorf("extra test: %w", err)
		}
	}
	names := make([]string, 0, len(c.Columns))
	for n := range c.Columns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cc := c.Columns[n]
		switch cc.Type {
		case "", Numerical, Categorical:
		default:
			return fmt.Errorf("column %q: unknown type %q: use numerical or categorical", n, cc.Type)
		}
		if cc.Test != "" {
			if err := testFits(cc.Test, cc.Type); err != nil {
				return fmt.Errorf("column %q: %w", n, err)
			}
		}
		if cc.Threshold != nil && (math.IsNaN(*cc.Threshold) || *cc.Threshold < 0) {
			return fmt.Errorf("column %q: threshold %v must be a non-negative number", n, *cc.Threshold)
		}
	}
	return nil
}

// ConfigFromSpec converts the spec's drift section. The reference and
// current paths are resolved against the spec directory by the caller
// (they are returned as given).
func ConfigFromSpec(d *spec.Drift) (Config, error) {
	var c Config
	if d == nil {
		return c, nil
	}
	c.ShareThreshold = d.ShareThreshold
	if d.MemoryBudget != "" {
		b, err := ParseBytes(d.MemoryBudget)
		if err != nil {
			return c, fmt.Errorf("drift.memoryBudget: %w", err)
		}
		c.MemoryBudget = b
	}
	if len(d.Columns) > 0 {
		c.Columns = make(map[string]ColumnConfig, len(d.Columns))
		for name, dc := range d.Columns {
			c.Columns[name] = ColumnConfig{Type: ColumnType(dc.Type), Test: dc.Test, Threshold: dc.Threshold, Ignore: dc.Ignore}
		}
	}
	return c, c.withDefaults().validate()
}

// ParseBytes reads a size such as "1GiB", "512MiB", "200MB", "64k" or a
// plain number of bytes.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid size %q: use a number of bytes or a unit such as 512MiB or 2GiB", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1e3, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1e6, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1e9, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1e12, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KiB, MiB, GiB, KB, MB, GB)", s, unit)
	}
	return int64(v * mult), nil
}
