package spec

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// packagedSymlinks refuses a packaged path (package.files, the model output
// directory) that is, or holds, a symlink resolving outside the repository:
// the lexical check sees "model/weights.bin", the packager would read
// /etc/passwd. push refuses the same at packaging time; validate says so
// on the pull request, at the field.
func (c *checker) packagedSymlinks(m *Model) {
	realRoot, err := filepath.EvalSymlinks(c.root)
	if err != nil {
		realRoot = c.root
	}
	check := func(p string, path ...string) {
		if p == "" || isURL(p) || filepath.IsAbs(p) {
			return // the lexical check reports these
		}
		abs := filepath.Join(c.dir, filepath.FromSlash(p))
		if !inside(c.root, abs) {
			return
		}
		if link, target, ok := escapingLink(realRoot, abs); ok {
			if link == abs {
				c.errorf(path, "path %q is a symlink resolving to %s, outside the repository: package only files inside it (copy the file in instead of linking it)", p, target)
			} else {
				c.errorf(path, "path %q holds a symlink %s resolving to %s, outside the repository: package only files inside it", p, c.relToDir(link), target)
			}
		}
	}
	if t := m.Train; t != nil {
		check(orDefault(t.Outputs.Model, "model"), "train", "outputs", "model")
	}
	for i, f := range m.Package.Files {
		check(f.Path, "package", "files", fmt.Sprint(i), "path")
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (c *checker) relToDir(p string) string {
	if r, err := filepath.Rel(c.dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// inside reports whether p is root or below it (both cleaned, absolute).
func inside(root, p string) bool {
	r, err := filepath.Rel(root, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
}

// escapingLink finds the first symlink on abs, or in the tree below it,
// whose target lies outside realRoot. A path that does not exist yet (the
// model before training) is checked as far as it exists.
func escapingLink(realRoot, abs string) (link, target string, ok bool) {
	if target, ok := resolveOutside(realRoot, abs); ok {
		return abs, target, true
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		return "", "", false
	}
	_ = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if t, out := resolveOutside(realRoot, p); out {
			link, target, ok = p, t, true
			return filepath.SkipAll
		}
		return nil
	})
	return link, target, ok
}

// resolveOutside resolves p's symlinks (its deepest existing ancestor's,
// when p does not exist; a dangling link's target lexically) and reports
// the result when it is outside realRoot.
func resolveOutside(realRoot, p string) (string, bool) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		real = resolveMissing(p, 0)
	}
	return real, !inside(realRoot, real)
}

func resolveMissing(p string, depth int) string {
	if depth > 40 {
		return p
	}
	if target, err := os.Readlink(p); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		if real, err := filepath.EvalSymlinks(target); err == nil {
			return real
		}
		return resolveMissing(filepath.Clean(target), depth+1)
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p
	}
	if real, err := filepath.EvalSymlinks(parent); err == nil {
		return filepath.Join(real, filepath.Base(p))
	}
	return filepath.Join(resolveMissing(parent, depth+1), filepath.Base(p))
}
