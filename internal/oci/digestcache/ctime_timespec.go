//go:build linux || openbsd || dragonfly || solaris

package digestcache

import (
	"io/fs"
	"syscall"
)

func ctime(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		sec, nsec := st.Ctim.Unix()
		return sec*1e9 + nsec
	}
	return 0
}
