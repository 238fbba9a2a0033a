package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
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
	// Reads of at least the read buffer's size bypass it: blob bodies
	// are read in 256 KiB steps, so a 32 KiB buffer lets nearly every
	// byte go from the socket straight into the caller's buffer (a
	// 256 KiB one copied most of a pull's bytes once more).
	t.ReadBufferSize = 32 << 10
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
	// maxChunk is the largest PATCH body the registry takes (0: not
	// known yet): announced, known for the host, or learned from a 413.
	maxChunk atomic.Int64
	// noChunked is set once the registry refused a chunked upload.
	noChunked atomic.Bool
	// sent counts blob bytes the registry acknowledged.
	sent atomic.Int64
	// bufs are chunk buffers free for the next upload.
	bufs chan []byte
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
	base = pingRetry{inner: base, pol: o.retry}
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
	// The ping this makes is retried by pingRetry.
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, base, scopes)
	if err != nil {
		return nil, Redact(fmt.Errorf("connecting to registry %s: %w", repo.RegistryStr(), err))
	}
	r := &registry{repo: repo, tr: tr, client: &http.Client{Transport: tr}, o: o, bufs: make(chan []byte, 2*o.jobs)}
	if m := knownChunkMax[repo.RegistryStr()]; m > 0 {
		r.maxChunk.Store(m)
	}
	return r, nil
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
	se := &statusError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
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
	// RetryAfter is the registry's Retry-After (429, 503), 0 if none.
	RetryAfter time.Duration
	Codes      []string // the registry's error codes (MANIFEST_UNKNOWN...)
	Msg        string
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

func (r *registry) do(ctx context.Context, method, u string, body io.Reader, size int64, hdr map[string]string) (*http.Response, error) {
	w := newWatchdog(ctx, r.o.idleTimeout)
	if body != nil && body != http.NoBody {
		body = &watchedBody{r: body, w: w}
	}
	req, err := http.NewRequestWithContext(w.ctx, method, u, body)
	if err != nil {
		w.done()
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
		err = w.fired(err)
		w.done()
		// The client's error names the URL it failed on, which after a
		// redirect is a presigned one: redact it.
		return nil, Redact(fmt.Errorf("%s %s: %w", method, redact(req.URL), err))
	}
	w.pause()
	resp.Body = &watchedResponse{rc: resp.Body, w: w}
	return resp, nil
}

// hasBlob asks the registry whether it has d.
func (r *registry) hasBlob(ctx context.Context, d v1.Hash) (bool, error) {
	var ok bool
	err := r.retry(ctx, func() error {
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
	err = r.retry(ctx, func() error {
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

// getBlob opens a blob for reading; the caller verifies the digest. A
// stream that is cut or stalls is resumed with a Range request.
func (r *registry) getBlob(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	b := &resumingBlob{ctx: ctx, r: r, path: "blobs/" + d.String()}
	if err := b.open(); err != nil {
		return nil, err
	}
	return b, nil
}

// putManifest uploads a manifest under ref (a tag or its digest).
func (r *registry) putManifest(ctx context.Context, ref name.Reference, raw []byte, mediaType string) error {
	return r.retry(ctx, func() error {
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
