package ocitest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Faults says what a FaultProxy does to the traffic it forwards. The zero
// value forwards everything untouched.
type Faults struct {
	// BodyCap answers 413 to any request whose body is larger than this
	// many bytes (GHCR's 4 MiB per-request cap), before forwarding it.
	BodyCap int64
	// ErrorRate is the share (0..1) of requests answered 500, 502 or 503
	// without being forwarded, drawn from a generator seeded with Seed.
	ErrorRate float64
	Seed      uint64
	// TooManyRequests answers the first N requests 429 with a
	// Retry-After of RetryAfter (whole seconds, at least 1).
	TooManyRequests int
	RetryAfter      time.Duration
	// CutUploadAfter, when > 0, cuts the connection of the first blob
	// upload request (PATCH or PUT under /blobs/uploads/) that carries
	// more bytes than this, after forwarding that many bytes of its body
	// upstream: the registry keeps a partial chunk, the client sees a
	// reset.
	CutUploadAfter int64
	// CutDownloadAfter, when > 0, cuts the first blob GET whose body is
	// longer than this after that many bytes.
	CutDownloadAfter int64
	// StallDownloadAfter, when > 0, stops sending the body of the first
	// blob GET longer than this after that many bytes, for StallFor (or
	// until the client gives up). StallAlways stalls every such GET.
	StallDownloadAfter int64
	// StallUploadAfter, when > 0, stops reading the body of the first
	// blob upload request longer than this after that many bytes.
	StallUploadAfter int64
	StallFor         time.Duration
	StallAlways      bool
	// NoChunked answers every upload PATCH 405 UNSUPPORTED, as a
	// registry without chunked uploads.
	NoChunked bool
	// ChunkMaxLength, when > 0, is announced as OCI-Chunk-Max-Length on
	// upload session starts (and enforced as a body cap on PATCHes).
	ChunkMaxLength int64
}

// FaultProxy is a loopback HTTP proxy in front of a registry that injects
// the faults of real registries and networks, and counts what it saw.
type FaultProxy struct {
	// Host is the proxy's "127.0.0.1:PORT", to use in references.
	Host     string
	upstream string
	f        Faults
	client   *http.Client

	mu  sync.Mutex
	rng *rand.Rand

	requests    atomic.Int64
	tooMany     atomic.Int64
	errors5xx   atomic.Int64
	rejected413 atomic.Int64
	cuts        atomic.Int64
	stalls      atomic.Int64
	uploadBytes atomic.Int64 // request body bytes of blob uploads forwarded upstream
	blobBytes   atomic.Int64 // response body bytes of blob GETs sent to the client
	maxBody     atomic.Int64 // largest request body forwarded
	cutUp       atomic.Bool
	cutDown     atomic.Bool
	stallUp     atomic.Bool
	stallDown   atomic.Bool

	logMu     sync.Mutex
	log       []Request
	quit      chan struct{}
	closeOnce sync.Once
}

// Request is one request the proxy saw, and what it did with it.
type Request struct {
	Method string
	Path   string
	At     time.Time
	// Fault is "" (forwarded), "413", "429", "5xx", "cut" or "stall".
	Fault  string
	Status int
}

// StartFaultProxy serves a fault-injecting proxy in front of upstream
// ("host:port", plain HTTP) until the test ends.
func StartFaultProxy(t testing.TB, upstream string, f Faults) *FaultProxy {
	t.Helper()
	p := NewFaultProxy(upstream, f)
	s := httptest.NewUnstartedServer(p)
	s.Config.ErrorLog = nil
	s.Start()
	t.Cleanup(s.Close)
	// Stalled handlers do not always see their client go (a request
	// body not read to its end hides the hang-up): end them first.
	t.Cleanup(p.Close)
	p.Host = strings.TrimPrefix(s.URL, "http://")
	return p
}

// NewFaultProxy returns the proxy as an http.Handler, for serving it
// outside a test (bench/oci/capproxy); set Host to where it listens.
func NewFaultProxy(upstream string, f Faults) *FaultProxy {
	return &FaultProxy{
		upstream: upstream,
		f:        f,
		quit:     make(chan struct{}),
		rng:      rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15)),
		client: &http.Client{
			Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32},
			// Redirects go back to the client, as a registry's would.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Close ends stalled handlers.
func (p *FaultProxy) Close() { p.closeOnce.Do(func() { close(p.quit) }) }

