package cli

import (
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
)

// Run is the run context the pipeline use cases take, over the Factory's
// streams and Actions runtime.
func (f *Factory) Run() *pipeline.Run {
	return &pipeline.Run{Env: gha.Parse(f.IO.Env), IO: f.IO, Actions: f.Actions, Registry: f.Registry}
}
