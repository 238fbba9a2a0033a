package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// ProfileMediaType is the media type of a reference profile (its JSON
// form), as a layer of the model artifact.
const ProfileMediaType = "application/vnd.mlship.drift.profile.v1+json"

// ProfileVersion is the version of the profile format this package writes
// and reads.
const ProfileVersion = 1

// ProfileCentroids is how many equal-mass centroids summarise a numerical
// column with more distinct values than that; with at most that many the
// profile keeps every distinct value and its count (exact).
const ProfileCentroids = 1024

// MaxProfileBytes bounds the profile a reader accepts (it comes from a
// registry).
const MaxProfileBytes = 64 << 20

// Profile is the compact summary of a reference data set that drift tests
// need in place of the data: per numerical column its distinct values with
// counts (up to ProfileCentroids of them) or that many equal-mass
// centroids, its exact moments and range; per categorical column every
// category's count, in the order the loader met them. It is the one type
// and ParseProfile the one parser of the profile format.
type Profile struct {
	Version int         `json:"version"`
	Source  DatasetInfo `json:"source"`
	// Mode is how the values were read (ModeExact or ModeApproximate when
	// the memory budget forced histograms while profiling).
	Mode    string          `json:"mode"`
	Columns []ColumnProfile `json:"columns"`
	Ignored []string        `json:"ignored,omitempty"`
}

// ColumnProfile is one column of a Profile.
type ColumnProfile struct {
	Name      string     `json:"name"`
	Type      ColumnType `json:"type"`
	Missing   int64      `json:"missing"`
	NonFinite int64      `json:"nonFinite,omitempty"`
	Extreme   int64      `json:"extreme,omitempty"`
	// Count is the number of values tested (not missing, not extreme).
	Count int64 `json:"count"`
	// Numerical: Exact says Values are every distinct value and Weights
	// their counts; otherwise Values are centroid means (sorted) and
	// Weights the values each stands for.
	Exact   bool      `json:"exact,omitempty"`
	Min     float64   `json:"min,omitempty"`
	Max     float64   `json:"max,omitempty"`
	Mean    float64   `json:"mean,omitempty"`
	Std     float64   `json:"std,omitempty"`
	Values  []float64 `json:"values,omitempty"`
	Weights []float64 `json:"weights,omitempty"`
	// Categorical.
	Categories []CategoryCount `json:"categories,omitempty"`
}

// CategoryCount is one category of a categorical column.
type CategoryCount struct {
	Label string `json:"label"`
	Count int64  `json:"count"`
}

// ProfileSource is a Source whose data is a reference profile; Compare
// accepts it as the reference.
func ProfileSource(p *Profile) Source { return Source{Path: p.Source.Path, profile: p} }

// BuildProfile reads the reference data set once and summarises every
// column (cfg gives types, ignored columns and the memory budget).
func BuildProfile(ctx context.Context, src Source, cfg Config) (*Profile, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if src.profile != nil {
		return src.profile, nil
	}
	l := newLoader(cfg)
	rows, err := l.read(ctx, src, refSet)
	if err != nil {
		return nil, err
	}
	l.settle()
	p := &Profile{Version: ProfileVersion, Source: DatasetInfo{Path: src.Path, Format: src.format(), Rows: rows},
		Mode: ModeExact, Ignored: l.ignored}
	if l.approx {
		p.Mode = ModeApproximate
	}
	var scratch []uint64
	for _, c := range l.cols {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cp := ColumnProfile{Name: c.name, Type: c.typ, Missing: c.missing[refSet], NonFinite: c.nonFinite[refSet], Extreme: c.extreme[refSet]}
		if c.typ == Categorical {
			for id, n := range c.cat.counts[refSet] {
				if n > 0 {
					cp.Categories = append(cp.Categories, CategoryCount{Label: c.cat.labels[id], Count: n})
					cp.Count += n
				}
			}
		} else {
			profileNumeric(&cp, &c.num[refSet], l.approx, &scratch)
		}
		p.Columns = append(p.Columns, cp)
	}
	return p, nil
}

