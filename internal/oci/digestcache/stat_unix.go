//go:build unix

package digestcache

import (
	"io/fs"
	"syscall"
)

func inode(fi fs.FileInfo) (ino, dev uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino), uint64(st.Dev) //nolint:unconvert // widths differ by platform
	}
	return 0, 0
}
