package oci

import (
	"archive/tar"
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestZZHang(t *testing.T) {
	seeds := [][]byte{
		makeTar(t, []tarEntry{{name: "code/a.py", typ: tar.TypeReg, body: "print(1)"}}),
		makeTar(t, []tarEntry{{name: "l", link: ".", typ: tar.TypeSymlink}, {name: "l/x", typ: tar.TypeReg, body: "x"}}),
		makeTar(t, []tarEntry{{name: "a", typ: tar.TypeReg, body: "x"}, {name: "h", link: "a", typ: tar.TypeLink}}),
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		d := append([]byte(nil), seeds[r.Intn(len(seeds))]...)
		for k := 0; k < 1+r.Intn(8); k++ {
			d[r.Intn(len(d))] = byte(r.Intn(256))
		}
		dir := filepath.Join(t.TempDir(), "root")
		os.Mkdir(dir, 0o755)
		root, _ := os.OpenRoot(dir)
		done := make(chan error, 1)
		go func() {
			x := &extractor{root: root, dir: dir, buf: 32 << 10}
			done <- x.extractTar(bytes.NewReader(d), FormatTar, int64(len(d)))
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			os.WriteFile("/tmp/hang.tar", d, 0o644)
			t.Fatalf("hang at %d", i)
		}
		root.Close()
	}
}