func profileNumeric(cp *ColumnProfile, s *numStore, approx bool, scratch *[]uint64) {
	cp.Count = s.n
	if s.n == 0 {
		return
	}
	var vals, w []float64
	if approx {
		vals, w = s.hist.points()
		h := s.hist
		cp.Min, cp.Max, cp.Mean, cp.Std = h.min, h.max, h.mean, math.Sqrt(h.m2/h.n)
	} else {
		x := s.values()
		sortFloats(x, scratch)
		cp.Min, cp.Max, cp.Std = x[0], x[len(x)-1], PopStd(x)
		var sum float64
		for _, v := range x {
			sum += v
		}
		cp.Mean = sum / float64(len(x))
		// Distinct values and their counts.
		for i := 0; i < len(x); {
			j := i + 1
			for j < len(x) && x[j] == x[i] {
				j++
			}
			vals = append(vals, x[i])
			w = append(w, float64(j-i))
			i = j
		}
		if len(vals) <= ProfileCentroids {
			cp.Exact, cp.Values, cp.Weights = true, vals, w
			return
		}
	}
	cp.Values, cp.Weights = centroids(vals, w, ProfileCentroids)
}

// centroids compresses sorted weighted points into at most k equal-mass
// groups, each the weighted mean of its points. A point heavier than a
// group's share stays a group of its own, so ties are never split.
func centroids(vals, w []float64, k int) (cv, cw []float64) {
	if len(vals) <= k {
		return vals, w
	}
	var total float64
	for _, x := range w {
		total += x
	}
	var acc, sum, wt float64
	group := 1
	for i, v := range vals {
		sum += v * w[i]
		wt += w[i]
		acc += w[i]
		// Close the group once the cumulative weight reaches its share.
		if acc >= total*float64(group)/float64(k) || i == len(vals)-1 {
			cv = append(cv, sum/wt)
			cw = append(cw, wt)
			sum, wt = 0, 0
			for acc >= total*float64(group)/float64(k) && group < k {
				group++
			}
		}
	}
	return cv, cw
}

// profileSide is a profile's numerical column as a scorer's reference.
func profileSide(cp *ColumnProfile) side {
	std := cp.Std
	return side{vals: cp.Values, w: cp.Weights, n: float64(cp.Count), min: cp.Min, max: cp.Max,
		std: func() float64 { return std }, exact: cp.Exact, spread: !cp.Exact}
}

// defineFromProfile sets up the columns from a profile: types are the
// profile's (fixed), categorical counts are its counts.
func (l *loader) defineFromProfile(p *Profile) error {
	names := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		names[i] = c.Name
	}
	if err := l.defineColumns(p.Source.Path, names); err != nil {
		return err
	}
	for i := range p.Columns {
		cp := &p.Columns[i]
		c := l.byName[cp.Name]
		if c.cfg.Ignore {
			continue
		}
		if c.cfg.Type != "" && c.cfg.Type != cp.Type {
			return fmt.Errorf("column %q is %s in the reference profile but configured %s: the profile's type holds (rebuild the profile to change it)", cp.Name, cp.Type, c.cfg.Type)
		}
		c.typ, c.declared = cp.Type, true
		c.missing[refSet], c.nonFinite[refSet], c.extreme[refSet] = cp.Missing, cp.NonFinite, cp.Extreme
		if cp.Type == Categorical {
			c.cat = newCatStore()
			for _, cc := range cp.Categories {
				c.cat.addString(refSet, cc.Label, cc.Count)
			}
			l.used += c.cat.bytes
			continue
		}
		c.prof = cp
		c.num[refSet].n = cp.Count
	}
	return nil
}

// ParseProfile reads a profile (at most MaxProfileBytes) and checks it: a
// known version, unique names, known types, finite sorted values with
// positive weights that add up to the count, categories that add up too.
func ParseProfile(r io.Reader) (*Profile, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxProfileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the reference profile: %w", err)
	}
	if len(b) > MaxProfileBytes {
		return nil, fmt.Errorf("reference profile larger than %d bytes: refused", MaxProfileBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("reference profile is not valid JSON of version %d: %w", ProfileVersion, err)
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("reference profile: %w", err)
	}
	return &p, nil
}

