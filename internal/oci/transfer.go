package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Transfer defaults: every request of push and pull is retried on
// transient failures, and every body that stops moving for the idle
// timeout is abandoned (and resumed where the protocol allows).
const (
	// DefaultIdleTimeout is how long a request body or a response may
	// move no byte before the request is abandoned and retried.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultRetries is how many times one request is tried in all.
	DefaultRetries = 8
	// DefaultUploadChunk is the size of each PATCH of a chunked upload
	// (smaller when the registry says so: OCI-Chunk-Max-Length, a 413).
	// Two buffers of it per parallel layer are the bulk of a push's
	// memory: 4 MiB ones put a 2 GiB push at 93-100 MiB RSS, 2 MiB ones
	// at 70, at the same speed on loopback; it is also what one cut
	// connection costs again at most.
	DefaultUploadChunk = 2 << 20
	// maxRetryAfter bounds how long a Retry-After makes one retry wait.
	maxRetryAfter = 60 * time.Second
	// minUploadChunk is the smallest chunk a 413 may shrink uploads to.
	minUploadChunk = 256 << 10
	// maxUploadChunk bounds a registry's OCI-Chunk-Min-Length (memory).
	maxUploadChunk = 64 << 20
)

// knownChunkMax are per-registry request body caps that the registry
// does not announce (GHCR: "exceeds the maximum permissible limit of
// 4.00MiB"). A registry that caps bodies without being listed here is
// found out by its 413 answer.
var knownChunkMax = map[string]int64{"ghcr.io": 4 << 20}

type retryPolicy struct {
	attempts int
	base     time.Duration
	max      time.Duration
}

func defaultRetryPolicy() retryPolicy {
	return retryPolicy{attempts: DefaultRetries, base: 250 * time.Millisecond, max: 8 * time.Second}
}

// backoff is the wait before retry number i (1-based): exponential with
// jitter in [d/2, d], or the registry's Retry-After when it gave one.
func (p retryPolicy) backoff(i int, err error) time.Duration {
	var se *statusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return min(se.RetryAfter, maxRetryAfter)
	}
	d := p.base << min(i-1, 20)
	if d > p.max || d <= 0 {
		d = p.max
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retriable says whether err is worth another try: 5xx, 429 and 408
// answers, resets, timeouts, cut and stalled bodies. Refusals (4xx,
// digest mismatches), and the caller's own cancellation, are not.
func retriable(err error) bool {
	if err == nil || errors.Is(err, ErrRefused) {
		return false
	}
	var ie *idleError
	if errors.As(err, &ie) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *statusError
	if errors.As(err, &se) {
		return transientStatus(se.Status)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return transientStatus(te.StatusCode)
	}
	// Nothing listening, or no such host: a wrong address, not a blip.
	var dns *net.DNSError
	if errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &dns) && dns.IsNotFound) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe") ||
		strings.Contains(err.Error(), "server closed idle connection") || errors.Is(err, io.EOF)
}

func transientStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// retry runs f up to the policy's attempts while it fails in a way worth
// retrying, waiting between tries. What it returns is redacted: every
// registry call of this package goes through it or through do.
func (r *registry) retry(ctx context.Context, f func() error) error {
	return retryWith(ctx, r.o.retry, f)
}

