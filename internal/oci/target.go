package oci

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// LayoutPrefix marks an OCI image layout destination: oci:PATH[:TAG|@DIGEST].
const LayoutPrefix = "oci:"

// target is a parsed reference: a registry reference or a layout path with
// a tag or digest.
type target struct {
	// registry
	ref name.Reference
	// layout
	layout    string
	layoutTag string // tag, or "" when layoutDig is set
	layoutDig string
}

func (t target) isLayout() bool { return t.layout != "" }

func (t target) String() string {
	if t.isLayout() {
		if t.layoutDig != "" {
			return LayoutPrefix + t.layout + "@" + t.layoutDig
		}
		return LayoutPrefix + t.layout + ":" + t.layoutTag
	}
	return t.ref.String()
}

// IsLoopback reports whether host (with optional port) is localhost,
// 127.0.0.0/8 or ::1: registries spoken to over plain HTTP.
func IsLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func parseTarget(s string, o *options) (target, error) {
	if strings.HasPrefix(s, LayoutPrefix) {
		return parseLayout(strings.TrimPrefix(s, LayoutPrefix))
	}
	ref, err := parseRef(s, o)
	if err != nil {
		return target{}, err
	}
	return target{ref: ref}, nil
}

func parseRef(s string, o *options) (name.Reference, error) {
	host := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		host = s[:i]
	}
	nopts := []name.Option{name.StrictValidation}
	if o.plainHTTP || IsLoopback(host) {
		nopts = append(nopts, name.Insecure)
	}
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return nil, fmt.Errorf("reference %q has no registry host: write HOST/REPO:TAG (e.g. ghcr.io/acme/iris:1.0.0) or oci:PATH", s)
	}
	hasTag := strings.Contains(s, "@") || strings.Contains(s[strings.LastIndexByte(s, '/')+1:], ":")
	if !hasTag {
		s += ":latest"
	}
	ref, err := name.ParseReference(s, nopts...)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w", s, err)
	}
	return ref, nil
}

func parseRepo(s string, o *options) (name.Repository, error) {
	host := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		host = s[:i]
	}
	nopts := []name.Option{name.StrictValidation}
	if o.plainHTTP || IsLoopback(host) {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(s, nopts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("repository %q: %w", s, err)
	}
	return repo, nil
}

var tagRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

func validTag(s string) bool { return tagRe.MatchString(s) }

func parseLayout(s string) (target, error) {
	if s == "" {
		return target{}, fmt.Errorf("layout reference %q has no path: write oci:PATH[:TAG]", LayoutPrefix)
	}
	t := target{}
	if p, d, ok := strings.Cut(s, "@"); ok {
		if !strings.HasPrefix(d, "sha256:") || len(d) != 71 {
			return target{}, fmt.Errorf("layout reference oci:%s: digest %q must be sha256:<64 hex>", s, d)
		}
		t.layout, t.layoutDig = p, d
	} else {
		t.layout, t.layoutTag = s, "latest"
		// A tag follows the last colon after the last path separator.
		base := strings.LastIndexAny(s, `/\`)
		if i := strings.LastIndexByte(s, ':'); i > base && i > 1 {
			t.layout, t.layoutTag = s[:i], s[i+1:]
		}
		if !validTag(t.layoutTag) {
			return target{}, fmt.Errorf("layout reference oci:%s: invalid tag %q", s, t.layoutTag)
		}
	}
	if t.layout == "" {
		return target{}, fmt.Errorf("layout reference oci:%s has no path", s)
	}
	t.layout = filepath.Clean(t.layout)
	return t, nil
}
