package promote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// maxBlob caps what promote reads of one file from git (a spec file, a key,
// an environments file): they come from pull requests, so they are
// untrusted input; internal/spec bounds their evaluation, this bounds the
// read that comes before it.
const maxBlob = 4 << 20

// policyView is the policy as one commit holds it: the spec read from git
// at that commit (never the work tree), through internal/spec's loader,
// and the verification policy it gives each environment.
type policyView struct {
	commit string
	model  *spec.Model
	policy PromotionPolicy
	// sign holds each environment's verification policy, or the reason
	// there is none (a missing key) in signErr.
	sign    map[string]*sign.Policy
	signErr map[string]error
}

// policyAt reads the spec directory's spec at commit. An error means the
// policy cannot be known at that commit: every promotion judged by it is
// refused (fail closed).
func (p *Promoter) policyAt(ctx context.Context, commit string) (*policyView, error) {
	if commit == "" {
		return nil, errors.New("there is no commit before this change to read the policy from")
	}
	prefix, err := p.git.Prefix(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "mlship-policy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// The spec's path checks look for the enclosing repository (.git):
	// mirror the layout so they judge the commit's spec as they would the
	// work tree's.
	if err := os.Mkdir(filepath.Join(tmp, ".git"), 0o700); err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp, filepath.FromSlash(prefix))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := p.extractSpec(ctx, commit, dir); err != nil {
		return nil, err
	}
	m, err := p.loader.Load(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("the spec at commit %s: %w", short(commit), err)
	}
	v := &policyView{commit: commit, model: m, sign: map[string]*sign.Policy{}, signErr: map[string]error{}}
	keySum, keyErr := p.extractKey(ctx, commit, prefix, tmp, m.Signing.Key)
	promoSum := ""
	if pr := m.Signing.Promotion; pr != nil {
		// The promotion records' key, read from the commit like signing.key.
		var err error
		if promoSum, err = p.extractKey(ctx, commit, prefix, tmp, pr.Key); err != nil && keyErr == nil {
			keyErr = fmt.Errorf("signing.promotion.key: %w", err)
		}
	}
	v.policy = policyOf(m, keySum, p.o.workflows)
	if pr := m.Signing.Promotion; pr != nil {
		v.policy.Signing.Promotion = &PromotionSigningPolicy{Key: pr.Key, KeySHA256: promoSum, Keyless: pr.Keyless}
	}
	for _, env := range m.EnvironmentOrder {
		if keyErr != nil && p.o.signer == nil {
			v.signErr[env] = keyErr
			continue
		}
		v.sign[env], v.signErr[env] = p.signPolicy(m, env)
	}
	return v, nil
}

// extractSpec writes the spec files of the spec directory at commit (what
// spec.Load reads: *.cue, model.json, model.yaml) into dir.
func (p *Promoter) extractSpec(ctx context.Context, commit, dir string) error {
	out, err := p.git.run(ctx, nil, "ls-tree", "-z", "-l", commit)
	if err != nil {
		return fmt.Errorf("listing the spec directory at commit %s: %w", short(commit), err)
	}
	n := 0
	for _, line := range strings.Split(out, "\x00") {
		meta, name, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 || !isSpecFile(name) {
			continue
		}
		if f[0] == "120000" || f[1] != "blob" {
			return fmt.Errorf("the spec file %s at commit %s is a %s, not a regular file", name, short(commit), map[bool]string{true: "symlink", false: f[1]}[f[0] == "120000"])
		}
		size, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || size > maxBlob {
			return fmt.Errorf("the spec file %s at commit %s is larger than %d bytes", name, short(commit), maxBlob)
		}
		data, err := p.git.run(ctx, nil, "cat-file", "blob", f[2])
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("commit %s has no spec in the spec directory", short(commit))
	}
	return nil
}

func isSpecFile(name string) bool { return spec.IsSpecFile(name) }

// extractKey copies the key file signing.key names from commit into the
// mirrored tree (so the verification policy reads the commit's key, not
// the work tree's) and returns the sha256 of its content. Keys that are
// not files (env://, KMS URLs) are left to sign.
func (p *Promoter) extractKey(ctx context.Context, commit, prefix, tmp, key string) (string, error) {
	if key == "" || strings.Contains(key, "://") {
		return "", nil
	}
	rel := path.Clean(prefix + filepath.ToSlash(key))
	if path.IsAbs(key) || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("signing.key %q is outside the repository", key)
	}
	data, err := p.git.show(ctx, commit, rel)
	if err != nil {
		return "", fmt.Errorf("signing.key: %s at commit %s: %w", key, short(commit), err)
	}
	dst := filepath.Join(tmp, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// signPolicy is the verification policy for promoting to env under m: its
// signing section (or the WithSigner override) and env's required
// attestations and gates.
func (p *Promoter) signPolicy(m *spec.Model, env string) (*sign.Policy, error) {
	mm := *m
	if p.o.signer != nil {
		mm.Signing.Key, mm.Signing.Keyless = "", nil
	}
	pol, err := sign.PolicyFromSpec(&mm, env, p.o.getenv)
	if pol == nil {
		return nil, err
	}
	if p.o.signer != nil {
		pol.Keys, pol.Identities = p.o.signer.Keys, p.o.signer.Identities
		err = pol.Validate()
	}
	if err != nil {
		return nil, err
	}
	pol.Trust = p.o.trust
	return pol, nil
}
