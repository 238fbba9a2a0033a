package githubtest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// artifact attestations.
//
// api.github.com files a Sigstore bundle under the digests of its subject:
// for a DSSE envelope, each subject of the in-toto statement it carries;
// for a message-signature bundle, the signed message's digest. A bundle it
// cannot read that far is refused with 422.

// MaxAttestationsPerPage is list-attestations' per_page cap.
const MaxAttestationsPerPage = 100

var (
	hexRE = regexp.MustCompile(`^[0-9a-f]+$`)
	// GitHub's short names for predicate_type (anything else is matched exactly).
	predicateAliases = map[string][]string{
		"provenance": {"https://slsa.dev/provenance/"},
		"sbom":       {"https://spdx.dev/Document", "https://cyclonedx.org/bom"},
		"release":    {"https://in-toto.io/attestation/release/"},
	}
)

// bundleSubjects reads what a bundle is about: the digests ("sha256:<hex>")
// it is filed under and the in-toto predicate type ("" for a message
// signature).
func bundleSubjects(raw []byte) ([]string, string, error) {
	var b struct {
		MediaType            string          `json:"mediaType"`
		VerificationMaterial json.RawMessage `json:"verificationMaterial"`
		DSSE                 *struct {
			Payload     string `json:"payload"`
			PayloadType string `json:"payloadType"`
			Signatures  []struct {
				Sig string `json:"sig"`
			} `json:"signatures"`
		} `json:"dsseEnvelope"`
		MessageSignature *struct {
			MessageDigest *struct {
				Algorithm string `json:"algorithm"`
				Digest    string `json:"digest"`
			} `json:"messageDigest"`
			Signature string `json:"signature"`
		} `json:"messageSignature"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, "", fmt.Errorf("the bundle is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(b.MediaType, "application/vnd.dev.sigstore.bundle") {
		return nil, "", fmt.Errorf("mediaType %q is not a Sigstore bundle media type", b.MediaType)
	}
	if len(bytes.TrimSpace(b.VerificationMaterial)) == 0 || string(b.VerificationMaterial) == "null" {
		return nil, "", errors.New("the bundle has no verificationMaterial")
	}
	switch {
	case b.DSSE != nil && b.MessageSignature != nil:
		return nil, "", errors.New("the bundle has both a dsseEnvelope and a messageSignature")
	case b.DSSE != nil:
		if b.DSSE.PayloadType != "application/vnd.in-toto+json" {
			return nil, "", fmt.Errorf("dsseEnvelope.payloadType %q: want application/vnd.in-toto+json", b.DSSE.PayloadType)
		}
		if len(b.DSSE.Signatures) == 0 || b.DSSE.Signatures[0].Sig == "" {
			return nil, "", errors.New("the dsseEnvelope has no signature")
		}
		payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
		if err != nil {
			return nil, "", fmt.Errorf("dsseEnvelope.payload is not base64: %v", err)
		}
		var st struct {
			Type    string `json:"_type"`
			Subject []struct {
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(payload, &st); err != nil {
			return nil, "", fmt.Errorf("the DSSE payload is not an in-toto statement: %v", err)
		}
		if st.Type != "https://in-toto.io/Statement/v1" && st.Type != "https://in-toto.io/Statement/v0.1" {
			return nil, "", fmt.Errorf("statement _type %q is not an in-toto statement", st.Type)
		}
		if st.PredicateType == "" {
			return nil, "", errors.New("the statement has no predicateType")
		}
		var subjects []string
		for _, s := range st.Subject {
			for _, alg := range []string{"sha256", "sha512"} {
				if d, ok := s.Digest[alg]; ok {
					want := map[string]int{"sha256": 64, "sha512": 128}[alg]
					if len(d) != want || !hexRE.MatchString(d) {
						return nil, "", fmt.Errorf("subject %q: %s digest %q is not %d lower-case hex digits", s.Name, alg, d, want)
					}
					if sd := alg + ":" + d; !slices.Contains(subjects, sd) {
						subjects = append(subjects, sd)
					}
				}
			}
		}
		if len(subjects) == 0 {
			return nil, "", errors.New("the statement has no subject with a sha256 or sha512 digest")
		}
		return subjects, st.PredicateType, nil
	case b.MessageSignature != nil:
		md := b.MessageSignature.MessageDigest
		if md == nil {
			return nil, "", errors.New("the messageSignature has no messageDigest")
		}
		if b.MessageSignature.Signature == "" {
			return nil, "", errors.New("the messageSignature has no signature")
		}
		alg, size := "", 0
		switch md.Algorithm {
		case "SHA2_256":
			alg, size = "sha256", 32
		case "SHA2_512":
			alg, size = "sha512", 64
		default:
			return nil, "", fmt.Errorf("messageDigest.algorithm %q: want SHA2_256 or SHA2_512", md.Algorithm)
		}
		d, err := base64.StdEncoding.DecodeString(md.Digest)
		if err != nil || len(d) != size {
			return nil, "", fmt.Errorf("messageDigest.digest is not a base64 %s digest", alg)
		}
		return []string{alg + ":" + hex.EncodeToString(d)}, "", nil
	}
	return nil, "", errors.New("the bundle has neither a dsseEnvelope nor a messageSignature")
}

func createAttestation(c *call) {
	r := c.repo()
	var in struct {
		Bundle json.RawMessage `json:"bundle"`
	}
	if !c.decode(&in) {
		return
	}
	subjects, pt, err := bundleSubjects(in.Bundle)
	if err != nil {
		c.unprocessable("Attestation", "bundle", "invalid", "invalid bundle: "+err.Error())
		return
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, in.Bundle)
	a := &Attestation{ID: c.s.st.id(), Subjects: subjects, PredicateType: pt, Bundle: compact.Bytes(), CreatedAt: c.now()}
	r.attests = append(r.attests, a)
	c.json(http.StatusCreated, obj{"id": a.ID})
}

func predicateMatches(filter, pt string) bool {
	if filter == "" {
		return true
	}
	if prefixes, ok := predicateAliases[filter]; ok {
		for _, p := range prefixes {
			if strings.HasPrefix(pt, p) {
				return true
			}
		}
		return false
	}
	return filter == pt
}

// cursor pagination: a cursor names an attestation id; lists are newest first.
func attestCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("att:" + strconv.FormatInt(id, 10)))
}

func parseAttestCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(string(b), "att:"), 10, 64)
	return n, err == nil && strings.HasPrefix(string(b), "att:")
}

// listAttestations answers repos/list-attestations.
func listAttestations(c *call) {
	r := c.repo()
	listAttestationsOf(c, []*repo{r})
}

// listOwnerAttestations answers orgs/list-attestations and
// users/list-attestations (what `gh attestation verify --owner` reads):
// the attestations of every repository of the owner.
func listOwnerAttestations(c *call) {
	owner := c.params["org"]
	if owner == "" {
		owner = c.params["username"]
	}
	var rs []*repo
	for _, r := range c.s.st.repos {
		if strings.EqualFold(r.owner, owner) {
			rs = append(rs, r)
		}
	}
	listAttestationsOf(c, rs)
}

type storedAttestation struct {
	a *Attestation
	r *repo
}

func listAttestationsOf(c *call, rs []*repo) {
	q := c.r.URL.Query()
	digest := c.params["subject_digest"]
	var match []storedAttestation
	for _, r := range rs {
		for _, a := range r.attests {
			if slices.Contains(a.Subjects, digest) && predicateMatches(q.Get("predicate_type"), a.PredicateType) {
				match = append(match, storedAttestation{a, r})
			}
		}
	}
	// Newest first (ids grow).
	slices.SortFunc(match, func(x, y storedAttestation) int { return int(y.a.ID - x.a.ID) })
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, MaxAttestationsPerPage)
	start, end := 0, len(match)
	if v := q.Get("after"); v != "" {
		id, ok := parseAttestCursor(v)
		if !ok {
			c.error(http.StatusBadRequest, "Invalid cursor: "+v)
			return
		}
		start = len(match)
		for i, a := range match {
			if a.a.ID == id {
				start = i + 1
				break
			}
		}
	}
	if v := q.Get("before"); v != "" {
		id, ok := parseAttestCursor(v)
		if !ok {
			c.error(http.StatusBadRequest, "Invalid cursor: "+v)
			return
		}
		end = 0
		for i, a := range match {
			if a.a.ID == id {
				end = i
				break
			}
		}
		if q.Get("after") == "" {
			start = max(0, end-per)
		}
	}
	end = min(end, start+per)
	if start > end {
		start = end
	}
	pageItems := match[start:end]
	var links []string
	link := func(key, cursor, rel string) string {
		qq := cloneQuery(q)
		qq.Del("after")
		qq.Del("before")
		qq.Set(key, cursor)
		qq.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf("<http://%s%s?%s>; rel=%q", c.r.Host, c.r.URL.Path, qq.Encode(), rel)
	}
	if end < len(match) && len(pageItems) > 0 {
		links = append(links, link("after", attestCursor(pageItems[len(pageItems)-1].a.ID), "next"))
	}
	if start > 0 && len(pageItems) > 0 {
		links = append(links, link("before", attestCursor(pageItems[0].a.ID), "prev"))
	}
	if len(links) > 0 {
		c.w.header.Set("Link", strings.Join(links, ", "))
	}
	out := make([]any, 0, len(pageItems))
	for _, m := range pageItems {
		a, r := m.a, m.r
		out = append(out, obj{
			"bundle":        json.RawMessage(a.Bundle),
			"repository_id": r.id,
			"bundle_url":    fmt.Sprintf("%s/attestations/%d/bundle", c.s.repoURL(r), a.ID),
			"initiator":     c.s.login,
		})
	}
	c.json(http.StatusOK, obj{"attestations": out})
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// Attestations returns the attestations stored for owner/repo, oldest first.
func (s *Server) Attestations(owner, repo string) []Attestation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Attestation
	for _, a := range s.locked(owner, repo).attests {
		cp := *a
		cp.Subjects = slices.Clone(a.Subjects)
		cp.Bundle = slices.Clone(a.Bundle)
		out = append(out, cp)
	}
	return out
}
