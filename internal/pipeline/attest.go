package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/sign"
)

// AttestRequest is `mlship attest`: exactly one of Predicate (with
// PredicateType), Eval or Provenance says what to attest about Ref.
type AttestRequest struct {
	Ref    string
	Signer SignerRequest
	// PredicateType and Predicate (a JSON file) attest any predicate.
	PredicateType string
	Predicate     string
	// Eval is an eval result file, attested as attest.EvalType.
	Eval string
	// Provenance attests SLSA provenance v1 from the run context; the
	// Source fields and BuilderID/RunURL override it, Inputs are
	// NAME=sha256:HEX[@URI].
	Provenance                          bool
	BuilderID, SourceRepo, SourceCommit string
	SourceRef, RunURL                   string
	Inputs                              []string
	// Replace replaces earlier attestations of the same predicate type.
	Replace bool
}

// Check refuses a request that does not say exactly what to attest.
func (req AttestRequest) Check() error {
	n := 0
	for _, given := range []bool{req.Predicate != "", req.Eval != "", req.Provenance} {
		if given {
			n++
		}
	}
	if n != 1 {
		return errors.New("give exactly one of --predicate (with --predicate-type), --eval or --provenance")
	}
	if req.Predicate != "" && req.PredicateType == "" {
		return errors.New("--predicate needs --predicate-type URI")
	}
	return nil
}

// Attest builds the predicate, signs it as a DSSE envelope about the digest
// req.Ref resolves to and attaches it the way cosign attest does.
func Attest(ctx context.Context, r *Run, req AttestRequest) (*sign.Result, error) {
	if err := req.Check(); err != nil {
		return nil, err
	}
	if err := req.Signer.checkRun(r); err != nil {
		return nil, err
	}
	typ, pred, err := predicate(r, req)
	if err != nil {
		return nil, err
	}
	s, err := Signer(ctx, r, req.Signer)
	if err != nil {
		return nil, err
	}
	return attestWith(ctx, r, req.Ref, s, typ, pred, req.Replace, req.Signer)
}

// AttestWith attaches predicate pred of type typ to ref, signed by a signer
// the caller already has (the demo's in-memory key), and records it as
// Attest does, in the default format.
func AttestWith(ctx context.Context, r *Run, ref string, s *sign.Signer, typ string, pred []byte, replace bool) (*sign.Result, error) {
	return attestWith(ctx, r, ref, s, typ, pred, replace, SignerRequest{})
}

func attestWith(ctx context.Context, r *Run, ref string, s *sign.Signer, typ string, pred []byte, replace bool, req SignerRequest) (*sign.Result, error) {
	f, _ := sign.ParseFormat(req.Format)
	opts := append(SignOptions(ctx, r, false), sign.WithReplace(replace), sign.WithFormat(f))
	res, err := sign.Attest(ctx, ref, s, typ, pred, opts...)
	if err != nil {
		return nil, err
	}
	if err := storeOnGitHub(ctx, r, req, res); err != nil {
		return res, err
	}
	return res, recordSigned(r, "Attested", res)
}

// predicate returns the predicate's type and bytes; an eval result is
// checked before it is signed.
func predicate(r *Run, req AttestRequest) (string, []byte, error) {
	switch {
	case req.Eval != "":
		b, err := os.ReadFile(req.Eval)
		if err != nil {
			return "", nil, fmt.Errorf("reading the eval result: %w", err)
		}
		if _, err := attest.ParseEvalPredicate(b); err != nil {
			return "", nil, fmt.Errorf("%s: %w", req.Eval, err)
		}
		return attest.EvalType, b, nil
	case req.Provenance:
		in, err := provenanceInput(r, req)
		if err != nil {
			return "", nil, err
		}
		b, err := attest.Provenance(in)
		return attest.ProvenanceType, b, err
	default:
		b, err := os.ReadFile(req.Predicate)
		if err != nil {
			return "", nil, fmt.Errorf("reading the predicate: %w", err)
		}
		typ := attest.PredicateType(req.PredicateType)
		if typ == attest.EvalType {
			if _, err := attest.ParseEvalPredicate(b); err != nil {
				return "", nil, fmt.Errorf("%s: %w", req.Predicate, err)
			}
		}
		return typ, b, nil
	}
}

// provenanceInput is the run context's provenance with the request's
// overrides and training inputs.
func provenanceInput(r *Run, req AttestRequest) (attest.ProvenanceInput, error) {
	in := attest.ProvenanceFromRun(r.Env)
	for _, kv := range []struct {
		dst *string
		v   string
	}{{&in.BuilderID, req.BuilderID}, {&in.SourceRepo, req.SourceRepo}, {&in.SourceCommit, req.SourceCommit}, {&in.SourceRef, req.SourceRef}, {&in.RunURL, req.RunURL}} {
		if kv.v != "" {
			*kv.dst = kv.v
		}
	}
	for _, s := range req.Inputs {
		n, rest, ok := strings.Cut(s, "=")
		if !ok || n == "" {
			return in, fmt.Errorf("--input %q: want NAME=sha256:HEX[@URI]", s)
		}
		dg, uri, _ := strings.Cut(rest, "@")
		in.Inputs = append(in.Inputs, attest.Dataset{Name: n, Digest: dg, URI: uri})
	}
	return in, nil
}
