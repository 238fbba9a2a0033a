package spec

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/mlship/mlship/schema"
)

// Error is one problem in a spec, at a position in the user's file.
type Error struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ErrorList is every problem found in one spec, sorted by position.
type ErrorList []Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// hints turn the schema's regular expressions into sentences.
var hints = []struct{ re, text string }{
	{`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit"},
	{`^(0|[1-9][0-9]*)\.`, "must be a semantic version such as 1.2.3 (no leading v)"},
	{`^sha256:[a-f0-9]{64}$`, "must be a sha256 digest: sha256: followed by 64 lowercase hex digits"},
	{`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, "must be a duration such as 90s, 45m or 6h"},
	{`^(oci:.+|[a-zA-Z0-9.-]+(:[0-9]+)?/`, "must be a repository such as ghcr.io/acme/iris (no tag or digest) or oci:PATH"},
	{`^[A-Za-z_][A-Za-z0-9_]*$`, "must be an identifier: letters, digits and '_', not starting with a digit"},
	{`^/`, "must be relative to the spec directory, not absolute"},
	{`\\`, "must use forward slashes"},
}

var boundRe = regexp.MustCompile(`out of bound [=!]~("(?:[^"\\]|\\.)*")`)

// humanize rewrites CUE's messages for people who never read CUE.
func humanize(msg string) string {
	if m := boundRe.FindStringSubmatch(msg); m != nil {
		var re string
		if _, err := fmt.Sscanf(m[1], "%q", &re); err == nil {
			for _, h := range hints {
				if strings.HasPrefix(re, h.re) {
					prefix := msg[:strings.Index(msg, "(")]
					return strings.TrimSpace(prefix) + ": " + h.text
				}
			}
		}
	}
	switch {
	case strings.Contains(msg, "field not allowed"):
		return msg + " (unknown field: check its spelling against `mlship schema export` or docs/spec.md)"
	case strings.HasPrefix(msg, "incomplete value"), strings.Contains(msg, "non-concrete value"):
		return "required field is missing: add it (docs/spec.md lists every field)"
	}
	return msg
}

// convert turns a CUE error on the unified value into an ErrorList whose
// positions point into the user's files.
func (l *Loader) convert(err error, unified, user cue.Value, files []string) ErrorList {
	list := l.convertList(err, files)
	// Errors that only have schema positions (a missing required field)
	// are moved to the nearest enclosing field the user did write.
	for i := range list {
		if list[i].File != "" && list[i].File != schema.Filename {
			continue
		}
		pos := nearestUserPos(user, list[i].Path)
		if pos.IsValid() {
			list[i].File, list[i].Line, list[i].Col = l.rel(pos.Filename()), pos.Line(), pos.Column()
		} else if len(files) > 0 {
			list[i].File, list[i].Line, list[i].Col = l.rel(files[0]), 1, 1
		}
	}
	return dedupe(list)
}

// convertList maps CUE errors to Errors, preferring positions in files.
func (l *Loader) convertList(err error, files []string) ErrorList {
	userFile := map[string]bool{}
	for _, f := range files {
		a, _ := filepath.Abs(f)
		userFile[a] = true
		userFile[f] = true
	}
	var list ErrorList
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if msg == "" {
			// Plain Go errors wrapped by CUE carry no format.
			msg = e.Error()
		}
		msg = humanize(msg)
		path := strings.Join(trimDefinition(e.Path()), ".")
		var chosen token.Pos
		for _, p := range cueerrors.Positions(e) {
			if !p.IsValid() {
				continue
			}
			if userFile[p.Filename()] {
				chosen = p
				break
			}
			if !chosen.IsValid() {
				chosen = p
			}
		}
		if parts := trimDefinition(e.Path()); len(parts) == 2 && (parts[0] == "datasets" || parts[0] == "environments") && strings.Contains(msg, "field not allowed") {
			msg = fmt.Sprintf("%s name %q must be a DNS-1123 label: lowercase letters, digits and '-'", strings.TrimSuffix(parts[0], "s"), parts[1])
		}
		item := Error{Path: path, Message: msg}
		if chosen.IsValid() {
			item.File, item.Line, item.Col = l.rel(chosen.Filename()), chosen.Line(), chosen.Column()
			if !userFile[chosen.Filename()] {
				item.File = chosen.Filename()
			}
		}
		if item.File == "" && len(files) == 1 {
			item.File = l.rel(files[0])
		}
		list = append(list, item)
	}
	if len(list) == 0 {
		list = append(list, Error{Message: err.Error()})
	}
	return collapseDisjunctions(list)
}

