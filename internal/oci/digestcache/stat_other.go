//go:build !unix

package digestcache

import "io/fs"

func inode(fs.FileInfo) (ino, dev uint64) { return 0, 0 }