// Stats are the proxy's counters.
type Stats struct {
	Requests, TooMany, Errors5xx, Rejected413, Cuts, Stalls int64
	// UploadBytes counts blob upload body bytes forwarded to the registry
	// (including those of a cut request): what the client re-sent shows
	// as UploadBytes minus the blob sizes.
	UploadBytes int64
	// BlobBytes counts blob bytes sent to clients (including cut ones).
	BlobBytes int64
	// MaxBody is the largest request body forwarded.
	MaxBody int64
}

// Stats returns the counters so far.
func (p *FaultProxy) Stats() Stats {
	return Stats{
		Requests: p.requests.Load(), TooMany: p.tooMany.Load(), Errors5xx: p.errors5xx.Load(),
		Rejected413: p.rejected413.Load(), Cuts: p.cuts.Load(), Stalls: p.stalls.Load(),
		UploadBytes: p.uploadBytes.Load(), BlobBytes: p.blobBytes.Load(), MaxBody: p.maxBody.Load(),
	}
}

// Log returns the requests seen so far, in order of arrival.
func (p *FaultProxy) Log() []Request {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return append([]Request(nil), p.log...)
}

func (p *FaultProxy) record(r *http.Request, fault string, status int) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	p.log = append(p.log, Request{Method: r.Method, Path: r.URL.Path, At: time.Now(), Fault: fault, Status: status})
}

func isUpload(r *http.Request) bool {
	return (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/")
}

func isBlobGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
}

