package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/sign"
)

// KeygenOptions are the inputs of `mlship keygen`.
type KeygenOptions struct {
	F *Factory
	// Prefix is the path prefix of the pair: PREFIX.key and PREFIX.pub.
	Prefix string
	Force  bool
}

// KeygenResult is what --output json prints.
type KeygenResult struct {
	PrivateKey string `json:"privateKey"`
	PublicKey  string `json:"publicKey"`
}

// NewCmdKeygen builds `mlship keygen`.
func NewCmdKeygen(f *Factory, runF func(*KeygenOptions) error) *cobra.Command {
	opts := &KeygenOptions{F: f}
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate a cosign key pair (cosign.key, cosign.pub)",
		Long: `Keygen writes an ECDSA P-256 key pair in cosign's formats: cosign.key,
encrypted with the password in COSIGN_PASSWORD (scrypt + secretbox, the
"ENCRYPTED SIGSTORE PRIVATE KEY" PEM), and cosign.pub. The real cosign
CLI signs and verifies with the pair, and mlship sign/verify read keys
cosign generate-key-pair wrote. Existing files are never overwritten
without --force.

Store cosign.key (or its contents, for --key env://COSIGN_KEY) and the
password as repository secrets; commit cosign.pub next to the spec
(signing: key: "cosign.pub").`,
		Example: `  COSIGN_PASSWORD=... mlship keygen
  COSIGN_PASSWORD=... mlship keygen --output-key-prefix keys/release`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runKeygen(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Prefix, "output-key-prefix", "cosign", "write PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite an existing key pair")
	return cmd
}

func runKeygen(_ context.Context, opts *KeygenOptions) error {
	f := opts.F
	keyPath, pubPath := opts.Prefix+".key", opts.Prefix+".pub"
	if !opts.Force {
		for _, p := range []string{keyPath, pubPath} {
			if _, err := os.Stat(p); err == nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("%s already exists: refusing to overwrite a key (use --force, or --output-key-prefix)", p)}
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("checking %s: %w", p, err)
			}
		}
	}
	pw := f.IO.Getenv("COSIGN_PASSWORD")
	if pw == "" {
		f.IO.Logf("warning: COSIGN_PASSWORD is empty: %s is encrypted with an empty password\n", keyPath)
	}
	priv, pub, err := sign.GenerateKeyPair([]byte(pw))
	if err != nil {
		return err
	}
	if dir := filepath.Dir(keyPath); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	if err := writeFileAtomic(keyPath, priv, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(pubPath, pub, 0o644); err != nil {
		return err
	}
	for k, v := range map[string]string{"private-key": keyPath, "public-key": pubPath} {
		if err := f.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(KeygenResult{PrivateKey: keyPath, PublicKey: pubPath})
	}
	f.IO.Printf("Private key written to %s\nPublic key written to %s\n", keyPath, pubPath)
	return nil
}

// writeFileAtomic writes via a temp file and rename: never half a key.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
