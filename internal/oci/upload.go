package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// errNoChunked says the registry does not take chunked uploads (it
// answered the first PATCH 405, 501 or UNSUPPORTED): the blob goes as one
// monolithic PUT, its digest computed first.
var errNoChunked = errors.New("the registry does not accept chunked uploads")

// uploadChunked sends body as a chunked upload: the bytes are read once,
// hashed on the way, and sent in PATCHes of at most the chunk size the
// registry allows (OCI-Chunk-Min-Length/-Max-Length, a 413 answer halves
// it), then committed with the digest. A PATCH that fails (a 5xx, a cut,
// a stall) is retried from the offset the upload session reports, so at
// most the chunk in hand is sent again; nothing is re-read from the file.
func (r *registry) uploadChunked(ctx context.Context, body io.Reader, sizeHint int64, prog func(int64)) (v1.Hash, int64, error) {
	loc, minChunk, err := r.startChunked(ctx)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	size := r.o.uploadChunk
	if m := r.maxChunk.Load(); m > 0 && int64(size) > m {
		size = int(m)
	}
	if minChunk > int64(size) {
		if minChunk > maxUploadChunk {
			return v1.Hash{}, 0, fmt.Errorf("registry %s asks for chunks of at least %d bytes (OCI-Chunk-Min-Length), more than the %d mlship buffers", r.repo.RegistryStr(), minChunk, maxUploadChunk)
		}
		size = int(minChunk)
	}
	// Two buffers: one is sent while the next is read and hashed. A
	// small file gets small ones; full-size ones are reused across
	// layers, so memory stays at 2 x chunk x jobs.
	var bufs [][]byte
	if sizeHint >= 0 && sizeHint < int64(size) {
		n := int(sizeHint) + 1
		bufs = [][]byte{make([]byte, n), make([]byte, n)}
	} else {
		bufs = [][]byte{r.getBuf(size), r.getBuf(size)}
	}
	hp := newHashPipeWith(body, bufs, nil)
	defer func() {
		for _, b := range hp.buffers() {
			r.putBuf(b)
		}
	}()
	var off int64
	for buf := range hp.full {
		loc, err = r.sendChunk(ctx, loc, buf, off, minChunk)
		if err != nil {
			return v1.Hash{}, 0, err
		}
		off += int64(len(buf))
		if prog != nil {
			prog(int64(len(buf)))
		}
		hp.free <- buf[:cap(buf)]
	}
	if hp.err != nil {
		return v1.Hash{}, 0, hp.err
	}
	d := hp.digest()
	if err := r.commitUpload(ctx, loc, d); err != nil {
		return v1.Hash{}, 0, err
	}
	return d, off, nil
}

// startChunked opens an upload session and returns its location and the
// registry's minimum chunk length (0 if none).
func (r *registry) startChunked(ctx context.Context) (string, int64, error) {
	var loc string
	var minChunk int64
	err := r.retry(ctx, func() error {
		resp, err := r.do(ctx, http.MethodPost, r.url("blobs/uploads/"), http.NoBody, 0, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return regError(resp, "starting upload to "+r.repo.String())
		}
		r.learnChunkLimits(resp.Header)
		minChunk, _ = strconv.ParseInt(resp.Header.Get("OCI-Chunk-Min-Length"), 10, 64)
		loc, err = r.resolveLocation(resp)
		return err
	})
	return loc, minChunk, err
}

// learnChunkLimits lowers the chunk size to an announced maximum.
func (r *registry) learnChunkLimits(h http.Header) {
	if v, err := strconv.ParseInt(h.Get("OCI-Chunk-Max-Length"), 10, 64); err == nil && v >= minUploadChunk {
		r.lowerChunk(v)
	}
}

func (r *registry) lowerChunk(n int64) {
	for {
		cur := r.maxChunk.Load()
		if cur != 0 && cur <= n {
			return
		}
		if r.maxChunk.CompareAndSwap(cur, n) {
			return
		}
	}
}