func retryWith(ctx context.Context, p retryPolicy, f func() error) error {
	var err error
	for i := 1; ; i++ {
		if err = f(); !retriable(err) {
			return markNotFound(Redact(err))
		}
		if i >= p.attempts {
			return markNotFound(Redact(fmt.Errorf("gave up after %d attempts: %w", i, err)))
		}
		if sleepCtx(ctx, p.backoff(i, err)) != nil {
			return markNotFound(Redact(err))
		}
	}
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// idleError is a request abandoned because no byte moved for the idle
// timeout.
type idleError struct {
	after time.Duration
}

func (e *idleError) Error() string {
	return fmt.Sprintf("no data moved for %s (idle timeout): the registry or the network stalled", e.after)
}
func (e *idleError) Timeout() bool   { return true }
func (e *idleError) Temporary() bool { return true }

var errIdle = errors.New("idle timeout")

// watchdog cancels a request when its body or its response stops
// moving: bytes read from the request body, and the wait for and reading
// of the response, reset it; time the caller spends elsewhere (writing a
// file, waiting for a free job) does not count.
type watchdog struct {
	idle   time.Duration
	timer  *time.Timer
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func newWatchdog(parent context.Context, idle time.Duration) *watchdog {
	ctx, cancel := context.WithCancelCause(parent)
	w := &watchdog{idle: idle, ctx: ctx, cancel: cancel}
	if idle > 0 {
		w.timer = time.AfterFunc(idle, func() { cancel(errIdle) })
	}
	return w
}

func (w *watchdog) kick() {
	if w.timer != nil {
		w.timer.Reset(w.idle)
	}
}

func (w *watchdog) pause() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) done() { w.pause(); w.cancel(nil) }

// fired turns an error caused by the watchdog into an idleError.
func (w *watchdog) fired(err error) error {
	if err != nil && errors.Is(context.Cause(w.ctx), errIdle) {
		return &idleError{after: w.idle}
	}
	return err
}

type watchedBody struct {
	r io.Reader
	w *watchdog
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.w.kick()
	return b.r.Read(p)
}

type watchedResponse struct {
	rc io.ReadCloser
	w  *watchdog
}

func (b *watchedResponse) Read(p []byte) (int, error) {
	b.w.kick()
	n, err := b.rc.Read(p)
	b.w.pause()
	if err != nil && err != io.EOF {
		err = b.w.fired(err)
	}
	return n, err
}

func (b *watchedResponse) Close() error {
	err := b.rc.Close()
	b.w.done()
	return err
}

// resumingBlob reads a blob and, when the stream is cut or stalls,
// continues with a Range request from the byte it got to, so a blob is
// fetched once however often the link drops. The consumer verifies size
// and digest over the joined stream.
type resumingBlob struct {
	ctx   context.Context
	r     *registry
	path  string // blobs/<digest>
	off   int64
	body  io.ReadCloser
	fails int // consecutive failures without progress
}

// open starts the stream at b.off, retrying transient failures.
func (b *resumingBlob) open() error {
	return b.r.retry(b.ctx, b.openOnce)
}

func (b *resumingBlob) openOnce() error {
	var hdr map[string]string
	if b.off > 0 {
		hdr = map[string]string{"Range": fmt.Sprintf("bytes=%d-", b.off)}
	}
	resp, err := b.r.do(b.ctx, http.MethodGet, b.r.url(b.path), nil, 0, hdr)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if b.off > 0 {
			// The registry ignored the Range: skip what we have.
			if _, err := io.CopyN(io.Discard, resp.Body, b.off); err != nil {
				resp.Body.Close()
				return err
			}
		}
	case resp.StatusCode == http.StatusPartialContent && b.off > 0:
		if start := contentRangeStart(resp.Header.Get("Content-Range")); start != b.off {
			resp.Body.Close()
			return fmt.Errorf("fetching %s: asked for bytes from %d, the registry sent a range from %d", b.path, b.off, start)
		}
	default:
		defer resp.Body.Close()
		return regError(resp, "fetching "+strings.TrimPrefix(b.path, "blobs/"))
	}
	b.body = resp.Body
	return nil
}

func contentRangeStart(cr string) int64 {
	cr = strings.TrimPrefix(strings.TrimSpace(cr), "bytes ")
	s, _, ok := strings.Cut(cr, "-")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func (b *resumingBlob) Read(p []byte) (int, error) {
	for {
		var n int
		var err error
		if b.body == nil {
			err = b.openOnce() // the loop counts the tries
		}
		if err == nil {
			n, err = b.body.Read(p)
			b.off += int64(n)
			if n > 0 {
				b.fails = 0
			}
			if err == nil || err == io.EOF {
				return n, err
			}
			b.body.Close()
			b.body = nil
		}
		if !retriable(err) || b.ctx.Err() != nil {
			return n, markNotFound(Redact(err))
		}
		b.fails++
		if b.fails >= b.r.o.retry.attempts {
			return n, Redact(fmt.Errorf("gave up after %d attempts at byte %d: %w", b.fails, b.off, err))
		}
		if n > 0 {
			return n, nil // resume on the next read
		}
		if err := sleepCtx(b.ctx, b.r.o.retry.backoff(b.fails, err)); err != nil {
			return 0, err
		}
	}
}

func (b *resumingBlob) Close() error {
	if b.body != nil {
		err := b.body.Close()
		b.body = nil
		return err
	}
	return nil
}

// pingRetry retries the /v2/ ping that go-containerregistry's transport
// makes on its own, on transient answers and network errors, honouring
// Retry-After: the registry calls of this package retry themselves, the
// ping has no other retry.
type pingRetry struct {
	inner http.RoundTripper
	pol   retryPolicy
}

func (p pingRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/v2/" || (req.Body != nil && req.Body != http.NoBody) {
		return p.inner.RoundTrip(req)
	}
	for i := 1; ; i++ {
		resp, err := p.inner.RoundTrip(req)
		var wait error
		switch {
		case err != nil:
			if !retriable(err) {
				return nil, err
			}
			wait = err
		case transientStatus(resp.StatusCode):
			wait = &statusError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
		default:
			return resp, nil
		}
		if i >= p.pol.attempts {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if serr := sleepCtx(req.Context(), p.pol.backoff(i, wait)); serr != nil {
			return nil, serr
		}
	}
}
