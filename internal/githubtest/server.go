package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/mlship/mlship/internal/gha"
)

// DefaultToken is the token a Server expects unless WithToken says otherwise.
const DefaultToken = "ghs_githubtestTOKEN0000000000000000000000"

// DefaultLogin is the user the token belongs to: the author of comments,
// check runs, deployments and statuses created through the API.
const DefaultLogin = "github-actions[bot]"

// Server is a running GitHub REST API emulator. All methods are safe for
// concurrent use.
type Server struct {
	// URL is the API base URL with a trailing slash, e.g.
	// "http://127.0.0.1:41234/": go-github's BaseURL, or the Actions API URL variable (gha.VarAPIURL).
	URL string
	// Token is the token requests must carry as "Bearer" or "token".
	Token string

	tb     testing.TB
	report func(string)
	spec   *restSpec
	srv    *httptest.Server
	login  string
	now    func() time.Time

	mu     sync.Mutex
	st     *state
	faults []*Fault
	log    []Request
}

// Request is one entry of the request log.
type Request struct {
	Method string
	// Path is the request path without a GHES "/api/v3" prefix.
	Path  string
	Query string
	// Operation is the operationId of GitHub's description ("issues/create-comment"),
	// empty when the request matched none.
	Operation string
	Status    int
	Body      []byte
	// Authorization is "Bearer ***" or "token ***" (never the token itself).
	Authorization string
}

// Fault makes the server answer matching requests with an error instead of
// handling them, to test retries. Injected faults skip response validation:
// they stand for infrastructure failures (a 502 from a proxy, a secondary
// rate limit) rather than for an operation's documented answers.
type Fault struct {
	Method string // "" matches any method
	Path   string // exact path ("/repos/o/r/check-runs"); "" matches any path
	Status int    // e.g. 502, or 403 for a secondary rate limit
	Times  int    // how many requests to fail; <= 0 means 1
	Header http.Header
	Body   string // JSON body; a GitHub-like message when empty
}