// sendChunk PATCHes buf (the blob's bytes from off) to the session at
// loc and returns the session's next location. It resumes after failures
// from where the session says it stands, and splits buf when the registry
// refuses bodies that large.
func (r *registry) sendChunk(ctx context.Context, loc string, buf []byte, off int64, minChunk int64) (string, error) {
	base := off
	pos := 0 // bytes of buf the registry has
	fails := 0
	var lastErr error
	for pos < len(buf) {
		piece := buf[pos:]
		if m := r.maxChunk.Load(); m > 0 && int64(len(piece)) > m {
			piece = piece[:m]
		}
		start := base + int64(pos)
		hdr := map[string]string{
			"Content-Type":  "application/octet-stream",
			"Content-Range": fmt.Sprintf("%d-%d", start, start+int64(len(piece))-1),
		}
		resp, err := r.do(ctx, http.MethodPatch, loc, bytes.NewReader(piece), int64(len(piece)), hdr)
		if err == nil {
			switch code := resp.StatusCode; {
			case code == http.StatusAccepted || code == http.StatusNoContent || code == http.StatusCreated:
				// ECR answers 201 to a PATCH: still an open session.
				if next, lerr := r.resolveLocation(resp); lerr == nil {
					loc = next
				}
				resp.Body.Close()
				r.sent.Add(int64(len(piece)))
				pos += len(piece)
				fails = 0
				continue
			case code == http.StatusRequestEntityTooLarge:
				resp.Body.Close()
				half := int64(len(piece)) / 2
				if half < minUploadChunk || half < minChunk {
					return "", fmt.Errorf("uploading to %s: the registry refuses request bodies of %d bytes (413) and smaller chunks are not allowed", r.repo, len(piece))
				}
				r.lowerChunk(half)
				continue
			case start == 0 && (code == http.StatusMethodNotAllowed || code == http.StatusNotImplemented || unsupported(resp)):
				resp.Body.Close()
				r.noChunked.Store(true)
				return "", errNoChunked
			case code == http.StatusRequestedRangeNotSatisfiable:
				err = regError(resp, "uploading to "+r.repo.String())
				resp.Body.Close()
				// The session is elsewhere than we think: ask it below.
			case transientStatus(code):
				err = regError(resp, "uploading to "+r.repo.String())
				resp.Body.Close()
			default:
				defer resp.Body.Close()
				return "", markNotFound(Redact(regError(resp, "uploading to "+r.repo.String())))
			}
		} else if !retriable(err) {
			return "", fmt.Errorf("uploading to %s: %w", r.repo, err)
		}
		lastErr = err
		fails++
		if fails >= r.o.retry.attempts {
			return "", Redact(fmt.Errorf("uploading to %s: gave up after %d attempts at byte %d: %w", r.repo, fails, start, lastErr))
		}
		if err := sleepCtx(ctx, r.o.retry.backoff(fails, lastErr)); err != nil {
			return "", err
		}
		// Where does the session stand? (A cut PATCH may have landed in
		// part: Distribution keeps what it received.)
		have, next, serr := r.uploadStatus(ctx, loc)
		if serr != nil {
			continue // try the same bytes again
		}
		loc = next
		if have < base || have > base+int64(len(buf)) {
			return "", fmt.Errorf("uploading to %s: the upload session holds %d bytes, but the chunk in hand covers %d to %d: start the push again", r.repo, have, base, base+int64(len(buf)))
		}
		pos = int(have - base)
	}
	return loc, nil
}

// unsupported reports an UNSUPPORTED error code (a registry without
// chunked uploads). It peeks at the body.
func unsupported(resp *http.Response) bool {
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return strings.Contains(string(b), `"UNSUPPORTED"`)
}

