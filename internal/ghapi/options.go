package ghapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type options struct {
	baseURL    *url.URL
	httpClient *http.Client
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	userAgent  string
	sleep      func(context.Context, time.Duration) error
}

func defaults() options {
	return options{retries: 4, backoff: 500 * time.Millisecond, maxBackoff: 30 * time.Second, userAgent: "mlship", sleep: sleepCtx}
}

// Option configures a Client.
type Option func(*options) error

// WithBaseURL points the client at a GitHub Enterprise Server or a test
// server: the run context's API URL, gha.Env.APIURL ("https://ghe.example.com/api/v3",
// "http://127.0.0.1:4321/"). Empty keeps https://api.github.com/.
func WithBaseURL(raw string) Option {
	return func(o *options) error {
		if raw == "" {
			return nil
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("GitHub API URL %q: want an absolute http(s) URL such as https://api.github.com", raw)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		o.baseURL = u
		return nil
	}
}

// WithHTTPClient sets the underlying HTTP client (its transport gets the
// token added; the client itself is not modified).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error { o.httpClient = c; return nil }
}

// WithRetries sets how many times a failed call is retried (default 4) on a
// 5xx, a rate limit or a network error.
func WithRetries(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("retries %d: must be >= 0", n)
		}
		o.retries = n
		return nil
	}
}

// WithBackoff sets the first retry delay and its cap (defaults 500ms, 30s);
// the delay doubles on each retry. A Retry-After from GitHub wins when it is
// within the cap.
func WithBackoff(first, max time.Duration) Option {
	return func(o *options) error {
		if first <= 0 || max < first {
			return fmt.Errorf("backoff %v..%v: want 0 < first <= max", first, max)
		}
		o.backoff, o.maxBackoff = first, max
		return nil
	}
}

// WithUserAgent sets the User-Agent (default "mlship").
func WithUserAgent(ua string) Option {
	return func(o *options) error { o.userAgent = ua; return nil }
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
