package digestcache

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCacheRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "digests.json")
	f := filepath.Join(dir, "w.bin")
	if err := os.WriteFile(f, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	st := StatOf(fi)
	if st.Inode == 0 {
		t.Errorf("inode not read from %v", fi.Sys())
	}
	c := Open(p)
	if _, ok := c.Lookup(f, st); ok {
		t.Fatal("empty cache hit")
	}
	c.Store(f, Entry{Stat: st, Digest: "sha256:abc", BlobSize: 7})
	c.AddLocation("sha256:abc", "localhost:5000/a")
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c2 := Open(p)
	if e, ok := c2.Lookup(f, st); !ok || e.Digest != "sha256:abc" {
		t.Fatalf("reloaded lookup = %+v, %v", e, ok)
	}
	changed := st
	changed.ModTime++
	if _, ok := c2.Lookup(f, changed); ok {
		t.Error("hit after mtime changed")
	}
	if got := c2.Locations("sha256:abc"); len(got) != 1 || got[0] != "localhost:5000/a" {
		t.Errorf("locations = %v", got)
	}
}

func TestOpenCorrupt(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "digests.json")
	if err := os.WriteFile(p, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Open(p)
	if _, ok := c.Lookup("x", Stat{}); ok {
		t.Error("corrupt cache gave a hit")
	}
}

func TestDefaultPath(t *testing.T) {
	t.Parallel()
	got, err := DefaultPath(func(k string) string {
		if k == "MLSHIP_CACHE_DIR" {
			return "/c"
		}
		return ""
	})
	if err != nil || got != filepath.Join("/c", "digests.json") {
		t.Errorf("DefaultPath = %q, %v", got, err)
	}
}
