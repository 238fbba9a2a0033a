package drift

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRedteamProfileCountOverflow: counts that only add up because int64
// wraps (categories of 2^63-1 that sum to the column's count, values and
// missing that overflow past the row check) are refused, and a profile
// whose std says nothing of its values (so that the normed Wasserstein
// distance of any shift is 0) too.
func TestRedteamProfileCountOverflow(t *testing.T) {
	t.Parallel()
	const max = "9223372036854775807"
	for name, bad := range map[string]string{
		"categories wrap":        `{"version":1,"source":{"rows":3},"columns":[{"name":"c","type":"categorical","missing":0,"count":2,"categories":[{"label":"x","count":` + max + `},{"label":"y","count":` + max + `},{"label":"z","count":4}]}]}`,
		"all at the int64 limit": `{"version":1,"source":{"rows":` + max + `},"columns":[{"name":"c","type":"categorical","missing":` + max + `,"extreme":` + max + `,"count":2,"categories":[{"label":"x","count":2}]}]}`,
		"count+missing wrap":     `{"version":1,"source":{"rows":3},"columns":[{"name":"c","type":"categorical","missing":` + max + `,"count":1,"categories":[{"label":"x","count":1}]}]}`,
		"std far from values":    `{"version":1,"source":{"path":"r","format":"csv","rows":3},"mode":"exact","columns":[{"name":"a","type":"numerical","missing":0,"count":3,"exact":true,"min":1,"max":3,"mean":2,"std":1e90,"values":[1,2,3],"weights":[1,1,1]}]}`,
		"mean outside range":     `{"version":1,"source":{"path":"r","format":"csv","rows":3},"mode":"exact","columns":[{"name":"a","type":"numerical","missing":0,"count":3,"exact":true,"min":1,"max":3,"mean":1e90,"std":0.8,"values":[1,2,3],"weights":[1,1,1]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := ParseProfile(strings.NewReader(bad))
			if err == nil {
				cur := filepath.Join(t.TempDir(), "cur.csv")
				_ = os.WriteFile(cur, []byte("c,a\nx,100\ny,200\nq,300\n"), 0o644)
				res, cerr := Compare(context.Background(), ProfileSource(p), File(cur), Config{})
				t.Errorf("accepted; compare: %v %+v", cerr, res)
			}
		})
	}
}
