package promote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Git runs the git CLI in Dir (a directory inside a work tree). Paths given
// to its methods are relative to Dir, as git resolves "REV:./path".
type Git struct {
	Dir string
	// Env is added to the environment of every git process.
	Env []string
}

// errNoPath is returned by Show when the path does not exist at the revision.
var errNoPath = errors.New("path does not exist at that revision")

func (g *Git) run(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.Dir
	cmd.Env = append(cmd.Environ(), g.Env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errOut.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), &gitError{args: args, msg: msg, err: err}
	}
	return out.String(), nil
}

type gitError struct {
	args []string
	msg  string
	err  error
}

func (e *gitError) Error() string { return "git " + strings.Join(e.args, " ") + ": " + e.msg }
func (e *gitError) Unwrap() error { return e.err }

// Commit resolves rev to a full commit SHA.
func (g *Git) Commit(ctx context.Context, rev string) (string, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("revision %q: want a commit, branch or tag name", rev)
	}
	out, err := g.run(ctx, nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("revision %q is not a commit in %s: %w", rev, g.Dir, err)
	}
	return strings.TrimSpace(out), nil
}

// Show returns the content of path (relative to Dir) at commit rev, or
// errNoPath when the path does not exist there.
func (g *Git) Show(ctx context.Context, rev, path string) ([]byte, error) {
	return g.blob(ctx, rev+":./"+path)
}

// show is Show with path relative to the work tree's top.
func (g *Git) show(ctx context.Context, rev, path string) ([]byte, error) {
	return g.blob(ctx, rev+":"+path)
}

// blob reads the blob object (REV:PATH), refusing one larger than maxBlob
// before reading it: files from a pull request are untrusted input.
func (g *Git) blob(ctx context.Context, object string) ([]byte, error) {
	out, err := g.run(ctx, nil, "cat-file", "-s", object)
	if err != nil {
		return nil, errNoPath
	}
	size, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the size of %s: %w", object, err)
	}
	if size > maxBlob {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d promote reads: refused", object, size, maxBlob)
	}
	data, err := g.run(ctx, nil, "cat-file", "blob", object)
	if err != nil {
		return nil, err
	}
	return []byte(data), nil
}

// OnFirstParent reports whether commit is on ref's first-parent history
// (the commits the branch itself moved through, not those merged into it).
func (g *Git) OnFirstParent(ctx context.Context, ref, commit string) (bool, error) {
	out, err := g.run(ctx, nil, "rev-list", "--first-parent", ref)
	if err != nil {
		return false, err
	}
	for _, c := range strings.Fields(out) {
		if c == commit {
			return true, nil
		}
	}
	return false, nil
}

// MergeBase returns the best common ancestor of a and b.
func (g *Git) MergeBase(ctx context.Context, a, b string) (string, error) {
	out, err := g.run(ctx, nil, "merge-base", a, b)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// IsAncestor reports whether commit a is an ancestor of (or equal to) b.
func (g *Git) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := g.run(ctx, nil, "merge-base", "--is-ancestor", a, b)
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return false, nil
	}
	return false, err
}

// LastCommit returns the newest commit reachable from rev that touched any
// of paths, "" when none did.
func (g *Git) LastCommit(ctx context.Context, rev string, paths ...string) (string, error) {
	args := append([]string{"log", "-1", "--format=%H", rev, "--"}, paths...)
	out, err := g.run(ctx, nil, args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// Commits returns the commits reachable from rev selected by the git log
// arguments args (options, then "--" and paths), newest first, at most
// limit.
func (g *Git) Commits(ctx context.Context, rev string, limit int, args ...string) ([]string, error) {
	args = append([]string{"log", fmt.Sprintf("--max-count=%d", limit), "--format=%H", rev}, args...)
	out, err := g.run(ctx, nil, args...)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// CommitInfo is when and by whom a commit was made.
type CommitInfo struct {
	SHA    string `json:"sha"`
	Date   string `json:"date"`
	Author string `json:"author"`
}

// Info is when and by whom commit was made (the committer date: for a
// merge, when it was merged).
func (g *Git) Info(ctx context.Context, commit string) (*CommitInfo, error) {
	out, err := g.run(ctx, nil, "log", "-1", "--format=%H%x00%cI%x00%an", commit)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.TrimSpace(out), "\x00")
	if len(parts) != 3 {
		return nil, fmt.Errorf("git log %s: unexpected output %q", commit, out)
	}
	return &CommitInfo{SHA: parts[0], Date: parts[1], Author: parts[2]}, nil
}

// RefExists reports whether a full ref name (refs/heads/main) exists.
func (g *Git) RefExists(ctx context.Context, ref string) bool {
	_, err := g.run(ctx, nil, "show-ref", "--verify", "--quiet", ref)
	return err == nil
}

// IsShallow reports whether the clone is shallow (actions/checkout's
// default depth of 1): commits older than its boundary are absent.
func (g *Git) IsShallow(ctx context.Context) (bool, error) {
	out, err := g.run(ctx, nil, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) == "true", nil
}

// HasRemote reports whether the remote name is configured.
func (g *Git) HasRemote(ctx context.Context, name string) bool {
	_, err := g.run(ctx, nil, "remote", "get-url", name)
	return err == nil
}

// Prefix returns Dir relative to the work tree's top ("" at the top,
// else ending in "/").
func (g *Git) Prefix(ctx context.Context) (string, error) {
	out, err := g.run(ctx, nil, "rev-parse", "--show-prefix")
	if err != nil {
		return "", fmt.Errorf("%s is not inside a git work tree: %w", g.Dir, err)
	}
	return strings.TrimSpace(out), nil
}
