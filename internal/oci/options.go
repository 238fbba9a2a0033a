package oci

import (
	"context"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/oci/progress"
)

// Option configures Push, Pull and the other registry operations.
type Option func(*options)

// Verifier is called with the resolved manifest digest before anything is
// downloaded; an error refuses the pull.
type Verifier func(ctx context.Context, ref name.Digest) error

type options struct {
	plainHTTP    bool
	keychain     authn.Keychain
	auth         authn.Authenticator
	transport    http.RoundTripper
	progress     progress.Reporter
	annotations  map[string]string
	cache        *digestcache.Cache
	jobs         int
	monolithic   *bool
	verifier     Verifier
	roles        map[Role]bool
	allowUnknown bool
	force        bool
	created      *time.Time
	chunkSize    int
	userAgent    string
	tagFilter    func(tag string) bool
	idleTimeout  time.Duration
	retry        retryPolicy
	uploadChunk  int
	hints        map[string]string
	hintFrom     string
	noTagHints   bool
	layerHints   map[string]hint
}

func makeOptions(opts []Option) *options {
	o := &options{jobs: 4, chunkSize: 256 << 10, progress: progress.Nop{}, keychain: authn.DefaultKeychain,
		idleTimeout: DefaultIdleTimeout, retry: defaultRetryPolicy(), uploadChunk: DefaultUploadChunk}
	for _, opt := range opts {
		opt(o)
	}
	if o.jobs < 1 {
		o.jobs = 1
	}
	return o
}

// WithPlainHTTP speaks plain HTTP to a registry that is not on loopback
// (loopback registries always get plain HTTP).
func WithPlainHTTP(b bool) Option { return func(o *options) { o.plainHTTP = b } }

// WithKeychain resolves credentials per registry (default: the Docker
// config, via authn.DefaultKeychain). See GitHubKeychain for ghcr.io.
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithAuth uses fixed credentials for every registry.
func WithAuth(a authn.Authenticator) Option { return func(o *options) { o.auth = a } }

// WithTransport sets the base HTTP transport (tests, proxies).
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithProgress reports transferred bytes to p.
func WithProgress(p progress.Reporter) Option {
	return func(o *options) {
		if p != nil {
			o.progress = p
		}
	}
}

// WithAnnotations adds manifest annotations (they override the source's).
func WithAnnotations(a map[string]string) Option {
	return func(o *options) {
		if o.annotations == nil {
			o.annotations = map[string]string{}
		}
		for k, v := range a {
			o.annotations[k] = v
		}
	}
}

// WithCache uses c as the digest cache; nil disables caching. Without this
// option Push uses no cache (the CLI opens the user's cache).
func WithCache(c *digestcache.Cache) Option { return func(o *options) { o.cache = c } }

// WithJobs sets how many layers move in parallel (default 4).
func WithJobs(n int) Option { return func(o *options) { o.jobs = n } }

// WithMonolithic forces (true) or forbids (false) monolithic blob uploads:
// the digest is computed (or read from the cache) first, then the blob goes
// in one PUT. By default uploads are chunked and single-pass, and a
// registry found at run time not to take chunked uploads gets monolithic
// ones.
func WithMonolithic(b bool) Option { return func(o *options) { o.monolithic = &b } }

// WithVerifier calls v with the resolved digest before Pull downloads
// anything (signature verification).
func WithVerifier(v Verifier) Option { return func(o *options) { o.verifier = v } }

// WithRoles makes Pull fetch only layers of these roles.
func WithRoles(roles ...Role) Option {
	return func(o *options) {
		if len(roles) == 0 {
			return
		}
		o.roles = map[Role]bool{}
		for _, r := range roles {
			o.roles[r] = true
		}
	}
}

// WithAllowUnknown makes Pull accept layers and artifacts of media types
// it does not know (raw layers are written at their path annotation).
func WithAllowUnknown(b bool) Option { return func(o *options) { o.allowUnknown = b } }

// WithForce lets Pull replace a non-empty target directory.
func WithForce(b bool) Option { return func(o *options) { o.force = b } }

// WithCreated sets the creation time recorded in the artifact. Without it
// Push uses the Unix epoch, so that the same inputs give the same digest;
// see CreatedTime for SOURCE_DATE_EPOCH and git commit times.
func WithCreated(t time.Time) Option { return func(o *options) { t = t.UTC(); o.created = &t } }

// WithChunkSize sets the read buffer of transfers (default 256 KiB: the
// bytes of one buffer are hashed and written while still in the CPU
// cache; 1 MiB buffers made 2 GiB pulls 1.5 x slower).
func WithChunkSize(n int) Option {
	return func(o *options) {
		if n >= 32<<10 {
			o.chunkSize = n
		}
	}
}

// WithUserAgent sets the User-Agent sent to registries.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithTagFilter makes List keep only the tags for which keep returns
// true, before it resolves any (e.g. func(t string) bool { return
// TagKind(t) == "" } for models only).
func WithTagFilter(keep func(tag string) bool) Option {
	return func(o *options) { o.tagFilter = keep }
}

// WithIdleTimeout abandons (and retries, resuming where it can) any
// request whose body or response moves no byte for d; 0 disables it.
// Default DefaultIdleTimeout (60 s).
func WithIdleTimeout(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.idleTimeout = d
		}
	}
}

// WithRetries sets how many times each registry request is tried in all
// (at least 1; default DefaultRetries) and the first backoff (doubled per
// try, with jitter, at most 8 s; a Retry-After answer overrides it, up to
// 60 s).
func WithRetries(attempts int, firstBackoff time.Duration) Option {
	return func(o *options) {
		if attempts >= 1 {
			o.retry.attempts = attempts
		}
		if firstBackoff > 0 {
			o.retry.base = firstBackoff
			o.retry.max = max(o.retry.max, firstBackoff)
		}
	}
}

// WithUploadChunkSize sets the PATCH size of chunked uploads (default 2
// MiB; at least 256 KiB): the memory each parallel upload holds, and what
// one cut connection costs again at most. The registry's announced limits
// and 413 answers make it smaller.
func WithUploadChunkSize(n int) Option {
	return func(o *options) {
		if n >= minUploadChunk && n <= maxUploadChunk {
			o.uploadChunk = n
		}
	}
}

// WithHints names digests that files are expected to have (path relative
// to the model root -> sha256:...; e.g. the outputs run.json lists): a
// raw layer whose hinted digest the registry already has is hashed (read
// once) and, when it matches, not uploaded.
func WithHints(h map[string]string) Option {
	return func(o *options) {
		if o.hints == nil {
			o.hints = map[string]string{}
		}
		for k, v := range h {
			o.hints[k] = v
		}
	}
}

// WithHintFrom uses the manifest at ref (host/repo:tag or @digest) as a
// hint of which layers a push may find in the registry already (a
// push of a trained spec to a new tag names the run's input-<hex12>
// tag); the manifest already at the destination tag still hints the
// paths ref does not list.
func WithHintFrom(ref string) Option { return func(o *options) { o.hintFrom = ref } }

// WithoutTagHints stops Push from reading the manifest already at its
// destination tag for hints.
func WithoutTagHints() Option { return func(o *options) { o.noTagHints = true } }
