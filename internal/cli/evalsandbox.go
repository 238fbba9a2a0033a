package cli

import (
	"io"

	"github.com/mlship/mlship/internal/spec"
)

// ServeSandbox makes the process the CUE sandbox of internal/spec when it
// was started as one (args is [spec.SandboxArg]); main calls it before
// anything else, so that no command tree is built for the child. Every spec
// evaluation that is not plain data runs first in such a child, re-executed
// from the running binary, whose memory and time are bounded.
func ServeSandbox(args []string, stdin io.Reader, stdout io.Writer) (code int, ok bool) {
	return spec.ServeSandbox(args, stdin, stdout)
}