// uploadStatus asks an upload session how many bytes it holds.
func (r *registry) uploadStatus(ctx context.Context, loc string) (int64, string, error) {
	var have int64
	next := loc
	err := r.retry(ctx, func() error {
		resp, err := r.do(ctx, http.MethodGet, loc, nil, 0, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
			return regError(resp, "asking the upload session of "+r.repo.String()+" for its offset")
		}
		rg := strings.TrimPrefix(resp.Header.Get("Range"), "bytes=")
		_, end, ok := strings.Cut(rg, "-")
		if !ok {
			return fmt.Errorf("registry %s gave no Range for its upload session", r.repo.RegistryStr())
		}
		n, err := strconv.ParseInt(end, 10, 64)
		if err != nil {
			return fmt.Errorf("registry %s gave a bad upload Range %q", r.repo.RegistryStr(), rg)
		}
		// "0-0" is an empty session too (Distribution writes it for 0
		// and for 1 byte; 1 byte then fails with 416 and is asked again).
		have = n + 1
		if n == 0 {
			have = 0
		}
		if l, lerr := r.resolveLocation(resp); lerr == nil {
			next = l
		}
		return nil
	})
	return have, next, err
}

// commitUpload closes a session with the blob's digest. A commit whose
// answer was lost is found out by a HEAD: the blob is there.
func (r *registry) commitUpload(ctx context.Context, loc string, d v1.Hash) error {
	u, err := withDigest(loc, d)
	if err != nil {
		return fmt.Errorf("upload location %q: %w", loc, err)
	}
	tried := false
	return r.retry(ctx, func() error {
		resp, err := r.do(ctx, http.MethodPut, u, http.NoBody, 0, map[string]string{"Content-Type": "application/octet-stream"})
		if err != nil {
			tried = true
			return fmt.Errorf("committing blob %s to %s: %w", d, r.repo, err)
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated, http.StatusAccepted, http.StatusNoContent:
			return nil
		}
		cerr := regError(resp, "committing blob "+d.String())
		if tried || transientStatus(resp.StatusCode) {
			tried = true
			if ok, herr := r.hasBlob(ctx, d); herr == nil && ok {
				return nil
			}
		}
		return cerr
	})
}

// uploadMonolithic sends a blob of known digest in one PUT; open gives
// its bytes (again for each try).
func (r *registry) uploadMonolithic(ctx context.Context, d v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	return r.retry(ctx, func() error {
		loc, mounted, err := r.startUpload(ctx, nil, nil)
		if err != nil || mounted {
			return err
		}
		u, err := withDigest(loc, d)
		if err != nil {
			return fmt.Errorf("upload location %q: %w", loc, err)
		}
		body, err := open()
		if err != nil {
			return err
		}
		defer body.Close()
		var rd io.Reader = body
		if size > 0 {
			rd = &bigBufBody{r: body, size: r.o.chunkSize}
		}
		resp, err := r.do(ctx, http.MethodPut, u, rd, size, map[string]string{"Content-Type": "application/octet-stream"})
		if err != nil {
			return fmt.Errorf("uploading blob %s to %s: %w", d, r.repo, err)
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated, http.StatusAccepted, http.StatusNoContent:
			r.sent.Add(size)
			return nil
		case http.StatusRequestEntityTooLarge:
			return refusef("registry %s refuses the %d-byte blob %s in one request (413) and does not take chunked uploads", r.repo.RegistryStr(), size, d)
		}
		return regError(resp, "uploading blob "+d.String())
	})
}

// getBuf returns a buffer of n bytes, reused when one is free.
func (r *registry) getBuf(n int) []byte {
	for {
		select {
		case b := <-r.bufs:
			if cap(b) == n {
				return b[:n]
			}
			continue // another size (the chunk size changed): drop it
		default:
		}
		return make([]byte, n)
	}
}

func (r *registry) putBuf(b []byte) {
	if cap(b) < minUploadChunk {
		return
	}
	select {
	case r.bufs <- b:
	default:
	}
}
