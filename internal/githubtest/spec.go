package githubtest

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

//go:embed testdata/rest-api.github.com.json.gz
var restGz []byte

//go:embed testdata/webhooks-api.github.com.json.gz
var webhooksGz []byte

// restSpec is the parsed REST description and its router. Parsing the 13 MB
// document takes seconds, so it happens once per test binary and is shared
// read-only by every Server (kin-openapi documents are safe for concurrent
// validation once loaded).
type restSpec struct {
	doc      *openapi3.T
	router   routers.Router
	loadTime time.Duration
	// byShape maps a path with its parameter names erased ("/repos/{}/{}/pulls")
	// to the methods the description declares, to tell 405 from 404.
	byShape map[string][]string
}

var (
	restOnce sync.Once
	restVal  *restSpec
	restErr  error

	hooksOnce sync.Once
	hooksDoc  *openapi3.T
	hooksErr  error
)

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

// parseJSONDoc parses a JSON OpenAPI document and resolves its references.
// (Decoding with encoding/json into openapi3.T and ResolveRefsIn was
// measured: 4.4 s of CPU against 2.7 s for LoadFromData, because of the
// per-type UnmarshalJSON methods.)
func parseJSONDoc(raw []byte) (*openapi3.T, error) {
	return openapi3.NewLoader().LoadFromData(raw)
}

var paramRE = regexp.MustCompile(`\{[^}]*\}`)

func shapeOf(path string) string { return paramRE.ReplaceAllString(path, "{}") }

// loadREST parses the REST description once per process.
func loadREST() (*restSpec, error) {
	restOnce.Do(func() {
		start := time.Now()
		raw, err := gunzip(restGz)
		if err != nil {
			restErr = fmt.Errorf("githubtest: decompress rest-api.github.com.json.gz: %w", err)
			return
		}
		doc, err := parseJSONDoc(raw)
		if err != nil {
			restErr = fmt.Errorf("githubtest: parse rest-api.github.com.json: %w", err)
			return
		}
		// Minimal pre-processing, each required by kin-openapi or by serving
		// on loopback:
		//  1. Servers name https://api.github.com; the router would refuse any
		//     other host, so drop them (the server strips a GHES /api/v3 prefix).
		doc.Servers = nil
		//  2. kin-openapi refuses paths that differ only in a parameter name
		//     (/orgs/{org}/attestations/{subject_digest} vs .../{attestation_id}):
		//     they cannot be told apart when routing anyway. Of such paths keep
		//     the one with an operation emulated here (the GET that lists
		//     attestations, not the DELETE by id), else the first in sorted order.
		byShape := map[string][]string{}
		paths := doc.Paths.InMatchingOrder()
		sort.Strings(paths)
		kept := map[string]string{}
		for _, p := range paths {
			sh := shapeOf(p)
			prev, dup := kept[sh]
			if !dup {
				kept[sh] = p
				continue
			}
			if emulated(doc.Paths.Value(p)) && !emulated(doc.Paths.Value(prev)) {
				doc.Paths.Delete(prev)
				kept[sh] = p
			} else {
				doc.Paths.Delete(p)
			}
		}
		for sh, p := range kept {
			for m := range doc.Paths.Value(p).Operations() {
				byShape[sh] = append(byShape[sh], m)
			}
		}
		//  3. Some examples do not match their schemas (e.g. a string schema
		//     with "example": 20.04); examples play no part in validation.
		router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
		if err != nil {
			restErr = fmt.Errorf("githubtest: build router for rest-api.github.com.json: %w", err)
			return
		}
		for _, ms := range byShape {
			sort.Strings(ms)
		}
		restVal = &restSpec{doc: doc, router: router, loadTime: time.Since(start), byShape: byShape}
	})
	return restVal, restErr
}

// emulated reports whether a path item has an operation with a handler.
func emulated(item *openapi3.PathItem) bool {
	for _, op := range item.Operations() {
		if _, ok := handlers[op.OperationID]; ok {
			return true
		}
	}
	return false
}

// LoadTime reports how long parsing the REST description took (loading it
// first if needed). Useful to keep an eye on test start-up cost.
func LoadTime() (time.Duration, error) {
	s, err := loadREST()
	if err != nil {
		return 0, err
	}
	return s.loadTime, nil
}

// loadWebhooks parses the webhooks description once per process.
func loadWebhooks() (*openapi3.T, error) {
	hooksOnce.Do(func() {
		raw, err := gunzip(webhooksGz)
		if err != nil {
			hooksErr = fmt.Errorf("githubtest: decompress webhooks-api.github.com.json.gz: %w", err)
			return
		}
		doc, err := parseJSONDoc(raw)
		if err != nil {
			hooksErr = fmt.Errorf("githubtest: parse webhooks-api.github.com.json: %w", err)
			return
		}
		hooksDoc = doc
	})
	return hooksDoc, hooksErr
}
