package spec

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// limitAddressSpace caps the process's address space (RLIMIT_AS) at what it
// maps now plus the heap bound and a little room: a hard stop for one huge
// allocation between two watchdog polls, so the child's footprint stays
// near the bound. The Go
// runtime then fails with "out of memory", which the parent reads as the
// memory bound.
func limitAddressSpace(heap int64) {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return
	}
	fields := strings.Fields(string(statm))
	if len(fields) == 0 {
		return
	}
	pages, err := strconv.ParseUint(fields[0], 10, 64)
	if err != nil {
		return
	}
	limit := pages*uint64(os.Getpagesize()) + uint64(heap) + 64<<20
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit})
}
