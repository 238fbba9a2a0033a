package drift

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Test names, as the spec's #DriftTest spells them.
const (
	TestKS            = "ks"
	TestChiSquare     = "chisquare"
	TestWasserstein   = "wasserstein"
	TestJensenShannon = "jensenshannon"
	TestPSI           = "psi"
	TestKL            = "kl"
)

// TestInfo describes one registered drift test.
type TestInfo struct {
	Name string
	// Kinds are the column types the test applies to.
	Kinds []ColumnType
	// PValue: the score is a p-value and drift means p < threshold;
	// otherwise it is a distance and drift means distance >= threshold.
	PValue bool
	// DefaultThreshold is used when the spec sets none.
	DefaultThreshold float64
}

// testDef is one entry of the registry: what the test is and how it scores
// each kind of column. A nil scorer means the test does not apply.
type testDef struct {
	TestInfo
	numeric     func(s *numericSample) score
	categorical func(refCounts, curCounts []float64) score
}

// registry is the one table of drift tests: names, kinds, defaults and
// scorers. Adding a test is adding an entry here and to #DriftTest in
// schema/model.cue (TestRegistryMatchesSchema checks they agree). It is
// read-only after initialisation.
var registry = [...]testDef{
	{
		TestInfo: TestInfo{Name: TestKS, Kinds: []ColumnType{Numerical}, PValue: true, DefaultThreshold: DefaultPValue},
		numeric:  ksScore,
	},
	{
		TestInfo:    TestInfo{Name: TestChiSquare, Kinds: []ColumnType{Categorical}, PValue: true, DefaultThreshold: DefaultPValue},
		categorical: chiSquareScore,
	},
	{
		TestInfo: TestInfo{Name: TestWasserstein, Kinds: []ColumnType{Numerical}, DefaultThreshold: DefaultDistance},
		numeric:  wassersteinScore,
	},
	binnedTest(TestJensenShannon, false, JensenShannonDistance),
	binnedTest(TestPSI, true, PSI),
	binnedTest(TestKL, true, KLDivergence),
}

// Tests lists the registered drift tests in registry order.
func Tests() []TestInfo {
	out := make([]TestInfo, len(registry))
	for i, d := range registry {
		out[i] = d.TestInfo
		out[i].Kinds = slices.Clone(d.Kinds)
	}
	return out
}

// TestNames are the registered test names in registry order.
func TestNames() []string {
	out := make([]string, len(registry))
	for i, d := range registry {
		out[i] = d.Name
	}
	return out
}

func lookupTest(name string) (*testDef, bool) {
	for i := range registry {
		if registry[i].Name == name {
			return &registry[i], true
		}
	}
	return nil, false
}

// LookupTest returns a registered test's description.
func LookupTest(name string) (TestInfo, bool) {
	d, ok := lookupTest(name)
	if !ok {
		return TestInfo{}, false
	}
	info := d.TestInfo
	info.Kinds = slices.Clone(d.Kinds)
	return info, true
}

// testFits checks a test name and, when the type is known, that the test
// applies to it.
func testFits(test string, typ ColumnType) error {
	d, ok := lookupTest(test)
	if !ok {
		return fmt.Errorf("unknown drift test %q: use %s", test, strings.Join(TestNames(), ", "))
	}
	if typ != "" && !slices.Contains(d.Kinds, typ) {
		return fmt.Errorf("test %q needs a %s column", test, d.Kinds[0])
	}
	return nil
}

// hasPValue reports whether a test's score is a p-value (drift when below
// the threshold) rather than a distance (drift when at or above it).
func hasPValue(test string) bool {
	d, ok := lookupTest(test)
	return ok && d.PValue
}

func defaultThreshold(test string) float64 {
	if d, ok := lookupTest(test); ok {
		return d.DefaultThreshold
	}
	return DefaultDistance
}

// binnedTest is a distance between the binned shares of the two samples;
// fill replaces empty bins by a small share first (the measure would be
// infinite otherwise).
func binnedTest(name string, fill bool, dist func(p, q []float64) float64) testDef {
	f := func(rc, cc []float64) score {
		rp, cp := normalize(rc), normalize(cc)
		if rp == nil || cp == nil {
			return score{math.NaN(), math.NaN()}
		}
		if fill {
			fillZeros(rp)
			fillZeros(cp)
		}
		return score{dist(rp, cp), math.NaN()}
	}
	return testDef{
		TestInfo:    TestInfo{Name: name, Kinds: []ColumnType{Numerical, Categorical}, DefaultThreshold: DefaultDistance},
		numeric:     func(s *numericSample) score { return f(s.bins()) },
		categorical: f,
	}
}

func ksScore(s *numericSample) score {
	if s.r.w == nil && s.c.w == nil {
		d, p, _ := KSTwoSample(s.r.vals, s.c.vals)
		return score{d, p}
	}
	d := ksWeighted(s.r.vals, s.r.w, s.c.vals, s.c.w)
	nr, nc := int(s.r.n), int(s.c.n)
	dd, p, _ := KSPValue(d, nr, nc, max(nr, nc) <= maxAutoExactN)
	if s.r.exact && s.c.exact {
		d = dd // the lattice-rounded statistic, as KSTwoSample gives
	}
	return score{d, p}
}

func wassersteinScore(s *numericSample) score {
	return score{NormedWasserstein(WassersteinWeighted(s.r.vals, s.r.w, s.c.vals, s.c.w), s.r.std()), math.NaN()}
}

func chiSquareScore(rc, cc []float64) score {
	s, p, _ := ChiSquareHomogeneity(rc, cc)
	return score{s, p}
}