// Check validates a profile (see ParseProfile).
func (p *Profile) Check() error {
	if p.Version != ProfileVersion {
		return fmt.Errorf("version %d is not supported: this mlship reads version %d", p.Version, ProfileVersion)
	}
	if p.Source.Rows < 0 {
		return errors.New("negative row count")
	}
	if len(p.Columns) == 0 {
		return errors.New("no columns")
	}
	seen := map[string]bool{}
	for i := range p.Columns {
		c := &p.Columns[i]
		if seen[c.Name] {
			return fmt.Errorf("column %q appears twice", c.Name)
		}
		seen[c.Name] = true
		if c.Missing < 0 || c.NonFinite < 0 || c.Extreme < 0 || c.Count < 0 || c.NonFinite > c.Missing {
			return fmt.Errorf("column %q: negative or inconsistent counts", c.Name)
		}
		// By subtraction (all are non-negative): a sum could wrap
		// around int64 and pass.
		if rows := p.Source.Rows; c.Missing > rows || c.Extreme > rows-c.Missing || c.Count > rows-c.Missing-c.Extreme {
			return fmt.Errorf("column %q: %d values and %d missing in %d rows", c.Name, c.Count, c.Missing, p.Source.Rows)
		}
		switch c.Type {
		case Categorical:
			if len(c.Values)+len(c.Weights) > 0 {
				return fmt.Errorf("column %q: categorical with numerical values", c.Name)
			}
			var n int64
			labels := map[string]bool{}
			for _, cc := range c.Categories {
				if cc.Count <= 0 || labels[cc.Label] {
					return fmt.Errorf("column %q: category %q has count %d or appears twice", c.Name, cc.Label, cc.Count)
				}
				labels[cc.Label] = true
				if cc.Count > c.Count-n {
					return fmt.Errorf("column %q: categories add up to more than the count %d", c.Name, c.Count)
				}
				n += cc.Count
			}
			if n != c.Count {
				return fmt.Errorf("column %q: categories add up to %d, count is %d", c.Name, n, c.Count)
			}
		case Numerical:
			if len(c.Categories) > 0 {
				return fmt.Errorf("column %q: numerical with categories", c.Name)
			}
			if err := checkNumericProfile(c); err != nil {
				return fmt.Errorf("column %q: %w", c.Name, err)
			}
		default:
			return fmt.Errorf("column %q: unknown type %q", c.Name, c.Type)
		}
	}
	return nil
}

func checkNumericProfile(c *ColumnProfile) error {
	if len(c.Values) != len(c.Weights) {
		return fmt.Errorf("%d values but %d weights", len(c.Values), len(c.Weights))
	}
	if len(c.Values) > 4*ProfileCentroids && !c.Exact {
		return fmt.Errorf("%d centroids: at most %d", len(c.Values), 4*ProfileCentroids)
	}
	if c.Count == 0 {
		if len(c.Values) > 0 {
			return errors.New("values but a count of 0")
		}
		return nil
	}
	if len(c.Values) == 0 {
		return fmt.Errorf("count %d but no values", c.Count)
	}
	for _, x := range []float64{c.Min, c.Max, c.Mean, c.Std} {
		if math.IsNaN(x) || math.Abs(x) > ExtremeLimit*2 {
			return errors.New("min, max, mean or std not a finite number in range")
		}
	}
	if c.Std < 0 || c.Min > c.Max {
		return errors.New("negative std or min above max")
	}
	// The moments of values in [min, max]: a mean outside the range, or a
	// std above its width (which would shrink every normed distance to
	// nothing), describes other data.
	tol := 1e-9 * (math.Abs(c.Min) + math.Abs(c.Max) + 1)
	if c.Mean < c.Min-tol || c.Mean > c.Max+tol || c.Std > c.Max-c.Min+tol {
		return fmt.Errorf("mean %v or std %v do not fit values in [%v, %v]", c.Mean, c.Std, c.Min, c.Max)
	}
	var total float64
	for i, v := range c.Values {
		if math.IsNaN(v) || v < c.Min || v > c.Max || (i > 0 && v <= c.Values[i-1]) {
			return fmt.Errorf("value %d (%v) is not finite, outside [min, max] or not in increasing order", i, v)
		}
		if !(c.Weights[i] > 0) || math.IsInf(c.Weights[i], 0) {
			return fmt.Errorf("weight %d (%v) is not a positive number", i, c.Weights[i])
		}
		total += c.Weights[i]
	}
	if math.Abs(total-float64(c.Count)) > 0.5 {
		return fmt.Errorf("weights add up to %v, count is %d", total, c.Count)
	}
	return nil
}