// SecondaryRateLimit returns a fault that answers like GitHub's secondary
// rate limit: 403 with Retry-After and the documentation URL go-github
// recognises (it returns *github.AbuseRateLimitError).
func SecondaryRateLimit(method, path string, retryAfter time.Duration, times int) Fault {
	return Fault{
		Method: method, Path: path, Status: http.StatusForbidden, Times: times,
		Header: http.Header{"Retry-After": {strconv.Itoa(int(retryAfter / time.Second))}},
		Body:   `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
	}
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the token requests must present.
func WithToken(token string) Option { return func(s *Server) { s.Token = token } }

// WithLogin sets the login of the authenticated user (default DefaultLogin).
func WithLogin(login string) Option { return func(s *Server) { s.login = login } }

// WithViolationHandler replaces the default t.Errorf for validation failures;
// tests of the emulator itself use it to observe rejections.
func WithViolationHandler(f func(msg string)) Option { return func(s *Server) { s.report = f } }

// WithClock sets the clock used for timestamps.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New starts an emulator on 127.0.0.1 and stops it when the test ends. The
// OpenAPI description is parsed on the first call in a test binary.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	spec, err := loadREST()
	if err != nil {
		tb.Fatalf("%v", err)
	}
	s := &Server{
		Token: DefaultToken,
		tb:    tb,
		spec:  spec,
		login: DefaultLogin,
		now:   func() time.Time { return time.Now().UTC() },
	}
	s.report = func(msg string) { tb.Errorf("%s", msg) }
	for _, o := range opts {
		o(s)
	}
	s.st = newState()
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL + "/"
	tb.Cleanup(s.srv.Close)
	return s
}

// Close stops the server (also done by the test's cleanup).
func (s *Server) Close() { s.srv.Close() }

// Env returns the environment variables that point a child process at the
// emulator: the Actions API URL and token variables (gha.VarAPIURL,
// gha.VarToken).
func (s *Server) Env() []string {
	return []string{gha.VarAPIURL + "=" + strings.TrimSuffix(s.URL, "/"), gha.VarToken + "=" + s.Token}
}

// InjectFault queues a fault; faults are consumed in the order given.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// recorder buffers a handler's response so it can be validated before it
// is sent.
type recorder struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

func (s *Server) violation(format string, args ...any) string {
	msg := fmt.Sprintf("githubtest: "+format, args...)
	s.report(msg)
	return msg
}

const docsURL = "https://docs.github.com/rest"

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems reading the body"})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	// GHES serves the API under /api/v3; go-github's WithEnterpriseURLs adds it.
	if p, ok := strings.CutPrefix(r.URL.Path, "/api/v3"); ok && (p == "" || p[0] == '/') {
		r.URL.Path = p
		r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, "/api/v3")
	}
	entry := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body, Authorization: redactAuth(r.Header.Get("Authorization"))}
	status := s.serve(w, r, body, &entry)
	entry.Status = status
	s.mu.Lock()
	s.log = append(s.log, entry)
	s.mu.Unlock()
}

func redactAuth(h string) string {
	scheme, _, ok := strings.Cut(h, " ")
	if !ok {
		if h == "" {
			return ""
		}
		return "***"
	}
	return scheme + " ***"
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, body []byte, entry *Request) int {
	route, params, err := s.findRoute(r)
	if err != nil {
		if s.otherMethodMatches(r) {
			s.violation("%s %s: method not allowed: GitHub's description has this path but no %s operation on it", r.Method, r.URL.Path, r.Method)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method Not Allowed", "documentation_url": docsURL})
			return http.StatusMethodNotAllowed
		}
		s.violation("%s %s: no such path in GitHub's REST description (%v)", r.Method, r.URL.Path, err)
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": docsURL})
		return http.StatusNotFound
	}
	op := route.Operation.OperationID
	entry.Operation = op

	in := requestInput(r, route, params)
	opts := in.Options
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		s.violation("%s %s (%s): request does not match GitHub's description:\n%v\nbody: %s", r.Method, r.URL.Path, op, err, truncate(body, 2000))
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message": "Invalid request.\n\n" + err.Error(), "documentation_url": docsURL,
		})
		return http.StatusUnprocessableEntity
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	if !s.authorized(r.Header.Get("Authorization")) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": docsURL, "status": "401"})
		return http.StatusUnauthorized
	}
	if f := s.takeFault(r); f != nil {
		for k, v := range f.Header {
			w.Header()[k] = v
		}
		msg := f.Body
		if msg == "" {
			b, _ := json.Marshal(map[string]any{"message": http.StatusText(f.Status) + " (injected by githubtest)", "documentation_url": docsURL})
			msg = string(b)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, msg)
		return f.Status
	}

	h, ok := handlers[op]
	if !ok {
		s.violation("%s %s: operation %q is valid for GitHub but not emulated by githubtest; add a handler in internal/githubtest", r.Method, r.URL.Path, op)
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found (not emulated)", "documentation_url": docsURL})
		return http.StatusNotFound
	}
	rec := &recorder{status: http.StatusOK, header: http.Header{}}
	c := &call{s: s, r: r, params: params, body: body, w: rec}
	s.mu.Lock()
	h(c)
	s.mu.Unlock()

	if err := s.validateResponse(r, in, rec, opts); err != nil {
		s.violation("%s %s (%s): emulator response %d does not match GitHub's description:\n%v\nbody: %s", r.Method, r.URL.Path, op, rec.status, err, truncate(rec.body.Bytes(), 2000))
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "githubtest: invalid response: " + err.Error()})
		return http.StatusInternalServerError
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	s.rateHeaders(w.Header())
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
	return rec.status
}

// validateResponse checks a handler's answer. GitHub's description lists
// error statuses incompletely (checks/get declares only 200, yet an unknown
// id answers 404), so an error status it does not declare is checked
// against GitHub's generic error schemas instead of being refused.
func (s *Server) validateResponse(r *http.Request, in *openapi3filter.RequestValidationInput, rec *recorder, opts *openapi3filter.Options) error {
	rs := in.Route.Operation.Responses
	if rec.status >= 400 && rs.Status(rec.status) == nil && rs.Default() == nil {
		var v any
		if err := json.Unmarshal(rec.body.Bytes(), &v); err != nil {
			return fmt.Errorf("error body is not JSON: %w", err)
		}
		name := "basic-error"
		if rec.status == http.StatusUnprocessableEntity {
			name = "validation-error"
		}
		ref := s.spec.doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			return fmt.Errorf("schema %q missing from the description", name)
		}
		return ref.Value.VisitJSON(v, openapi3.MultiErrors())
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.status, Header: rec.header, Options: opts,
	}
	rin.SetBodyBytes(rec.body.Bytes())
	return openapi3filter.ValidateResponse(r.Context(), rin)
}

// requestInput sets up validation of r: strict about bodies and response
// statuses, formats (date-time, uri) checked, defaults not injected.
func requestInput(r *http.Request, route *routers.Route, params map[string]string) *openapi3filter.RequestValidationInput {
	opts := &openapi3filter.Options{
		MultiError:                        true,
		RejectWhenRequestBodyNotSpecified: true,
		SkipSettingDefaults:               true,
		IncludeResponseStatus:             true,
		AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
		SchemaValidationOptions:           []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation(), openapi3.DisableSchemaErrorDetails()},
	}
	return &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
}

func (s *Server) rateHeaders(h http.Header) {
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func (s *Server) authorized(h string) bool {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		return tok == s.Token
	}
	return false
}

func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && (f.Path == "" || f.Path == r.URL.Path) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

// findRoute matches r against the description. A parameter holding an
// escaped slash (a branch "feature/x" sent as feature%2Fx, as go-github
// does) must stay one path segment, so routing uses the escaped path and
// the parameters are unescaped afterwards.
//
// GitHub also takes unescaped slashes in refs and paths
// (commits/feature/x/check-runs, contents/a/b.txt), which one path variable
// cannot match: when the plain match fails, runs of segments are joined
// into one, and the match is kept if only such a parameter got a slash.
func (s *Server) findRoute(r *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := s.routeEscaped(r, r.URL.EscapedPath())
	if err == nil || !strings.HasPrefix(r.URL.Path, "/repos/") {
		return route, params, err
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i := 3; i < len(segs); i++ {
		for j := i + 1; j < len(segs); j++ {
			joined := append(append(append([]string{}, segs[:i]...), strings.Join(segs[i:j+1], "%2F")), segs[j+1:]...)
			rt, ps, e := s.routeEscaped(r, "/"+strings.Join(joined, "/"))
			if e != nil {
				continue
			}
			ok := true
			for k, v := range ps {
				if strings.Contains(v, "/") && !slashParams[k] {
					ok = false
				}
			}
			if ok {
				return rt, ps, nil
			}
		}
	}
	return route, params, err
}

// slashParams are the path parameters GitHub lets hold a slash.
var slashParams = map[string]bool{"ref": true, "path": true, "branch": true, "basehead": true, "commit_sha": true}

func (s *Server) routeEscaped(r *http.Request, escaped string) (*routers.Route, map[string]string, error) {
	if escaped == r.URL.Path {
		return s.spec.router.FindRoute(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = escaped
	r2.URL.RawPath = ""
	route, params, err := s.spec.router.FindRoute(r2)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range params {
		if u, uerr := url.PathUnescape(v); uerr == nil {
			params[k] = u
		}
	}
	return route, params, nil
}

// otherMethodMatches reports whether the path exists with another method.
func (s *Server) otherMethodMatches(r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, _, err := s.findRoute(r2); err == nil {
			return true
		}
	}
	return false
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
