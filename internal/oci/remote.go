package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// GitHubToken is the workflow token of a GitHub Actions job and the
// actor it acts for: the credentials ghcr.io takes from a workflow.
type GitHubToken struct {
	Token string
	Actor string
	// InActions is true inside a GitHub Actions job; elsewhere the token
	// is never offered (a developer's shell may hold a personal one).
	InActions bool
}

// GitHubKeychain returns the workflow token's credentials for ghcr.io
// inside GitHub Actions, and nothing elsewhere or for other registries.
func GitHubKeychain(tok GitHubToken) authn.Keychain { return ghKeychain{tok} }

type ghKeychain struct{ tok GitHubToken }

func (k ghKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != "ghcr.io" || k.tok.Token == "" || !k.tok.InActions {
		return authn.Anonymous, nil
	}
	user := k.tok.Actor
	if user == "" {
		user = "github-actions"
	}
	return &authn.Basic{Username: user, Password: k.tok.Token}, nil
}

// DefaultKeychain is the Docker config, then the workflow token for
// ghcr.io.
func DefaultKeychain(tok GitHubToken) authn.Keychain {
	return authn.NewMultiKeychain(authn.DefaultKeychain, GitHubKeychain(tok))
}

// schemeGuard upgrades plain-HTTP requests to HTTPS unless plain HTTP is
// allowed for the registry (loopback or --plain-http); go-containerregistry
// would otherwise use HTTP for private (RFC 1918) addresses.
type schemeGuard struct {
	inner     http.RoundTripper
	allowHTTP bool
	// loopback allows plain HTTP to loopback hosts (the guard of
	// RemoteOptions, which serves any registry).
	loopback bool
}

func (g schemeGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.allowHTTP && !(g.loopback && IsLoopback(req.URL.Host)) {
		r2 := req.Clone(req.Context())
		r2.URL.Scheme = "https"
		return g.inner.RoundTrip(r2)
	}
	return g.inner.RoundTrip(req)
}

func newBaseTransport(jobs int) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = jobs + 4
	t.WriteBufferSize = 256 << 10
	t.ReadBufferSize = 256 << 10
	t.DisableCompression = true
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// registry speaks the distribution API for one repository.
type registry struct {
	repo   name.Repository
	tr     http.RoundTripper
	client *http.Client
	o      *options
}

func newRegistry(ctx context.Context, repo name.Repository, o *options, push bool, mountFrom []string) (*registry, error) {
	auth := o.auth
	if auth == nil {
		kc := o.keychain
		if kc == nil {
			kc = authn.DefaultKeychain
		}
		a, err := authn.Resolve(ctx, kc, repo)
		if err != nil {
			return nil, Redact(fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err))
		}
		auth = a
	}
	base := o.transport
	if base == nil {
		base = newBaseTransport(o.jobs)
	}
	base = schemeGuard{inner: base, allowHTTP: o.plainHTTP || IsLoopback(repo.RegistryStr())}
	base = transport.NewUserAgent(base, userAgent(o))
	scopes := []string{repo.Scope(transport.PullScope)}
	if push {
		scopes = []string{repo.Scope(transport.PushScope)}
		for _, f := range mountFrom {
			if r, err := name.NewRepository(f); err == nil && r.RegistryStr() == repo.RegistryStr() && r.RepositoryStr() != repo.RepositoryStr() {
				scopes = append(scopes, r.Scope(transport.PullScope))
			}
		}
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, base, scopes)
	if err != nil {
		return nil, Redact(fmt.Errorf("connecting to registry %s: %w", repo.RegistryStr(), err))
	}
	return &registry{repo: repo, tr: tr, client: &http.Client{Transport: tr}, o: o}, nil
}

func (r *registry) remoteOpts(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(r.tr), remote.WithJobs(r.o.jobs)}
}

func (r *registry) url(p string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s", r.repo.Scheme(), r.repo.RegistryStr(), r.repo.RepositoryStr(), p)
}

