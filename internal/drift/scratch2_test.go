package drift

import ("testing";"context";"encoding/json")

func TestScratchE2E(t *testing.T) {
	for _, tag := range []string{"small","large"} {
		for _, test := range []string{"ks","wasserstein"} {
			cfg := Config{Columns: map[string]ColumnConfig{"a": {Test: test}, "b": {Test: test}, "d": {Test: test}}}
			res, err := Compare(context.Background(), File("/tmp/driftref/e2e/ref_"+tag+".csv"), File("/tmp/driftref/e2e/cur_"+tag+".csv"), cfg)
			if err != nil { t.Fatal(err) }
			for _, c := range res.Columns { b, _ := json.Marshal(c); t.Logf("%s %s", tag, b) }
		}
	}
}
