// Package ocitest holds test doubles for registry transfers: a loopback
// proxy that cuts connections mid-blob, so that tests can prove a short
// download is never taken for a complete one.
package ocitest