// regError reads a registry error response into an error naming the
// endpoint, with the registry's error codes. A body that holds
// credentials (a token echoed back, a presigned URL's signature) is
// withheld, not printed.
func regError(resp *http.Response, what string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := strings.TrimSpace(string(b))
	se := &statusError{Status: resp.StatusCode}
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &e) == nil && len(e.Errors) > 0 {
		var parts []string
		for _, x := range e.Errors {
			se.Codes = append(se.Codes, x.Code)
			parts = append(parts, x.Code+": "+x.Message)
		}
		msg = strings.Join(parts, "; ")
	}
	if RedactString(msg) != msg {
		msg = "(response body withheld: it holds credentials)"
	}
	se.Msg = RedactString(fmt.Sprintf("%s: %s %s: %s %s", what, resp.Request.Method, redact(resp.Request.URL), resp.Status, msg))
	return se
}

type statusError struct {
	Status int
	Codes  []string // the registry's error codes (MANIFEST_UNKNOWN...)
	Msg    string
}

func (e *statusError) Error() string { return e.Msg }

func (e *statusError) hasCode(codes ...string) bool {
	for _, have := range e.Codes {
		for _, c := range codes {
			if have == c {
				return true
			}
		}
	}
	return false
}

// redact prints a request URL without its query or userinfo.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.User, c.Fragment, c.RawFragment = "", false, nil, "", ""
	return c.String()
}

func retriable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.Status == http.StatusTooManyRequests || se.Status >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connection reset")
}

// withRetry runs f up to three times with backoff while it fails in a way
// worth retrying. What it returns is redacted: every registry call of
// this package goes through it or through do.
func withRetry(ctx context.Context, f func() error) error {
	var err error
	for i := range 3 {
		if err = f(); !retriable(err) {
			return markNotFound(Redact(err))
		}
		select {
		case <-ctx.Done():
			return markNotFound(Redact(err))
		case <-time.After(time.Duration(200*(1<<i)) * time.Millisecond):
		}
	}
	return markNotFound(Redact(err))
}

func (r *registry) do(ctx context.Context, method, u string, body io.Reader, size int64, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
		req.GetBody = nil
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		// The client's error names the URL it failed on, which after a
		// redirect is a presigned one: redact it.
		return nil, Redact(fmt.Errorf("%s %s: %w", method, redact(req.URL), err))
	}
	return resp, nil
}

// hasBlob asks the registry whether it has d.
func (r *registry) hasBlob(ctx context.Context, d v1.Hash) (bool, error) {
	var ok bool
	err := withRetry(ctx, func() error {
		resp, err := r.do(ctx, http.MethodHead, r.url("blobs/"+d.String()), nil, 0, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			ok = true
			return nil
		case http.StatusNotFound:
			ok = false
			return nil
		}
		return regError(resp, "checking blob "+d.String())
	})
	return ok, err
}

func (r *registry) resolveLocation(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("registry %s gave no upload location", r.repo.RegistryStr())
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("registry %s gave a bad upload location %q: %w", r.repo.RegistryStr(), loc, err)
	}
	return u.String(), nil
}

// startUpload opens an upload session, or mounts d from one of the
// repositories in from (same registry); mounted is true when the blob is
// now present.
func (r *registry) startUpload(ctx context.Context, d *v1.Hash, from []string) (loc string, mounted bool, err error) {
	u := r.url("blobs/uploads/")
	for _, f := range from {
		fr, err := name.NewRepository(f)
		if err != nil || d == nil || fr.RegistryStr() != r.repo.RegistryStr() || fr.RepositoryStr() == r.repo.RepositoryStr() {
			continue
		}
		q := url.Values{"mount": {d.String()}, "from": {fr.RepositoryStr()}}
		u = u + "?" + q.Encode()
		break
	}
	err = withRetry(ctx, func() error {
		resp, err := r.do(ctx, http.MethodPost, u, http.NoBody, 0, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated:
			mounted = true
			return nil
		case http.StatusAccepted:
			loc, err = r.resolveLocation(resp)
			return err
		}
		return regError(resp, "starting upload to "+r.repo.String())
	})
	return loc, mounted, err
}

