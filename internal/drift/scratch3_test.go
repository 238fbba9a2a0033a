package drift

import ("testing";"context";"time")

func TestScratchBig(t *testing.T) {
	t0 := time.Now()
	res, err := Compare(context.Background(), File("/tmp/drbench/reference.csv"), File("/tmp/drbench/current.csv"), Config{ExtraTests: []string{"ks"}})
	if err != nil { t.Fatal(err) }
	t.Logf("total %v %+v", time.Since(t0), res.Columns[0])
}
