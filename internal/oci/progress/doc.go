// Package progress reports the bytes of long transfers: a redrawn bar on a
// terminal, or a plain line every few seconds in CI logs.
package progress
