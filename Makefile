# The two commands of the README: `go run ./cmd/mlship demo` and `make test`.
GO ?= go
TOOLS_DIR ?= $(CURDIR)/.cache/tools

.PHONY: test test-short build tools lint fuzz

# test builds every tool the tests need (registry, cosign, act, oras, crane)
# into .cache/tools first, so a clean clone needs nothing else.
test: tools
	MLSHIP_TOOLS_DIR=$(TOOLS_DIR) $(GO) vet ./...
	MLSHIP_TOOLS_DIR=$(TOOLS_DIR) $(GO) test -timeout 40m ./...

test-short:
	$(GO) test -short ./...

build:
	$(GO) build -o bin/mlship ./cmd/mlship

tools:
	./internal/tools/build.sh $(TOOLS_DIR)

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

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
