// Package digestcache remembers the digests of files and directory trees,
// keyed on what stat says about them (path, size, mtime, ctime, inode), so
// that an unchanged model is never hashed twice. It also remembers which registry
// repositories a digest was pushed to, for cross-repository mounts.
package digestcache
