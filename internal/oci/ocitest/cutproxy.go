package ocitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// CutProxy is a loopback HTTP proxy in front of a registry. It forwards
// every request, and answers blob GETs of at least MinSize bytes with the
// full headers (Content-Length included) but only half the body, then
// closes the connection: what a client sees when a link drops mid-blob.
type CutProxy struct {
	// Host is the proxy's "127.0.0.1:PORT", to use in references.
	Host     string
	upstream string
	minSize  int64
	client   *http.Client
	cuts     atomic.Int64
}

// StartCutProxy serves a cutting proxy in front of upstream
// ("host:port", plain HTTP) until the test ends.
func StartCutProxy(t testing.TB, upstream string, minSize int64) *CutProxy {
	t.Helper()
	p := &CutProxy{
		upstream: upstream,
		minSize:  minSize,
		client: &http.Client{
			Transport: &http.Transport{DisableCompression: true},
			// Redirects go back to the client, as a registry's would.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	p.Host = strings.TrimPrefix(s.URL, "http://")
	return p
}

// Cuts returns how many responses were cut so far.
func (p *CutProxy) Cuts() int64 { return p.cuts.Load() }

func (p *CutProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.ContentLength = r.ContentLength
	// The upstream builds absolute upload locations from Host: keep ours.
	out.Host = r.Host
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	cut := r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") &&
		resp.StatusCode == http.StatusOK && resp.ContentLength >= p.minSize
	w.WriteHeader(resp.StatusCode)
	if !cut {
		_, _ = io.Copy(w, resp.Body)
		return
	}
	_, _ = io.CopyN(w, resp.Body, resp.ContentLength/2)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	p.cuts.Add(1)
	_ = conn.Close()
}
