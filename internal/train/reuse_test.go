package train_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/train"
	"github.com/mlship/mlship/internal/train/lineage"
)

// staticKeychain hands the same credentials to every registry.
type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// TestReuseUsesTheClientsCredentials: --reuse looks with the credentials
// push has (the client's keychain), so a private repository is searched,
// and a refusal is an error, never "nothing trained yet".
func TestReuseUsesTheClientsCredentials(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "octo" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"who are you"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/private"
	auth := &authn.Basic{Username: "octo", Password: "s3cret"}

	input := "sha256:" + strings.Repeat("ab", 32)
	tag, _ := lineage.InputTag(input)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.Annotations(img, map[string]string{lineage.AnnotationInputDigest: input}).(v1.Image)
	ref, _ := name.ParseReference(repo + ":" + tag)
	if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()

	ctx := context.Background()
	c := oci.NewClient(oci.WithKeychain(staticKeychain{auth}))
	art, err := train.FindTrained(ctx, train.Registry{Repository: repo, Client: c}, input)
	if err != nil || art == nil || art.Digest != want.String() {
		t.Fatalf("with the client's credentials: %+v %v, want %s", art, err, want)
	}
	art, err = train.FindTrained(ctx, train.Registry{Repository: repo, Client: oci.NewClient(oci.WithKeychain(staticKeychain{authn.Anonymous}))}, input)
	if err == nil {
		t.Fatalf("without credentials: %+v and no error; a refusal must not read as nothing trained", art)
	}
	if !strings.Contains(err.Error(), repo) {
		t.Errorf("error does not name the repository: %v", err)
	}
}