// trimDefinition drops the schema definition (#Model) CUE puts first in
// error paths: users wrote `name`, not `#Model.name`.
func trimDefinition(path []string) []string {
	if len(path) > 0 && strings.HasPrefix(path[0], "#") {
		return path[1:]
	}
	return path
}

var (
	disjRe     = regexp.MustCompile(`^\d+ errors in empty disjunction:?$`)
	conflictRe = regexp.MustCompile(`^conflicting values (.+?) and (.+?)(?: \(mismatched types.*\))?$`)
)

// collapseDisjunctions folds CUE's "N errors in empty disjunction" and the
// lines after it into one message. When some alternative failed on a
// constraint (a pattern, a bound) that message is kept, since it says
// what is wrong; the other alternatives are usually just the default.
// Otherwise the conflicts are summed up as "X is not allowed: want one of".
func collapseDisjunctions(list ErrorList) ErrorList {
	var out ErrorList
	for i := 0; i < len(list); i++ {
		e := list[i]
		if !disjRe.MatchString(e.Message) {
			out = append(out, e)
			continue
		}
		j := i + 1
		var conflicts [][2]string
		var other ErrorList
		last := e
		for ; j < len(list) && list[j].Path == e.Path && !disjRe.MatchString(list[j].Message); j++ {
			last = list[j]
			if m := conflictRe.FindStringSubmatch(list[j].Message); m != nil {
				conflicts = append(conflicts, [2]string{m[1], m[2]})
			} else {
				other = append(other, list[j])
			}
		}
		i = j - 1
		switch {
		case len(other) > 0:
			out = append(out, other...)
		case len(conflicts) > 0:
			last.Message = summarizeConflicts(conflicts)
			out = append(out, last)
		default:
			out = append(out, e)
		}
	}
	return out
}

// summarizeConflicts finds the user's value (the one side every conflict
// shares) and lists the alternatives the schema would accept.
func summarizeConflicts(conflicts [][2]string) string {
	count := map[string]int{}
	for _, c := range conflicts {
		count[c[0]]++
		if c[1] != c[0] {
			count[c[1]]++
		}
	}
	got := ""
	for v, n := range count {
		if n == len(conflicts) && (got == "" || v < got) {
			got = v
		}
	}
	if got == "" || len(conflicts) == 1 && count[conflicts[0][0]] == count[conflicts[0][1]] {
		return "conflicting values " + conflicts[0][0] + " and " + conflicts[0][1]
	}
	seen := map[string]bool{}
	var allowed []string
	for _, c := range conflicts {
		for _, v := range c {
			if v != got && !seen[v] {
				seen[v] = true
				allowed = append(allowed, v)
			}
		}
	}
	sort.Strings(allowed)
	return fmt.Sprintf("%s is not allowed: want %s", got, strings.Join(allowed, " or "))
}

// nearestUserPos finds the position of path, or of its closest parent,
// in the value the user wrote.
func nearestUserPos(user cue.Value, path string) token.Pos {
	parts := strings.Split(path, ".")
	for n := len(parts); n > 0; n-- {
		sels := make([]cue.Selector, 0, n)
		for _, p := range parts[:n] {
			if strings.HasPrefix(p, "#") || p == "" {
				continue
			}
			sels = append(sels, cue.Str(p))
		}
		if len(sels) == 0 {
			continue
		}
		v := user.LookupPath(cue.MakePath(sels...))
		if v.Exists() {
			if p := v.Pos(); p.IsValid() {
				return p
			}
		}
	}
	return token.NoPos
}

func dedupe(list ErrorList) ErrorList {
	seen := map[string]bool{}
	out := list[:0]
	for _, e := range list {
		k := e.Error()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Col < out[j].Col
	})
	return out
}

// rel shows a path relative to the working directory, as compilers do
// (the user passed a relative path; they get relative paths back).
func (l *Loader) rel(p string) string {
	if p == "" || !filepath.IsAbs(p) || l.cwd == "" {
		return p
	}
	r, err := filepath.Rel(l.cwd, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}