var errCut = errors.New("ocitest: connection cut by the fault proxy")

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if n := p.tooMany.Load(); n < int64(p.f.TooManyRequests) && p.tooMany.CompareAndSwap(n, n+1) {
		secs := int(p.f.RetryAfter.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`)
		p.record(r, "429", http.StatusTooManyRequests)
		return
	}
	if p.f.ErrorRate > 0 {
		p.mu.Lock()
		x := p.rng.Float64()
		code := []int{500, 502, 503}[p.rng.IntN(3)]
		p.mu.Unlock()
		if x < p.f.ErrorRate {
			p.errors5xx.Add(1)
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
			http.Error(w, "injected fault", code)
			p.record(r, "5xx", code)
			return
		}
	}
	if p.f.NoChunked && r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/blobs/uploads/") {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprint(w, `{"errors":[{"code":"UNSUPPORTED","message":"chunked uploads are not supported"}]}`)
		p.record(r, "405", http.StatusMethodNotAllowed)
		return
	}
	if p.f.ChunkMaxLength > 0 && r.Method == http.MethodPatch && r.ContentLength > p.f.ChunkMaxLength {
		p.reject413(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.ContentLength < 0 && p.f.BodyCap > 0 {
		// A streamed body: buffer up to the cap to learn its size.
		b, err := io.ReadAll(io.LimitReader(r.Body, p.f.BodyCap+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if int64(len(b)) > p.f.BodyCap {
			p.reject413(w, r)
			return
		}
		body = bytes.NewReader(b)
		r.ContentLength = int64(len(b))
	}
	if p.f.BodyCap > 0 && r.ContentLength > p.f.BodyCap {
		p.reject413(w, r)
		return
	}
	if r.ContentLength > p.maxBody.Load() {
		p.maxBody.Store(r.ContentLength)
	}
	upload := isUpload(r)
	cutUp := upload && p.f.CutUploadAfter > 0 && r.ContentLength > p.f.CutUploadAfter && p.cutUp.CompareAndSwap(false, true)
	// Stalls happen at an offset of the blob: a resumed request (Range,
	// Content-Range) stalls again at the same byte, so StallAlways stops
	// all progress past it.
	upAt := p.f.StallUploadAfter - rangeStart(r.Header.Get("Content-Range"))
	stallUp := upload && !cutUp && p.f.StallUploadAfter > 0 && upAt >= 0 && r.ContentLength > upAt && (p.f.StallAlways || p.stallUp.CompareAndSwap(false, true))
	if upload {
		body = &countingReader{r: body, n: &p.uploadBytes}
	}
	switch {
	case cutUp:
		body = &cutReader{r: body, left: p.f.CutUploadAfter}
	case stallUp:
		body = &stallReader{r: body, left: upAt, d: p.f.StallFor, done: r.Context().Done(), quit: p.quit, stalled: &p.stalls}
	}
	if r.ContentLength == 0 {
		body = http.NoBody
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.upstream+r.URL.RequestURI(), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.ContentLength = r.ContentLength
	// The upstream builds absolute upload locations from Host: keep ours.
	out.Host = r.Host
	resp, err := p.client.Do(out)
	if cutUp {
		if err == nil {
			resp.Body.Close()
		}
		p.cuts.Add(1)
		p.record(r, "cut", 0)
		p.hangUp(w, false)
		return
	}
	if err != nil {
		if r.Context().Err() != nil {
			p.record(r, "stall", 0)
			return // the client gave up (a stalled upload)
		}
		http.Error(w, err.Error(), http.StatusBadGateway)
		p.record(r, "", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	if p.f.ChunkMaxLength > 0 && r.Method == http.MethodPost && resp.StatusCode == http.StatusAccepted {
		w.Header().Set("OCI-Chunk-Max-Length", strconv.FormatInt(p.f.ChunkMaxLength, 10))
	}
	blob := isBlobGet(r) && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent)
	cutDown := blob && p.f.CutDownloadAfter > 0 && resp.ContentLength > p.f.CutDownloadAfter && p.cutDown.CompareAndSwap(false, true)
	downAt := max(0, p.f.StallDownloadAfter-rangeStart(strings.TrimPrefix(r.Header.Get("Range"), "bytes=")))
	stallDown := blob && !cutDown && p.f.StallDownloadAfter > 0 && resp.ContentLength > downAt &&
		(p.f.StallAlways || p.stallDown.CompareAndSwap(false, true))
	w.WriteHeader(resp.StatusCode)
	var dst io.Writer = w
	if blob {
		dst = &countingWriter{w: w, n: &p.blobBytes}
	}
	switch {
	case cutDown:
		_, _ = io.CopyN(dst, resp.Body, p.f.CutDownloadAfter)
		p.cuts.Add(1)
		p.record(r, "cut", resp.StatusCode)
		p.hangUp(w, true)
	case stallDown:
		_, _ = io.CopyN(dst, resp.Body, downAt)
		_ = http.NewResponseController(w).Flush()
		p.stalls.Add(1)
		p.record(r, "stall", resp.StatusCode)
		select {
		case <-time.After(p.f.StallFor):
		case <-r.Context().Done():
			return
		case <-p.quit:
			return
		}
		_, _ = io.Copy(dst, resp.Body)
	default:
		p.record(r, "", resp.StatusCode)
		_, _ = io.Copy(dst, resp.Body)
	}
}

func (p *FaultProxy) reject413(w http.ResponseWriter, r *http.Request) {
	p.rejected413.Add(1)
	p.record(r, "413", http.StatusRequestEntityTooLarge)
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	fmt.Fprintf(w, `{"errors":[{"code":"SIZE_INVALID","message":"the request body is too large and exceeds the maximum permissible limit of %d bytes"}]}`, p.f.BodyCap)
}

// hangUp closes the client's connection: mid-body (flush what was
// written first), or before any response.
func (p *FaultProxy) hangUp(w http.ResponseWriter, flush bool) {
	rc := http.NewResponseController(w)
	if flush {
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// cutReader yields left bytes, then fails: the upstream request is
// aborted with what it got so far.
type cutReader struct {
	r    io.Reader
	left int64
}

func (c *cutReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errCut
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}

// stallReader yields left bytes, then stops reading for d (or until
// done), then goes on.
type stallReader struct {
	r       io.Reader
	left    int64
	d       time.Duration
	done    <-chan struct{}
	quit    <-chan struct{}
	stalled *atomic.Int64
	did     bool
}

func (s *stallReader) Read(b []byte) (int, error) {
	if s.left <= 0 && !s.did {
		s.did = true
		s.stalled.Add(1)
		select {
		case <-time.After(s.d):
		case <-s.done:
			return 0, errCut
		case <-s.quit:
			return 0, errCut
		}
	}
	if s.left > 0 && int64(len(b)) > s.left {
		b = b[:s.left]
	}
	n, err := s.r.Read(b)
	s.left -= int64(n)
	return n, err
}

// rangeStart reads the first number of "N-M" or "N-" (0 if none).
func rangeStart(v string) int64 {
	s, _, ok := strings.Cut(strings.TrimSpace(v), "-")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}
