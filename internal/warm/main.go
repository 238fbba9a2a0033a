package main

import (
	_ "cuelang.org/go/cue/cuecontext"
	_ "cuelang.org/go/cue/load"
	_ "cuelang.org/go/encoding/jsonschema"
	_ "cuelang.org/go/encoding/yaml"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/layout"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-github/v62/github"
	_ "github.com/modelpack/model-spec/specs-go/v1"
	_ "github.com/parquet-go/parquet-go"
	_ "github.com/sethvargo/go-githubactions"
	_ "github.com/sigstore/cosign/v2/pkg/cosign"
	_ "github.com/sigstore/cosign/v2/pkg/oci/mutate"
	_ "github.com/sigstore/cosign/v2/pkg/oci/remote"
	_ "github.com/sigstore/cosign/v2/pkg/oci/static"
	_ "github.com/sigstore/sigstore-go/pkg/testing/ca"
	_ "github.com/spf13/cobra"
	_ "gonum.org/v1/gonum/stat/distuv"
)

func main() {}
