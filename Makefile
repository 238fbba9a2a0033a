# The two commands of the README: `go run ./cmd/mlship demo` and `make test`.
GO ?= go
TOOLS_DIR ?= $(CURDIR)/.cache/tools

.PHONY: test test-short build tools lint fuzz bench

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
