# The two commands of the README: `go run ./cmd/mlship demo` and `make test`.
GO ?= go
TOOLS_DIR ?= $(CURDIR)/.cache/tools

.PHONY: test test-short build tools lint lint-workflows fuzz

# test builds every tool the tests need (registry, cosign, cosign3, act, oras,
# crane, actionlint) into .cache/tools first, so a clean clone needs nothing
# else. Among the tests, e2e's TestActionlint lints every workflow with our
# actions resolved locally (see lint-workflows).
#
# Tests that need Debian's python3-sklearn or python3-torch install them with
# apt-get when run as root (as CI is); where they cannot, they skip and
# testenv records the skip in $(PYTHON_SKIPS), which test counts at the end
# ($(PYTHON_RUN), new each run, keeps go test from replaying a cached skip
# without recording it).
PYTHON_SKIPS := .cache/python-skips.log
PYTHON_RUN := .cache/python-run

test: tools
	MLSHIP_TOOLS_DIR=$(TOOLS_DIR) $(GO) vet ./...
	@mkdir -p .cache && rm -f $(PYTHON_SKIPS) && date +%s.%N > $(PYTHON_RUN)
	MLSHIP_TOOLS_DIR=$(TOOLS_DIR) $(GO) test -timeout 40m ./...; status=$$?; \
	  n=$$(cat $(PYTHON_SKIPS) 2>/dev/null | wc -l | tr -d ' '); \
	  echo "make test: $$n test(s) skipped for missing Python packages"; \
	  if [ "$$n" != 0 ]; then sed 's/^/  skipped: /' $(PYTHON_SKIPS); fi; \
	  exit $$status

test-short:
	$(GO) test -short ./...

build:
	$(GO) build -o bin/mlship ./cmd/mlship

tools:
	./internal/tools/build.sh $(TOOLS_DIR)

lint: lint-workflows
	gofmt -l . | tee /dev/stderr | (! read -r _)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# lint-workflows runs actionlint (pinned, built into .cache/tools) on every
# workflow and composite action, checking inputs and outputs against our own
# action.yml files: the tests make test runs too, on their own.
lint-workflows:
	./internal/tools/build.sh $(TOOLS_DIR) actionlint
	MLSHIP_TOOLS_DIR=$(TOOLS_DIR) $(GO) test -count=1 -run 'TestActionlint|TestActionsDeclareOutputs|TestCompositeActionsMapInputs' ./e2e

# fuzz runs every fuzz target for FUZZTIME each. -fuzzminimizetime is kept
# short: minimizing an interesting input of a large parser (CUE) otherwise
# stalls the run for a minute per input with no progress shown.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$pkg $$f"; $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s || exit 1; \
	  done; \
	done
