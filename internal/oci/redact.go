package oci

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces every secret Redact removes.
const redacted = "[REDACTED]"

// Redact returns err with credentials scrubbed from its message: the
// query string of every URL (presigned blob redirects carry
// X-Amz-Signature and friends there), userinfo in URLs, Authorization
// header values, Bearer and Basic credentials, token=/access_token=-style
// pairs in query, JSON or XML form, and tokens by their shape (GitHub
// tokens, JWTs). errors.Is and errors.As still see err's chain; only the
// message changes. Errors from the registry are passed through it where
// internal/oci wraps them; other packages printing errors from registries
// or APIs should do the same.
func Redact(err error) error {
	if err == nil {
		return nil
	}
	var r *redactedError
	if errors.As(err, &r) && r.msg == err.Error() {
		return err // already clean
	}
	msg := err.Error()
	clean := RedactString(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// secretKey names what holds a secret in a key=value pair.
const secretKey = `[a-z0-9_.-]*(?:token|secret|password|passwd|signature|credential|api[_-]?key|session)[a-z0-9_.-]*`

var (
	urlRe    = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>\x60]+`)
	authRe   = regexp.MustCompile(`(?i)((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token)\s+)?[^\s"',;]+`)
	schemeRe = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}`)
	pairRe   = regexp.MustCompile(`(?i)\b(` + secretKey + `)=[^\s"'&,;<>]+`)
	jsonRe   = regexp.MustCompile(`(?i)("` + secretKey + `"\s*:\s*)"[^"]*"`)
	xmlRe    = regexp.MustCompile(`(?i)(<(?:` + secretKey + `|[a-z0-9_.:-]*sign[a-z0-9_.:-]*)>)[^<]*`)
	// "password: hunter2", "token: abc123": only values that look like
	// secrets (a digit or a capital), so that "token: unexpected status"
	// keeps its words.
	colonRe   = regexp.MustCompile(`(?i)\b((?:[a-z0-9_-]*token|password|passwd|secret|client_secret|api[_-]?key):\s*)([A-Za-z0-9._~+/=-]{6,})`)
	shapeRe   = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*|AKIA[0-9A-Z]{16})`)
	secretish = regexp.MustCompile(`[0-9A-Z]`)
)

// RedactString applies Redact's rules to a string.
func RedactString(s string) string {
	s = urlRe.ReplaceAllStringFunc(s, redactURL)
	s = authRe.ReplaceAllString(s, "${1}"+redacted)
	s = schemeRe.ReplaceAllString(s, "${1} "+redacted)
	s = pairRe.ReplaceAllString(s, "${1}="+redacted)
	s = jsonRe.ReplaceAllString(s, `${1}"`+redacted+`"`)
	s = xmlRe.ReplaceAllString(s, "${1}"+redacted)
	s = colonRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := colonRe.FindStringSubmatch(m)
		if !secretish.MatchString(sub[2]) {
			return m
		}
		return sub[1] + redacted
	})
	return shapeRe.ReplaceAllString(s, redacted)
}

// redactURL drops a URL's userinfo and replaces its query and fragment.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Unparseable: keep the scheme and host at most.
		if i := strings.IndexAny(raw, "?#@"); i >= 0 {
			return raw[:i] + redacted
		}
		return raw
	}
	if u.User == nil && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery {
		return raw
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery = redacted
	}
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}
