package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mlship/mlship/internal/sign"
)

// KeygenRequest is what `mlship keygen` asks for.
type KeygenRequest struct {
	// Prefix is the path prefix of the pair: PREFIX.key and PREFIX.pub.
	Prefix string
	// Force overwrites an existing pair and skips the git check.
	Force bool
}

// KeygenResult names the files written; --output json prints it.
type KeygenResult struct {
	PrivateKey string `json:"privateKey"`
	PublicKey  string `json:"publicKey"`
}

// Keygen writes a cosign key pair encrypted with r.Env's COSIGN_PASSWORD
// and sets the private-key/public-key step outputs. Without Force it
// refuses to overwrite a key or to write the private key where git would
// track it.
func Keygen(ctx context.Context, r *Run, req KeygenRequest) (*KeygenResult, error) {
	keyPath, pubPath := req.Prefix+".key", req.Prefix+".pub"
	if !req.Force {
		if err := refuseTrackedKey(ctx, keyPath); err != nil {
			return nil, err
		}
		for _, p := range []string{keyPath, pubPath} {
			if _, err := os.Stat(p); err == nil {
				return nil, fmt.Errorf("%s already exists: refusing to overwrite a key (use --force, or --output-key-prefix)", p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("checking %s: %w", p, err)
			}
		}
	}
	pw := r.Env.CosignPassword
	if pw == "" {
		r.Logf("warning: COSIGN_PASSWORD is empty: %s is encrypted with an empty password\n", keyPath)
	}
	priv, pub, err := sign.GenerateKeyPair([]byte(pw))
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(keyPath); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	if err := writeFileAtomic(keyPath, priv, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(pubPath, pub, 0o644); err != nil {
		return nil, err
	}
	for k, v := range map[string]string{"private-key": keyPath, "public-key": pubPath} {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return nil, err
		}
	}
	return &KeygenResult{PrivateKey: keyPath, PublicKey: pubPath}, nil
}

// writeFileAtomic writes via a temp file and rename: never half a key.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// refuseTrackedKey fails when keyPath lies in a git work tree and git would
// track it there (it is not ignored, or it is already tracked): a private
// key that `git add -A` picks up is a leaked key. Outside any work tree it
// allows the write. A check that cannot run (git missing beside a .git, a
// git error) refuses too: fail closed, --force overrides.
func refuseTrackedKey(ctx context.Context, keyPath string) error {
	abs, err := filepath.Abs(keyPath)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", keyPath, err)
	}
	dir := existingDir(filepath.Dir(abs))
	if _, err := exec.LookPath("git"); err != nil {
		if top := dotGitAbove(dir); top != "" {
			return fmt.Errorf("refusing to write the private key %s: it is inside the git repository %s and git is not installed to check it is ignored (rule: a private key is never written where git would track it); write it outside the repository, or pass --force", keyPath, top)
		}
		return nil
	}
	top, inside, err := gitTopLevel(ctx, dir)
	if err != nil || !inside {
		return err
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil {
		return fmt.Errorf("locating %s in the repository %s: %w", keyPath, top, err)
	}
	rel = filepath.ToSlash(rel)
	cmd := exec.CommandContext(ctx, "git", "-C", top, "check-ignore", "-q", "--", rel)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil // ignored
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return fmt.Errorf("refusing to write the private key %s: git would track it in the repository %s (rule: a private key is never written where git would track it). Fix it one of these ways: add it to .gitignore (echo '%s' >> %s), write it outside the repository (--output-key-prefix ~/.mlship/cosign), or keep it only in a secret and sign with --key env://COSIGN_PRIVATE_KEY; --force writes it anyway",
			keyPath, top, "/"+rel, filepath.Join(top, ".gitignore"))
	default:
		return fmt.Errorf("refusing to write the private key %s: git check-ignore could not tell whether git would track it in %s (%v: %s); write it outside the repository, or pass --force", keyPath, top, err, strings.TrimSpace(stderr.String()))
	}
}

// gitTopLevel returns the work tree holding dir; inside is false when dir is
// in none (or in a .git directory or a bare repository, where nothing is
// tracked).
func gitTopLevel(ctx context.Context, dir string) (top string, inside bool, err error) {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--is-inside-work-tree", "--show-toplevel")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "not a git repository") {
			return "", false, nil
		}
		return "", false, fmt.Errorf("refusing to write a private key in %s: git rev-parse could not tell whether it is a git work tree (%v: %s); pass --force to write it anyway", dir, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) < 2 || lines[0] != "true" {
		return "", false, nil
	}
	return lines[1], true, nil
}

// existingDir is dir or its nearest existing ancestor: keygen creates the
// missing directories later, git needs one that exists.
func existingDir(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return d
		}
		if filepath.Dir(d) == d {
			return d
		}
	}
}

// dotGitAbove returns the closest directory at or above dir holding .git.
func dotGitAbove(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