func withDigest(loc string, d v1.Hash) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// uploadStream sends body in one PATCH and
// commits it with the digest that digest() returns once body is drained:
// the data is hashed while it is sent, never read twice.
func (r *registry) uploadStream(ctx context.Context, body io.Reader, digest func() v1.Hash) (v1.Hash, error) {
	loc, _, err := r.startUpload(ctx, nil, nil)
	if err != nil {
		return v1.Hash{}, err
	}
	// Chunked transfer encoding (length -1) lets net/http hand the body's
	// own large chunks to the socket; with a length it copies 32 KiB at a
	// time. The size was checked by the caller.
	if _, ok := body.(io.WriterTo); !ok {
		body = &bigBufBody{r: body, size: r.o.chunkSize}
	}
	resp, err := r.do(ctx, http.MethodPatch, loc, body, -1, map[string]string{"Content-Type": "application/octet-stream"})
	if err != nil {
		return v1.Hash{}, fmt.Errorf("uploading to %s: %w", r.repo, err)
	}
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusCreated {
		defer resp.Body.Close()
		return v1.Hash{}, regError(resp, "uploading to "+r.repo.String())
	}
	next, err := r.resolveLocation(resp)
	resp.Body.Close()
	if err != nil {
		return v1.Hash{}, err
	}
	d := digest()
	return d, r.commit(ctx, next, d, nil, 0)
}

// uploadKnown sends a blob whose digest is known in one PUT (monolithic).
func (r *registry) uploadKnown(ctx context.Context, d v1.Hash, body io.Reader, size int64) error {
	loc, mounted, err := r.startUpload(ctx, nil, nil)
	if err != nil || mounted {
		return err
	}
	return r.commit(ctx, loc, d, body, size)
}

func (r *registry) commit(ctx context.Context, loc string, d v1.Hash, body io.Reader, size int64) error {
	u, err := withDigest(loc, d)
	if err != nil {
		return fmt.Errorf("upload location %q: %w", loc, err)
	}
	if body == nil {
		body = http.NoBody
	} else {
		body = &bigBufBody{r: body, size: r.o.chunkSize}
	}
	resp, err := r.do(ctx, http.MethodPut, u, body, size, map[string]string{"Content-Type": "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("committing blob %s to %s: %w", d, r.repo, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent {
		return regError(resp, "committing blob "+d.String())
	}
	return nil
}

// getBlob opens a blob for reading; the caller verifies the digest.
func (r *registry) getBlob(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := withRetry(ctx, func() error {
		resp, err := r.do(ctx, http.MethodGet, r.url("blobs/"+d.String()), nil, 0, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			defer resp.Body.Close()
			return regError(resp, "fetching blob "+d.String())
		}
		rc = resp.Body
		return nil
	})
	return rc, err
}

// putManifest uploads a manifest under ref (a tag or its digest).
func (r *registry) putManifest(ctx context.Context, ref name.Reference, raw []byte, mediaType string) error {
	return withRetry(ctx, func() error {
		resp, err := r.do(ctx, http.MethodPut, r.url("manifests/"+ref.Identifier()), bytes.NewReader(raw), int64(len(raw)), map[string]string{"Content-Type": mediaType})
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
			return regError(resp, "pushing manifest "+ref.String())
		}
		return nil
	})
}

// bigBufBody copies with a large buffer so that file reads, hashing and
// socket writes happen in big chunks.
type bigBufBody struct {
	r    io.Reader
	size int
}

func (b *bigBufBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *bigBufBody) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, b.size)
	return io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{b.r}, buf)
}
