package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		in       string
		min, max time.Duration
	}{
		{"", 0, 0}, {"3", 3 * time.Second, 3 * time.Second}, {" 0 ", 0, 0}, {"-5", 0, 0},
		{"soon", 0, 0}, {future, 28 * time.Second, 31 * time.Second},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, 0},
	} {
		if got := parseRetryAfter(tc.in); got < tc.min || got > tc.max {
			t.Errorf("parseRetryAfter(%q) = %s, want %s..%s", tc.in, got, tc.min, tc.max)
		}
	}
}

func TestRetriable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&statusError{Status: 500}, true},
		{&statusError{Status: 503}, true},
		{&statusError{Status: 429}, true},
		{&statusError{Status: 408}, true},
		{&statusError{Status: 404}, false},
		{&statusError{Status: 401}, false},
		{&statusError{Status: 413}, false},
		{fmt.Errorf("PATCH x: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("PATCH x: %w", syscall.ECONNRESET), true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), false},
		{&net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, false},
		{&idleError{after: time.Second}, true},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{refusef("digest mismatch"), false},
		{errors.New("something else"), false},
	} {
		if got := retriable(tc.err); got != tc.want {
			t.Errorf("retriable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := defaultRetryPolicy()
	for i := 1; i <= 12; i++ {
		d := p.backoff(i, errors.New("x"))
		want := min(p.base<<(i-1), p.max)
		if d < want/2 || d > want {
			t.Errorf("backoff(%d) = %s, want %s..%s", i, d, want/2, want)
		}
	}
	if d := p.backoff(1, &statusError{Status: 429, RetryAfter: 5 * time.Second}); d != 5*time.Second {
		t.Errorf("a Retry-After of 5s waited %s", d)
	}
	if d := p.backoff(1, &statusError{Status: 429, RetryAfter: time.Hour}); d != maxRetryAfter {
		t.Errorf("a Retry-After of an hour waited %s, want the %s bound", d, maxRetryAfter)
	}
}

func TestContentRangeStart(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"bytes 100-199/200": 100, "0-9": 0, "bytes */200": -1, "": -1} {
		if got := contentRangeStart(in); got != want {
			t.Errorf("contentRangeStart(%q) = %d, want %d", in, got, want)
		}
	}
}
