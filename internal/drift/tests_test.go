package drift

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/mlship/mlship/schema"
)

func loadSchema(t *testing.T) cue.Value {
	t.Helper()
	v := cuecontext.New().CompileString(schema.Source, cue.Filename(schema.Filename))
	if err := v.Err(); err != nil {
		t.Fatalf("compiling the embedded schema: %v", err)
	}
	return v
}

// TestRegistryMatchesSchema: the registry holds exactly the tests the
// schema's #DriftTest enum lists, so a test added on one side only fails
// here rather than at a user's spec.
func TestRegistryMatchesSchema(t *testing.T) {
	t.Parallel()
	enum := loadSchema(t).LookupPath(cue.ParsePath("#DriftTest"))
	if err := enum.Err(); err != nil {
		t.Fatal(err)
	}
	op, args := enum.Expr()
	if op != cue.OrOp {
		t.Fatalf("#DriftTest is not a disjunction (op %v)", op)
	}
	var want []string
	for _, a := range args {
		s, err := a.String()
		if err != nil {
			t.Fatalf("#DriftTest member %v: %v", a, err)
		}
		want = append(want, s)
	}
	slices.Sort(want)
	got := TestNames()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("registry tests %v, schema #DriftTest %v", got, want)
	}
	for _, info := range Tests() {
		if len(info.Kinds) == 0 || info.DefaultThreshold <= 0 {
			t.Errorf("test %s: kinds %v, default threshold %v", info.Name, info.Kinds, info.DefaultThreshold)
		}
		d, _ := lookupTest(info.Name)
		if slices.Contains(info.Kinds, Numerical) != (d.numeric != nil) || slices.Contains(info.Kinds, Categorical) != (d.categorical != nil) {
			t.Errorf("test %s: kinds %v do not match its scorers", info.Name, info.Kinds)
		}
	}
}

// TestDefaultsMatchSchema: the Go defaults equal the schema's, which is
// the source of truth.
func TestDefaultsMatchSchema(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	def := func(path string) cue.Value {
		v, ok := s.LookupPath(cue.ParsePath(path)).Default()
		if !ok {
			t.Fatalf("%s has no default in the schema", path)
		}
		return v
	}
	share, err := def("#Drift.shareThreshold").Float64()
	if err != nil || share != DefaultShareThreshold {
		t.Errorf("schema #Drift.shareThreshold default %v (%v), Go DefaultShareThreshold %v", share, err, DefaultShareThreshold)
	}
	budget, err := def("#Drift.memoryBudget").String()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ParseBytes(budget); err != nil || b != DefaultMemoryBudget {
		t.Errorf("schema #Drift.memoryBudget default %q = %d bytes (%v), Go DefaultMemoryBudget %d", budget, b, err, DefaultMemoryBudget)
	}
}

func TestTestFitsNamesEveryTest(t *testing.T) {
	t.Parallel()
	err := testFits("bogus", "")
	if err == nil {
		t.Fatal("unknown test accepted")
	}
	for _, n := range TestNames() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
	if err := testFits(TestKS, Categorical); err == nil {
		t.Error("ks accepted for a categorical column")
	}
	if err := testFits(TestChiSquare, Numerical); err == nil {
		t.Error("chisquare accepted for a numerical column")
	}
	if err := testFits(TestPSI, Categorical); err != nil {
		t.Error(err)
	}
}

// TestNaNStatisticIsNotComputed: a statistic that comes out NaN is
// reported as not computed and counted as drift, never as a 0 that passes;
// a column holding nothing but extreme values (±1.7e308 sentinels) cannot
// be tested and counts as drift too.
func TestNaNStatisticIsNotComputed(t *testing.T) {
	t.Parallel()
	for _, name := range TestNames() {
		d, _ := lookupTest(name)
		for _, s := range []score{{math.NaN(), 0.5}, {0.5, math.NaN()}} {
			if !d.PValue && !math.IsNaN(s.stat) {
				continue
			}
			o := verdict(d, s, d.DefaultThreshold)
			if !o.drift || o.notComputed == "" {
				t.Errorf("%s on %v: %+v, want not computed and drift", name, s, o)
			}
		}
	}
	var ref, cur strings.Builder
	ref.WriteString("x\n")
	cur.WriteString("x\n")
	for i := range 50 {
		fmt.Fprintf(&ref, "%g\n", float64(i%2*2-1)*1.7e308)
		fmt.Fprintf(&cur, "%g\n", float64(i%2*2-1)*1.7e308)
	}
	res, err := Compare(context.Background(), File(writeFile(t, "ref.csv", ref.String())), File(writeFile(t, "cur.csv", cur.String())), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Columns[0]; !c.NotComputed || !c.Drift || c.Extreme != (Missing{Reference: 50, Current: 50}) {
		t.Fatalf("only extreme values: %+v, want not computed, drift, 50/50 extreme", c)
	}
}
