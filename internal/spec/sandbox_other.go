//go:build !linux

package spec

// limitAddressSpace is Linux's; elsewhere the heap watchdog, the memory
// limit of the runtime and the parent's timeout bound the sandbox.
func limitAddressSpace(int64) {}
