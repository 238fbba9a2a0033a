package oci

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// secrets are the credentials the doubles below leak into their answers;
// none may reach an error message.
var secrets = []string{"SIGSECRET", "AKIDSECRET", "ghp_0123456789abcdefghijABCDEFGHIJ", "eyJhbGciOiJFUzI1NiJ9", "hunter2", "s3cr3tT0k3n"}

func assertNoSecret(t *testing.T, msg string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error message leaks %q: %s", s, msg)
		}
	}
}

// TestRegistryErrorsAreRedacted drives Pull against registry doubles that
// redirect blob GETs to a presigned URL which then fails, or answer with
// an error body holding a token: the error names the endpoint, never the
// credentials.
func TestRegistryErrorsAreRedacted(t *testing.T) {
	t.Parallel()
	const signed = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDSECRET%2F20250101&X-Amz-Signature=SIGSECRET"
	tokenBody := `{"errors":[{"code":"DENIED","message":"token ghp_0123456789abcdefghijABCDEFGHIJ is not allowed","detail":"Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}]}`
	tests := []struct {
		name string
		// blob answers GET /v2/.../blobs/...; storage answers the redirect.
		blob, storage http.HandlerFunc
		manifest      http.HandlerFunc
	}{
		{name: "presigned redirect, then 403 echoing the signature",
			blob: redirect(signed),
			storage: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`<Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>SIGSECRET</SignatureProvided><StringToSign>AWS4 AKIDSECRET</StringToSign></Error>`))
			}},
		{name: "presigned redirect, then a cut connection",
			blob: redirect(signed),
			storage: func(w http.ResponseWriter, r *http.Request) {
				c, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					c.Close()
				}
			}},
		{name: "redirect with credentials in the URL, then 500",
			blob: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://user:hunter2@"+r.Host+"/storage/blob?token=s3cr3tT0k3n", http.StatusTemporaryRedirect)
			},
			storage: func(w http.ResponseWriter, r *http.Request) {
				c, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					c.Close()
				}
			}},
		{name: "blob error body with a token",
			blob: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(tokenBody))
			}},
		{name: "manifest error body with a token",
			manifest: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte("denied: access_token=s3cr3tT0k3n for Authorization: Basic aHVudGVyMjpodW50ZXIy"))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host, arm := leakyRegistry(t, tt.blob, tt.storage, tt.manifest)
			ref := pushRawArtifact(t, host, "leak/m", ArtifactType, []rawLayer{{mediaType: LayerMediaType(RoleWeight, FormatRaw), path: "w.bin", data: []byte("weights")}})
			arm()
			// Retried (fast) before it gives up: the last error is redacted too.
			_, err := Pull(context.Background(), ref, filepath.Join(t.TempDir(), "m"), WithRetries(3, time.Millisecond))
			if err == nil {
				t.Fatal("Pull succeeded against a failing registry")
			}
			t.Logf("error: %v", err)
			assertNoSecret(t, err.Error())
			if !strings.Contains(err.Error(), host) && !strings.Contains(err.Error(), "/storage/") {
				t.Errorf("error does not name the endpoint: %v", err)
			}
		})
	}
}

// leakyRegistry serves the in-process registry; once armed, blob GETs,
// manifest requests and /storage/ go to the given handlers where not nil.
func leakyRegistry(t *testing.T, blob, storage, manifest http.HandlerFunc) (string, func()) {
	t.Helper()
	reg := ggcrregistry.New()
	var armed atomic.Bool
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !armed.Load():
			reg.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/storage/") && storage != nil:
			storage(w, r)
		case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && blob != nil:
			blob(w, r)
		case strings.Contains(r.URL.Path, "/manifests/") && manifest != nil:
			manifest(w, r)
		default:
			reg.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), func() { armed.Store(true) }
}

func redirect(query string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/storage/blob"+query, http.StatusTemporaryRedirect)
	}
}

// TestRedact covers the scrubbing rules one by one.
func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, keep string }{
		{`Get "https://s3.example.com/b/sha256:ab?X-Amz-Signature=SIGSECRET&X-Amz-Credential=AKIDSECRET": EOF`, "https://s3.example.com/b/sha256:ab"},
		{`GET https://user:hunter2@registry.example.com/v2/: 401`, "registry.example.com/v2/"},
		{`denied: Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln`, "denied"},
		{`header authorization=Basic aHVudGVyMjpodW50ZXIy`, "header"},
		{`bad token ghp_0123456789abcdefghijABCDEFGHIJ`, "bad token"},
		{`{"access_token":"s3cr3tT0k3n","expires_in":300}`, "expires_in"},
		{`refresh with token=s3cr3tT0k3n&scope=x`, "refresh with"},
		{`<SignatureProvided>SIGSECRET</SignatureProvided>`, "SignatureProvided"},
		{`password: hunter2`, ""},
	}
	for _, tt := range tests {
		got := Redact(errors.New(tt.in)).Error()
		assertNoSecret(t, got)
		if !strings.Contains(got, tt.keep) {
			t.Errorf("Redact(%q) = %q: lost %q", tt.in, got, tt.keep)
		}
	}
	base := errors.New("x")
	if err := Redact(errWrap{base, "token=s3cr3tT0k3n"}); !errors.Is(err, base) {
		t.Errorf("Redact broke the error chain: %v", err)
	}
	if Redact(nil) != nil {
		t.Error("Redact(nil) != nil")
	}
}

type errWrap struct {
	err error
	msg string
}

func (e errWrap) Error() string { return e.msg + ": " + e.err.Error() }
func (e errWrap) Unwrap() error { return e.err }

// TestTagKind tells model tags from the tags signatures, attestations,
// SBOMs and referrers live under.
func TestTagKind(t *testing.T) {
	t.Parallel()
	h := strings.Repeat("ab", 32)
	tests := map[string]string{
		"1.0.0": "", "latest": "", "prod": "", "sha256-abc.sig": "", "sha256-" + h + "x": "",
		"sha256-" + h + ".sig": TagKindSignature, "sha256-" + h + ".att": TagKindAttestation,
		"sha256-" + h + ".sbom": TagKindSBOM, "sha256-" + h: TagKindReferrers,
	}
	for tag, want := range tests {
		if got := TagKind(tag); got != want {
			t.Errorf("TagKind(%q) = %q, want %q", tag, got, want)
		}
	}
}
