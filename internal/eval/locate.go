package eval

import (
	"bufio"
	"os"
	"regexp"
	"strings"

	"github.com/mlship/mlship/internal/spec"
)

// Location is a position in a spec file.
type Location struct {
	File string
	Line int
}

// LocateMetric finds the line of the spec that declares metric: its key
// under eval.metrics, else under an environment's gates, else the eval
// section itself. It reads the spec's files (model.Files) and returns false
// when none is readable; it is a best effort for annotations, not a parser.
func LocateMetric(model *spec.Model, metric string) (Location, bool) {
	key := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(metric) + `"?\??\s*:`)
	inline := regexp.MustCompile(`[{\s,]"?` + regexp.QuoteMeta(metric) + `"?\??\s*:`)
	var evalLine, gateLine Location
	for _, f := range model.Files {
		path := f
		if !strings.HasPrefix(path, "/") && model.Dir != "" {
			if _, err := os.Stat(path); err != nil {
				path = inDir(model.Dir, f)
			}
		}
		fh, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		n := 0
		section := ""
		for sc.Scan() {
			n++
			line := sc.Text()
			trim := strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(trim, "eval:") || strings.HasPrefix(trim, `"eval":`):
				section = "eval"
				if evalLine.Line == 0 {
					evalLine = Location{File: f, Line: n}
				}
			case strings.HasPrefix(trim, "environments:") || strings.HasPrefix(trim, `"environments":`):
				section = "environments"
			case !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") && trim != "" && trim != "}" && trim != "},":
				section = ""
			}
			if key.MatchString(line) || (strings.Contains(line, "metrics") || strings.Contains(line, "gates")) && inline.MatchString(line) {
				switch section {
				case "eval":
					fh.Close()
					return Location{File: f, Line: n}, true
				case "environments":
					if gateLine.Line == 0 {
						gateLine = Location{File: f, Line: n}
					}
				}
			}
		}
		fh.Close()
	}
	if gateLine.Line > 0 {
		return gateLine, true
	}
	return evalLine, evalLine.Line > 0
}
