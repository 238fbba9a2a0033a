package oci

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.cncf.model.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.model.config.v1+json","digest":"sha256:` + string(bytes.Repeat([]byte("a"), 64)) + `","size":2},"layers":[{"mediaType":"application/vnd.cncf.model.weight.v1.raw","digest":"sha256:` + string(bytes.Repeat([]byte("b"), 64)) + `","size":5,"annotations":{"org.cncf.model.filepath":"w.bin"}}]}`))
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`))
	f.Add([]byte(`{"schemaVersion":1}`))
	f.Add([]byte(`{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:zz","size":-1}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseManifest(raw)
		if err != nil {
			return
		}
		// What parses must be safe to act on: valid digests, sizes >= 0.
		if m.SchemaVersion != 2 || m.Config.Size < 0 {
			t.Fatalf("accepted %+v", m)
		}
		for _, l := range m.Layers {
			if l.Size < 0 || len(l.Digest) != 71 {
				t.Fatalf("accepted layer %+v", l)
			}
			if p := LayerPath(l); p != "" {
				if rel, err := cleanRel(p); err == nil && (filepath.IsAbs(rel) || rel == ".." || bytes.HasPrefix([]byte(rel), []byte("../"))) {
					t.Fatalf("cleanRel(%q) = %q escapes", p, rel)
				}
			}
		}
		o := makeOptions([]Option{WithAllowUnknown(true)})
		_, _ = selectLayers(m, o)
	})
}

func FuzzExtractTar(f *testing.F) {
	add := func(entries []tarEntry) { f.Add(makeTar(f, entries)) }
	add([]tarEntry{{name: "code/a.py", typ: tar.TypeReg, body: "print(1)"}})
	add([]tarEntry{{name: "code/", typ: tar.TypeDir}, {name: "code/l", link: "a.py", typ: tar.TypeSymlink}})
	add([]tarEntry{{name: "../x", typ: tar.TypeReg, body: "x"}})
	add([]tarEntry{{name: "l", link: ".", typ: tar.TypeSymlink}, {name: "l/x", typ: tar.TypeReg, body: "x"}})
	add([]tarEntry{{name: "a", typ: tar.TypeReg, body: "x"}, {name: "h", link: "a", typ: tar.TypeLink}})
	add([]tarEntry{{name: "s", link: "../../etc", typ: tar.TypeSymlink}})
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		parent, err := os.MkdirTemp(base, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(parent)
		dir := filepath.Join(parent, "root")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		x := &extractor{root: root, dir: dir, buf: 32 << 10}
		done := make(chan error, 1)
		go func() { done <- x.extractTar(bytes.NewReader(data), FormatTar, int64(len(data))) }()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("extraction of %d bytes did not finish in 10s", len(data))
		}
		ents, _ := os.ReadDir(parent)
		if len(ents) != 1 {
			t.Fatalf("extraction wrote beside its root: %v", ents)
		}
		if err == nil {
			if err := checkTree(dir); err != nil {
				t.Fatalf("accepted tree fails the final check: %v", err)
			}
		}
	})
}

func TestVerifyingReader(t *testing.T) {
	t.Parallel()
	data := []byte("0123456789")
	d := sha256Hash(data)
	for _, tc := range []struct {
		name string
		data []byte
		size int64
		ok   bool
	}{
		{"exact", data, 10, true},
		{"short", data[:9], 10, false},
		{"long", append(append([]byte{}, data...), 'x'), 10, false},
		{"tampered", []byte("0123456780"), 10, false},
	} {
		for _, chunk := range []int{1, 3, 10, 64} {
			ra := newReadAhead(newVerifyingReader(bytes.NewReader(tc.data), d, tc.size), chunk, 2)
			var out bytes.Buffer
			_, err := ra.WriteTo(&out)
			ra.Close()
			ra.wait()
			if (err == nil) != tc.ok {
				t.Errorf("%s (chunk %d): err = %v", tc.name, chunk, err)
			}
		}
	}
}
