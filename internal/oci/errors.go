package oci

import (
	"errors"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrNotFound says a registry or layout does not have what was asked for:
// a registry answered 404 or the error code MANIFEST_UNKNOWN,
// NAME_UNKNOWN or BLOB_UNKNOWN, or an oci:PATH layout has no such entry
// (or no index at all). Test it with errors.Is.
var ErrNotFound = errors.New("not found")

// IsNotFound is errors.Is(err, ErrNotFound).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// notFoundError marks err as ErrNotFound while keeping its message and
// chain.
type notFoundError struct{ err error }

func (e *notFoundError) Error() string        { return e.err.Error() }
func (e *notFoundError) Unwrap() error        { return e.err }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

// markNotFound decides from the status code and the registry's error
// codes, never from the message, whether err means "not there".
func markNotFound(err error) error {
	if err == nil || IsNotFound(err) {
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound || hasCode(te.Errors, string(transport.ManifestUnknownErrorCode), string(transport.NameUnknownErrorCode), string(transport.BlobUnknownErrorCode)) {
			return &notFoundError{err}
		}
		return err
	}
	var se *statusError
	if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.hasCode(string(transport.ManifestUnknownErrorCode), string(transport.NameUnknownErrorCode), string(transport.BlobUnknownErrorCode))) {
		return &notFoundError{err}
	}
	return err
}

func hasCode(diags []transport.Diagnostic, codes ...string) bool {
	for _, d := range diags {
		for _, c := range codes {
			if string(d.Code) == c {
				return true
			}
		}
	}
	return false
}

// notFoundf is a missing layout entry.
func notFoundf(err error) error { return &notFoundError{err} }

// AsNotFound returns err marked as ErrNotFound when the registry's status
// code or error codes in it (a transport.Error from go-containerregistry
// or cosign) mean "not there"; else err unchanged. For code that must
// speak to a registry through another library (cosign).
func AsNotFound(err error) error { return markNotFound(err) }
