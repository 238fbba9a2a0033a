//go:build !unix

package testenv

// lockFile does nothing where flock(2) is missing: build.sh renames each
// binary into place atomically, so concurrent builds only waste time.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
