// Package e2e holds mlship's end-to-end tests: the examples' real workflow
// files run by nektos/act on the host (`-P ubuntu-latest=-self-hosted`),
// with `uses: mlship/mlship/...@v1` resolved to a snapshot of this checkout
// (`--local-repository`), against a real CNCF Distribution registry process
// and the GitHub REST emulator of internal/githubtest.
//
// TestIrisWorkflows copies examples/iris into a repository of its own and
// runs its pull-request workflow (twice: one sticky comment, the same
// digest) and its main workflow on the merge of a promotion (the dev tag
// moves, a deployment is recorded, the staging promotion is proposed).
// TestCompositeActionsMapInputs checks what act cannot: that every
// composite action maps its inputs in env:, as GitHub's runner requires.
// TestActionsDeclareOutputs checks that the actions declare every output
// the subcommands they run write (a composite action passes on only those),
// and TestActionlint runs actionlint on every workflow (the repository's,
// the examples', mlship init's) and on each composite action's steps, with
// `mlship/mlship/...@v1` rewritten to this checkout's action.yml files so
// that inputs and outputs are checked against them.
// BenchmarkStepOverhead measures a step's cost before mlship does any work.
//
// The act tests take a few minutes (the setup action builds mlship from
// source in the first job, reusing the Go build cache) and are skipped
// under -short. Run them with
//
//	make tools && MLSHIP_TOOLS_DIR=$PWD/.cache/tools go test -timeout 30m -v ./e2e
//
// The package has no code of its own: everything is in its tests.
package e2e
