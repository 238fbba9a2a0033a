package digestcache

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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

// TestRewriteInPlaceMisses: a file rewritten in place (same size, same
// inode) with its mtime restored must not hit: ctime moved.
func TestRewriteInPlaceMisses(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "w.bin")
	if err := os.WriteFile(f, []byte("weights-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	if StatOf(fi).Ctime == 0 {
		t.Skip("no ctime on this platform")
	}
	c := New("")
	c.Store(f, Entry{Stat: StatOf(fi), Digest: "sha256:old", BlobSize: 9})
	time.Sleep(20 * time.Millisecond) // ctime has a coarse clock
	if err := os.WriteFile(f, []byte("weights-2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	fi2, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	if !fi2.ModTime().Equal(fi.ModTime()) || fi2.Size() != fi.Size() {
		t.Fatalf("setup: mtime or size not restored")
	}
	if e, ok := c.Lookup(f, StatOf(fi2)); ok {
		t.Errorf("lookup after an in-place rewrite with the mtime restored hit %s: the file must be re-hashed", e.Digest)
	}
}
