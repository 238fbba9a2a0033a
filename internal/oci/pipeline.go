package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// hashPipe reads src on its own goroutine in large chunks and hashes them
// there, while the consumer (the HTTP body writer) sends the previous
// chunk: reading, hashing and sending overlap, and every byte is still read
// exactly once.
type hashPipe struct {
	full  chan []byte
	free  chan []byte
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	h     hash.Hash
	n     int64
	err   error // set by the producer before full is closed
	cur   []byte
	spare []byte
	prog  func(int64)
}

var errPipeClosed = errors.New("upload body closed")

func newHashPipe(src io.Reader, chunk, depth int, prog func(int64)) *hashPipe {
	p := newHashPipeNoStart(chunk, depth, prog)
	p.wg.Add(1)
	go p.produce(src)
	return p
}

func newHashPipeNoStart(chunk, depth int, prog func(int64)) *hashPipe {
	p := &hashPipe{
		full: make(chan []byte, depth),
		free: make(chan []byte, depth+1),
		done: make(chan struct{}),
		h:    sha256.New(),
		prog: prog,
	}
	for range depth + 1 {
		p.free <- make([]byte, chunk)
	}
	return p
}

func (p *hashPipe) produce(src io.Reader) {
	defer p.wg.Done()
	defer close(p.full)
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.done:
			p.err = errPipeClosed
			return
		}
		n, err := p.fillHashing(src, buf[:cap(buf)])
		if n > 0 {
			p.n += int64(n)
			select {
			case p.full <- buf[:n]:
			case <-p.done:
				p.err = errPipeClosed
				return
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			// io.ErrUnexpectedEOF from src is a cut stream, not an end.
			p.err = err
			return
		}
	}
}

// hashStep is how much is read before it is hashed: small enough that
// the bytes are still in the CPU cache (buffers of 1 MiB and more made
// 2 GiB pulls and pushes 1.5 x slower than with 256 KiB).
const hashStep = 256 << 10

// fillHashing fills buf from src, hashing each step right after reading it.
func (p *hashPipe) fillHashing(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		end := min(n+hashStep, len(buf))
		m, err := fill(src, buf[n:end])
		if p.h != nil && m > 0 {
			p.h.Write(buf[n : n+m])
		}
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// fill reads into buf until it is full or src fails. Unlike io.ReadFull
// it hands back src's own error: only io.EOF ends a stream cleanly, and an
// io.ErrUnexpectedEOF from src (a cut connection) stays an error.
func fill(src io.Reader, buf []byte) (int, error) {
	n, empty := 0, 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			if empty++; empty >= 100 {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, nil
}

// newHashPipeWith is a hashPipe over the caller's buffers (at least
// two); buffers hands them back once the producer has stopped.
func newHashPipeWith(src io.Reader, bufs [][]byte, prog func(int64)) *hashPipe {
	p := &hashPipe{
		full: make(chan []byte, len(bufs)-1),
		free: make(chan []byte, len(bufs)),
		done: make(chan struct{}),
		h:    sha256.New(),
		prog: prog,
	}
	for _, b := range bufs {
		p.free <- b[:cap(b)]
	}
	p.wg.Add(1)
	go p.produce(src)
	return p
}

// buffers stops the producer and returns the buffers not in the
// consumer's hands.
func (p *hashPipe) buffers() [][]byte {
	p.Close()
	p.wait()
	var out [][]byte
	for {
		select {
		case b := <-p.free:
			out = append(out, b[:cap(b)])
		case b, ok := <-p.full:
			if !ok {
				return out
			}
			out = append(out, b[:cap(b)])
		}
	}
}

// newReadAhead is a hashPipe that does not hash: src is read (and, for a
// verifying reader, verified) on its own goroutine while the consumer
// writes the previous chunk.
func newReadAhead(src io.Reader, chunk, depth int) *hashPipe {
	p := newHashPipeNoStart(chunk, depth, nil)
	p.h = nil
	p.wg.Add(1)
	go p.produce(src)
	return p
}

// Read implements io.Reader for consumers that do not use WriteTo.
func (p *hashPipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.spare != nil {
			p.free <- p.spare[:cap(p.spare)]
			p.spare = nil
		}
		buf, ok := <-p.full
		if !ok {
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		p.cur, p.spare = buf, buf
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	if p.prog != nil {
		p.prog(int64(n))
	}
	return n, nil
}

// WriteTo sends whole chunks.
func (p *hashPipe) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(p.cur) > 0 {
		n, err := w.Write(p.cur)
		total += int64(n)
		if p.prog != nil {
			p.prog(int64(n))
		}
		p.cur = nil
		if err != nil {
			return total, err
		}
	}
	if p.spare != nil {
		p.free <- p.spare[:cap(p.spare)]
		p.spare = nil
	}
	for buf := range p.full {
		n, err := w.Write(buf)
		total += int64(n)
		if p.prog != nil {
			p.prog(int64(n))
		}
		p.free <- buf[:cap(buf)]
		if err != nil {
			return total, err
		}
	}
	return total, p.err
}

// Close stops the producer (the HTTP transport closes request bodies).
func (p *hashPipe) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

// wait returns once the producer has stopped; after a full read the
// digest and size are final.
func (p *hashPipe) wait() { p.wg.Wait() }

func (p *hashPipe) digest() v1.Hash {
	p.wait()
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(p.h.Sum(nil))}
}

func (p *hashPipe) size() int64 { p.wait(); return p.n }
