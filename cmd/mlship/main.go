// Command mlship is the single binary behind the mlship GitHub Actions.
// It only wires the process to internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlship/mlship/internal/cli"
	"github.com/mlship/mlship/internal/iostreams"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	// A spec's CUE is evaluated in a bounded child: this same binary.
	if code, ok := cli.ServeSandbox(os.Args[1:], os.Stdin, os.Stdout); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, cli.NewFactory(iostreams.System(), version), os.Args[1:])
	stop()
	os.Exit(code)
}
