package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"cuelang.org/go/cue"
)

// envStateKeys are the keys of one environment's state; #Environments is
// open (promote keeps what it does not know when it rewrites the file), so
// validate is where an unknown or mis-cased key is caught.
var envStateKeys = []string{"digest", "version", "promotedBy"}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateEnvironments checks the environments file of the spec in dir
// (mlship/environments.cue, .json or .yaml) as validate must: its syntax and
// #Environments (bounded, as ParseEnvironments), and what the open schema
// lets through: environment names m does not define and keys mlship does
// not know, such as "Digest" for "digest". m may be nil (the spec did not
// load): then the names are not checked. It returns the file checked, ""
// when there is none (nothing deployed yet), and an ErrorList.
func (l *Loader) ValidateEnvironments(dir string, m *Model) (string, error) {
	file, data, err := l.findEnvironments(dir)
	if file == "" || err != nil {
		return file, err
	}
	v, err := l.buildEnvironments(file, data)
	if err != nil {
		return file, err
	}
	var errs ErrorList
	u := l.schema.LookupPath(cue.ParsePath("#Environments")).Unify(v)
	if err := u.Validate(cue.Concrete(true)); err != nil {
		errs = append(errs, l.convert(err, u, v, []string{file})...)
	}
	errs = append(errs, l.envKeys(v, file, m)...)
	if len(errs) == 0 {
		return file, nil
	}
	return file, dedupe(errs)
}

// findEnvironments reads the first environments file present in dir.
func (l *Loader) findEnvironments(dir string) (string, []byte, error) {
	for _, name := range EnvironmentsFiles {
		p := filepath.Join(dir, name)
		data, err := readBounded(p, l.opts.limits.FileSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return p, nil, ErrorList{{File: l.rel(p), Message: err.Error()}}
		}
		return p, data, nil
	}
	return "", nil, nil
}

// envKeys reports the keys the open schema accepts but mlship ignores.
func (l *Loader) envKeys(v cue.Value, file string, m *Model) ErrorList {
	var errs ErrorList
	at := func(fv cue.Value, path, format string, args ...any) {
		e := Error{File: l.rel(file), Line: 1, Col: 1, Path: path, Message: fmt.Sprintf(format, args...)}
		if p := fv.Pos(); p.IsValid() {
			e.Line, e.Col = p.Line(), p.Column()
		}
		errs = append(errs, e)
	}
	top, err := v.Fields()
	if err != nil {
		return nil // not a struct: the schema said so
	}
	for top.Next() {
		if k := top.Selector().Unquoted(); k != "environments" {
			at(top.Value(), k, "unknown key %q%s: an environments file holds only \"environments\"", k, caseHint(k, []string{"environments"}))
		}
	}
	envs, err := v.LookupPath(cue.ParsePath("environments")).Fields()
	if err != nil {
		return errs
	}
	var defined []string
	if m != nil {
		defined = m.EnvironmentOrder
	}
	for envs.Next() {
		name, ev := envs.Selector().Unquoted(), envs.Value()
		if m != nil && dnsLabel.MatchString(name) {
			if _, ok := m.Environments[name]; !ok {
				at(ev, "environments."+name, "environment %q is not defined by the spec (defined: %s): promote would never move it", name, orNone(defined))
			}
		}
		keys, err := ev.Fields()
		if err != nil {
			continue
		}
		for keys.Next() {
			if k := keys.Selector().Unquoted(); !contains(envStateKeys, k) {
				at(keys.Value(), "environments."+name+"."+k, "unknown key %q%s: an environment's state has %s", k, caseHint(k, envStateKeys), strings.Join(envStateKeys, ", "))
			}
		}
	}
	return errs
}

// caseHint suggests the known key k differs from only in case.
func caseHint(k string, known []string) string {
	for _, want := range known {
		if strings.EqualFold(k, want) {
			return fmt.Sprintf(" (did you mean %q? keys are case-sensitive)", want)
		}
	}
	return ""
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	s := append([]string(nil), names...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}
