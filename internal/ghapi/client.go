package ghapi

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/mlship/mlship/internal/gha"
)

// Client calls GitHub's REST API. It is safe for concurrent use.
type Client struct {
	gh    *github.Client
	o     options
	token string
}

// New returns a client authenticating with token (the workflow's token, an
// installation token or a PAT). ctx is unused today and kept for options
// that may need it (e.g. fetching an OIDC-exchanged token).
func New(ctx context.Context, token string, opts ...Option) (*Client, error) {
	_ = ctx
	if strings.TrimSpace(token) == "" {
		return nil, errors.New("GitHub token is empty: set " + gha.VarToken + " (in a workflow: env: " + gha.VarToken + ": ${{ github.token }})")
	}
	o := defaults()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	gh := github.NewClient(o.httpClient).WithAuthToken(token)
	if o.baseURL != nil {
		u := *o.baseURL
		gh.BaseURL = &u
		up := *o.baseURL
		gh.UploadURL = &up
	}
	gh.UserAgent = o.userAgent
	return &Client{gh: gh, o: o, token: token}, nil
}

// GitHub returns the underlying go-github client for calls this package
// does not wrap. Its errors are not redacted or retried.
func (c *Client) GitHub() *github.Client { return c.gh }

// BaseURL returns the API base URL, with a trailing slash.
func (c *Client) BaseURL() string { return c.gh.BaseURL.String() }

// Error is a failed API call. Its message names the endpoint and GitHub's
// answer, and never contains the token.
type Error struct {
	Method string
	// URL is the endpoint's absolute URL.
	URL string
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Message is GitHub's message (or the transport error).
	Message string
	// Attempts is how many requests were made.
	Attempts int
	Err      error
	token    string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GitHub API %s %s: ", e.Method, e.URL)
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, e.Message)
	} else {
		b.WriteString(e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if hint := statusHint(e.Status); hint != "" {
		b.WriteString(": " + hint)
	}
	return redact(b.String(), e.token)
}

func (e *Error) Unwrap() error { return e.Err }

func statusHint(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "the token was refused; check " + gha.VarToken
	case http.StatusForbidden:
		return "the token lacks a permission for this endpoint; grant it in the workflow's permissions: block"
	case http.StatusNotFound:
		return "not found, or not visible to this token; check the repository, number and the token's permissions"
	}
	return ""
}

// redact removes the token from s, should any layer have echoed it.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "***")
}

// StatusCode returns the HTTP status of an API error, 0 if none.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404 from the API.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// idempotency says whether a call may be repeated after an ambiguous
// failure (a 5xx or a lost connection), where the first request may have
// taken effect. Rate-limit refusals are always retried: nothing happened.
type idempotency bool

const (
	idempotent    idempotency = true
	notIdempotent idempotency = false
)

// do runs fn with bounded retries. path is relative to the base URL and
// only names the endpoint in errors.
func (c *Client) do(ctx context.Context, method, path string, idem idempotency, fn func() (*github.Response, error)) error {
	for attempt := 1; ; attempt++ {
		resp, err := fn()
		if err == nil {
			return nil
		}
		wait, retry := c.retryAfter(ctx, resp, err, idem, attempt)
		if !retry || attempt > c.o.retries {
			return c.wrap(method, path, resp, err, attempt)
		}
		if serr := c.o.sleep(ctx, wait); serr != nil {
			return c.wrap(method, path, resp, err, attempt)
		}
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.o.backoff << (attempt - 1)
	if d <= 0 || d > c.o.maxBackoff {
		d = c.o.maxBackoff
	}
	// Up to 25% jitter so that parallel jobs do not retry in lockstep.
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

func (c *Client) retryAfter(ctx context.Context, resp *github.Response, err error, idem idempotency, attempt int) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if abuse.RetryAfter == nil {
			return c.backoff(attempt), true
		}
		// go-github refuses to send before Retry-After has passed, so wait
		// it out, if it is within the cap.
		d := *abuse.RetryAfter
		return d, d <= c.o.maxBackoff
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		d := time.Until(rl.Rate.Reset.Time)
		return max(d, 0), d <= c.o.maxBackoff
	}
	if resp != nil && resp.Response != nil {
		if resp.StatusCode >= 500 {
			return c.backoff(attempt), bool(idem)
		}
		return 0, false
	}
	// No response at all: a network error.
	return c.backoff(attempt), bool(idem)
}

func (c *Client) wrap(method, path string, resp *github.Response, err error, attempts int) error {
	e := &Error{Method: method, URL: c.BaseURL() + strings.TrimPrefix(path, "/"), Attempts: attempts, Err: err, token: c.token}
	if resp != nil && resp.Response != nil {
		e.Status = resp.StatusCode
	}
	var er *github.ErrorResponse
	var abuse *github.AbuseRateLimitError
	var rl *github.RateLimitError
	switch {
	case errors.As(err, &abuse):
		e.Status = http.StatusForbidden
		e.Message = "secondary rate limit: " + abuse.Message
	case errors.As(err, &rl):
		e.Status = http.StatusForbidden
		e.Message = fmt.Sprintf("rate limit exceeded (resets at %s): %s", rl.Rate.Reset.Format(time.RFC3339), rl.Message)
	case errors.As(err, &er):
		e.Message = er.Message
		var details []string
		for _, d := range er.Errors {
			s := d.Message
			if s == "" {
				s = strings.Trim(d.Resource+"."+d.Field+" "+d.Code, ". ")
			}
			details = append(details, s)
		}
		if len(details) > 0 {
			e.Message += " (" + strings.Join(details, "; ") + ")"
		}
	default:
		e.Message = err.Error()
	}
	return e
}

// listAll calls list for page 1, 2, … of path (the page size set in opt,
// each call with the client's retries) and hands every item to visit,
// until GitHub reports no next page or visit returns false.
func listAll[T any](ctx context.Context, c *Client, path string, opt *github.ListOptions, list func() ([]T, *github.Response, error), visit func(T) bool) error {
	for {
		var page []T
		var next int
		err := c.do(ctx, http.MethodGet, path, idempotent, func() (*github.Response, error) {
			p, resp, err := list()
			page = p
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil {
			return err
		}
		for _, item := range page {
			if !visit(item) {
				return nil
			}
		}
		if next == 0 {
			return nil
		}
		opt.Page = next
	}
}
