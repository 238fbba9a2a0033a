package ghapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/google/go-github/v62/github"
)

// go-github v62 has no artifact-attestation calls: these go through its
// client's NewRequest/Do with mlship's own types.

// Attestation is one artifact attestation stored on GitHub.
type Attestation struct {
	// Bundle is the Sigstore bundle JSON as GitHub returns it. It is nil
	// when GitHub only gave BundleURL (API versions from 2026-03-10 leave
	// the inline bundle out).
	Bundle       json.RawMessage
	RepositoryID int64
	BundleURL    string
	Initiator    string
}

// AttestationFilter narrows ListAttestations.
type AttestationFilter struct {
	// PredicateType is GitHub's filter: "provenance", "sbom", "release" or
	// a predicate type URI (matched exactly).
	PredicateType string
	// Limit caps how many are returned; 0 means 1000.
	Limit int
}

// subjectDigestRE is what GitHub takes as a subject digest: "sha256:HEX".
var subjectDigestRE = regexp.MustCompile(`^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$`)

// CheckSubjectDigest refuses anything but "sha256:<64 hex>" (or sha512),
// lower case, which is also what keeps it one path segment.
func CheckSubjectDigest(d string) error {
	if !subjectDigestRE.MatchString(d) {
		return fmt.Errorf("subject digest %q: want sha256:<64 lower-case hex digits>", d)
	}
	return nil
}

// CreateAttestation stores a Sigstore bundle (JSON, as cosign or
// sigstore-go write it) as an artifact attestation of owner/repo, so that
// `gh attestation verify` finds it by the subject digests of the bundle's
// in-toto statement. It returns the attestation id. The token needs
// attestations: write (in a workflow: permissions: attestations: write,
// id-token: write for keyless signing). A repeated store after a 5xx is
// harmless (the same bundle twice), so the call is retried.
func (c *Client) CreateAttestation(ctx context.Context, owner, repo string, bundle []byte) (int64, error) {
	b := bytes.TrimSpace(bundle)
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return 0, fmt.Errorf("attestation for %s/%s: the bundle is not a JSON object (want a Sigstore bundle as cosign writes it with --bundle)", owner, repo)
	}
	body := struct {
		Bundle json.RawMessage `json:"bundle"`
	}{Bundle: b}
	path := fmt.Sprintf("repos/%s/%s/attestations", owner, repo)
	var out struct {
		ID int64 `json:"id"`
	}
	err := c.do(ctx, http.MethodPost, path, idempotent, func() (*github.Response, error) {
		req, err := c.gh.NewRequest(http.MethodPost, path, &body)
		if err != nil {
			return nil, err
		}
		return c.gh.Do(ctx, req, &out)
	})
	return out.ID, err
}

// ListAttestations returns the attestations of owner/repo whose subject is
// subjectDigest ("sha256:<hex>"), following GitHub's cursor pagination.
// None is not an error: it returns an empty list. What it returns is
// unverified: verify each bundle (signature, identity, subject) before
// relying on it.
func (c *Client) ListAttestations(ctx context.Context, owner, repo, subjectDigest string, f AttestationFilter) ([]Attestation, error) {
	if err := CheckSubjectDigest(subjectDigest); err != nil {
		return nil, fmt.Errorf("attestations of %s/%s: %w", owner, repo, err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	path := fmt.Sprintf("repos/%s/%s/attestations/%s", owner, repo, subjectDigest)
	out := []Attestation{}
	after := ""
	for {
		q := url.Values{"per_page": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		if f.PredicateType != "" {
			q.Set("predicate_type", f.PredicateType)
		}
		var page struct {
			Attestations []struct {
				Bundle       json.RawMessage `json:"bundle"`
				RepositoryID int64           `json:"repository_id"`
				BundleURL    string          `json:"bundle_url"`
				Initiator    string          `json:"initiator"`
			} `json:"attestations"`
		}
		var next string
		err := c.do(ctx, http.MethodGet, path, idempotent, func() (*github.Response, error) {
			page.Attestations = nil
			req, err := c.gh.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
			if err != nil {
				return nil, err
			}
			resp, err := c.gh.Do(ctx, req, &page)
			if resp != nil {
				next = resp.After
			}
			return resp, err
		})
		if IsNotFound(err) && after == "" {
			// GitHub answers 404 when it holds no attestation for the digest.
			return []Attestation{}, nil
		}
		if err != nil {
			return nil, err
		}
		for _, a := range page.Attestations {
			var bundle json.RawMessage
			if len(a.Bundle) > 0 && string(a.Bundle) != "null" {
				bundle = a.Bundle
			}
			out = append(out, Attestation{Bundle: bundle, RepositoryID: a.RepositoryID, BundleURL: a.BundleURL, Initiator: a.Initiator})
			if len(out) >= limit {
				return out, nil
			}
		}
		// A cursor that does not move would loop forever.
		if next == "" || next == after || len(page.Attestations) == 0 {
			return out, nil
		}
		after = next
	}
}
