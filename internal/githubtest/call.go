package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// call is one request being handled; handlers run with Server.mu held.
type call struct {
	s      *Server
	r      *http.Request
	params map[string]string
	body   []byte
	w      *recorder
}

func (c *call) now() time.Time { return c.s.now().Truncate(time.Second) }

func (c *call) repo() *repo {
	return c.s.st.repo(c.params["owner"], c.params["repo"], c.now())
}

func (c *call) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.error(http.StatusInternalServerError, "githubtest: encode response: "+err.Error())
		return
	}
	c.w.header.Set("Content-Type", "application/json; charset=utf-8")
	c.w.status = status
	c.w.body.Reset()
	c.w.body.Write(b)
}

func (c *call) noContent() {
	c.w.status = http.StatusNoContent
	c.w.body.Reset()
}

func (c *call) error(status int, msg string) {
	c.json(status, obj{"message": msg, "documentation_url": docsURL, "status": strconv.Itoa(status)})
}

func (c *call) notFound() { c.error(http.StatusNotFound, "Not Found") }

// unprocessable answers 422 the way GitHub reports validation failures.
func (c *call) unprocessable(resource, field, code, msg string) {
	e := obj{"resource": resource, "code": code}
	if field != "" {
		e["field"] = field
	}
	if msg != "" {
		e["message"] = msg
	}
	c.json(http.StatusUnprocessableEntity, obj{"message": "Validation Failed", "errors": []any{e}, "documentation_url": docsURL, "status": "422"})
}

// decode reads the (already validated) JSON body into v.
func (c *call) decode(v any) bool {
	if err := json.Unmarshal(c.body, v); err != nil {
		c.error(http.StatusBadRequest, "Problems parsing JSON: "+err.Error())
		return false
	}
	return true
}

func (c *call) int64Param(name string) (int64, bool) {
	n, err := strconv.ParseInt(c.params[name], 10, 64)
	if err != nil {
		c.notFound()
		return 0, false
	}
	return n, true
}

// resolve is the common start of a handler on one resource: it parses the
// numeric path parameter, decodes the JSON body into in (unless nil) and
// finds the resource, answering as api.github.com does: 404 for an id that
// is not a number, 400 for bad JSON, then 404 for an id that names nothing.
func resolve[T any](c *call, param string, in any, find func(id int64) (T, bool)) (T, bool) {
	var zero T
	id, ok := c.int64Param(param)
	if !ok {
		return zero, false
	}
	if in != nil && !c.decode(in) {
		return zero, false
	}
	v, ok := find(id)
	if !ok {
		c.notFound()
		return zero, false
	}
	return v, true
}

// identified is a stored resource with a numeric id.
type identified interface{ resourceID() int64 }

func (c *Comment) resourceID() int64    { return c.ID }
func (c *CheckRun) resourceID() int64   { return c.ID }
func (d *Deployment) resourceID() int64 { return d.ID }

// byID is a finder (for resolve) over a list of resources.
func byID[T identified](items []T) func(int64) (T, bool) {
	return func(id int64) (T, bool) {
		for _, v := range items {
			if v.resourceID() == id {
				return v, true
			}
		}
		var zero T
		return zero, false
	}
}

// pull finds a pull request by number.
func (r *repo) pull(n int64) (*PullRequest, bool) {
	p := r.pulls[int(n)]
	return p, p != nil
}

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// page slices items per GitHub's page/per_page parameters and sets the Link
// header the way api.github.com does, so clients can follow rel="next".
func page[T any](c *call, items []T) []T {
	q := c.r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if per > 100 {
		per = 100
	}
	pg, _ := strconv.Atoi(q.Get("page"))
	if pg <= 0 {
		pg = 1
	}
	last := (len(items) + per - 1) / per
	if last == 0 {
		last = 1
	}
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: c.r.Host, Path: c.r.URL.Path}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if pg < last {
		links = append(links, link(pg+1, "next"), link(last, "last"))
	}
	if pg > 1 {
		links = append(links, link(1, "first"), link(pg-1, "prev"))
	}
	if len(links) > 0 {
		h := links[0]
		for _, l := range links[1:] {
			h += ", " + l
		}
		c.w.header.Set("Link", h)
	}
	start := (pg - 1) * per
	if start >= len(items) {
		return []T{}
	}
	end := min(start+per, len(items))
	return items[start:end]
}
