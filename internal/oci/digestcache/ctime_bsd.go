//go:build darwin || freebsd || netbsd

package digestcache

import (
	"io/fs"
	"syscall"
)

func ctime(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		sec, nsec := st.Ctimespec.Unix()
		return sec*1e9 + nsec
	}
	return 0
}
