package lineage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// FileDigest returns the sha256 of a file's content, "sha256:<hex>".
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// PathDigest is FileDigest for a file and TreeDigest over every regular
// file for a directory.
func PathDigest(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return FileDigest(path)
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
			rel, _ := filepath.Rel(path, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("listing %s: %w", path, err)
	}
	return TreeDigest(path, files)
}

// TreeDigest hashes the listed files under root (slash-separated relative
// paths) into one digest: sha256 over "<file digest>  <path>\n" lines in
// path order, the layout of sha256sum. A symlink is hashed as its target
// path, never followed; a listed file that no longer exists is skipped.
func TreeDigest(root string, files []string) (string, error) {
	sorted := append([]string(nil), files...)
	sort.Strings(sorted)
	h := sha256.New()
	prev := ""
	for _, rel := range sorted {
		if rel == prev {
			continue
		}
		prev = rel
		p := filepath.Join(root, filepath.FromSlash(rel))
		fi, err := os.Lstat(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("hashing %s: %w", p, err)
		}
		var d string
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return "", fmt.Errorf("hashing %s: %w", p, err)
			}
			sum := sha256.Sum256([]byte("symlink:" + target))
			d = "sha256:" + hex.EncodeToString(sum[:])
		case fi.Mode().IsRegular():
			if d, err = FileDigest(p); err != nil {
				return "", err
			}
		default:
			continue
		}
		fmt.Fprintf(h, "%s  %s\n", strings.TrimPrefix(d, "sha256:"), rel)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// SourceFiles lists the source files under dir, slash-separated and
// relative to it. In a git work tree these are the files git would
// commit: tracked plus untracked-but-not-ignored (so .gitignore'd outputs
// never count, and uncommitted edits do). Outside git, every file not
// under a dot-directory. Paths for which skip returns true are left out.
func SourceFiles(ctx context.Context, dir string, skip func(rel string) bool) ([]string, error) {
	var files []string
	out, err := gitOutput(ctx, dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
	if err == nil {
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
	} else {
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing source files in %s: %w", dir, err)
		}
	}
	kept := files[:0]
	for _, f := range files {
		if skip == nil || !skip(f) {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

// GitState describes the repository holding dir, or nil outside git.
func GitState(ctx context.Context, dir string) *Git {
	if _, err := gitOutput(ctx, dir, "rev-parse", "--is-inside-work-tree"); err != nil {
		return nil
	}
	g := &Git{}
	if out, err := gitOutput(ctx, dir, "rev-parse", "--verify", "-q", "HEAD"); err == nil {
		g.Commit = strings.TrimSpace(string(out))
	}
	if out, err := gitOutput(ctx, dir, "symbolic-ref", "--short", "-q", "HEAD"); err == nil {
		g.Branch = strings.TrimSpace(string(out))
	}
	if out, err := gitOutput(ctx, dir, "status", "--porcelain", "--untracked-files=normal"); err == nil {
		g.Dirty = len(bytes.TrimSpace(out)) > 0
	}
	return g
}

func gitOutput(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	// A work tree owned by another user (a runner's checkout in a
	// container) would make git refuse; a read-only query is safe.
	cmd.Env = append(os.Environ(), "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*", "GIT_OPTIONAL_LOCKS=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