// WriteProfile writes p as JSON (one line, the form that is pushed).
func WriteProfile(w io.Writer, p *Profile) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding the reference profile: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Merge combines two profiles of data sets with the same columns (two
// days of reference data, two shards) into the profile of their union:
// counts, missing and extreme values add; min, max, mean and the
// population standard deviation combine exactly (Chan et al.'s parallel
// variance); numerical values merge as weighted points, kept exact while
// there are at most ProfileCentroids distinct values and both inputs are
// exact, else regrouped into ProfileCentroids equal-mass centroids;
// category counts add, in a's order then b's new categories.
func Merge(a, b *Profile) (*Profile, error) {
	if err := a.Check(); err != nil {
		return nil, fmt.Errorf("merging profiles: first: %w", err)
	}
	if err := b.Check(); err != nil {
		return nil, fmt.Errorf("merging profiles: second: %w", err)
	}
	if len(a.Columns) != len(b.Columns) {
		return nil, fmt.Errorf("merging profiles: %d columns and %d columns", len(a.Columns), len(b.Columns))
	}
	out := &Profile{Version: ProfileVersion, Mode: a.Mode, Ignored: a.Ignored,
		Source: DatasetInfo{Path: a.Source.Path + " + " + b.Source.Path, Format: a.Source.Format, Rows: a.Source.Rows + b.Source.Rows}}
	if b.Mode == ModeApproximate {
		out.Mode = ModeApproximate
	}
	for i := range a.Columns {
		ca, cb := &a.Columns[i], &b.Columns[i]
		if ca.Name != cb.Name || ca.Type != cb.Type {
			return nil, fmt.Errorf("merging profiles: column %d is %s %q and %s %q", i, ca.Type, ca.Name, cb.Type, cb.Name)
		}
		m := ColumnProfile{Name: ca.Name, Type: ca.Type, Missing: ca.Missing + cb.Missing, NonFinite: ca.NonFinite + cb.NonFinite,
			Extreme: ca.Extreme + cb.Extreme, Count: ca.Count + cb.Count}
		if ca.Type == Categorical {
			idx := map[string]int{}
			for _, cc := range append(append([]CategoryCount(nil), ca.Categories...), cb.Categories...) {
				if j, ok := idx[cc.Label]; ok {
					m.Categories[j].Count += cc.Count
					continue
				}
				idx[cc.Label] = len(m.Categories)
				m.Categories = append(m.Categories, cc)
			}
			out.Columns = append(out.Columns, m)
			continue
		}
		switch {
		case ca.Count == 0:
			m.Exact, m.Min, m.Max, m.Mean, m.Std = cb.Exact, cb.Min, cb.Max, cb.Mean, cb.Std
			m.Values, m.Weights = append([]float64(nil), cb.Values...), append([]float64(nil), cb.Weights...)
		case cb.Count == 0:
			m.Exact, m.Min, m.Max, m.Mean, m.Std = ca.Exact, ca.Min, ca.Max, ca.Mean, ca.Std
			m.Values, m.Weights = append([]float64(nil), ca.Values...), append([]float64(nil), ca.Weights...)
		default:
			na, nb := float64(ca.Count), float64(cb.Count)
			n := na + nb
			d := cb.Mean - ca.Mean
			m.Mean = ca.Mean + d*nb/n
			m2 := ca.Std*ca.Std*na + cb.Std*cb.Std*nb + d*d*na*nb/n
			m.Std = math.Sqrt(m2 / n)
			m.Min, m.Max = math.Min(ca.Min, cb.Min), math.Max(ca.Max, cb.Max)
			vals, w := mergePoints(ca.Values, ca.Weights, cb.Values, cb.Weights)
			if ca.Exact && cb.Exact && len(vals) <= ProfileCentroids {
				m.Exact, m.Values, m.Weights = true, vals, w
			} else {
				m.Values, m.Weights = centroids(vals, w, ProfileCentroids)
			}
		}
		out.Columns = append(out.Columns, m)
	}
	return out, out.Check()
}

// mergePoints merges two sorted weighted point sets, adding the weights of
// equal values.
func mergePoints(av, aw, bv, bw []float64) (vals, w []float64) {
	i, j := 0, 0
	for i < len(av) || j < len(bv) {
		switch {
		case j == len(bv) || (i < len(av) && av[i] < bv[j]):
			vals, w = append(vals, av[i]), append(w, aw[i])
			i++
		case i == len(av) || bv[j] < av[i]:
			vals, w = append(vals, bv[j]), append(w, bw[j])
			j++
		default:
			vals, w = append(vals, av[i]), append(w, aw[i]+bw[j])
			i++
			j++
		}
	}
	return vals, w
}
