package digestcache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxLocations bounds the repositories remembered per digest.
const maxLocations = 8

// Stat is what must not change for a cached digest to stay valid.
type Stat struct {
	Size    int64 `json:"size"`
	ModTime int64 `json:"mtime"` // nanoseconds since the epoch
	// Ctime is the inode change time (nanoseconds): a file rewritten in
	// place with its mtime put back (os.Chtimes, rsync -t, tar -x) keeps
	// size, mtime and inode, but not its ctime, which no user call sets.
	Ctime int64  `json:"ctime"`
	Inode uint64 `json:"inode"`
	Dev   uint64 `json:"dev"`
}

// StatOf extracts a Stat from file info.
func StatOf(fi fs.FileInfo) Stat {
	ino, dev := inode(fi)
	return Stat{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Ctime: ctime(fi), Inode: ino, Dev: dev}
}

// Entry is a cached result: the blob's digest and size, and the digest of
// its uncompressed content (equal to Digest unless compressed).
type Entry struct {
	Stat     Stat   `json:"stat"`
	Digest   string `json:"digest"`
	DiffID   string `json:"diffID,omitempty"`
	BlobSize int64  `json:"blobSize"`
	Used     int64  `json:"used"` // unix seconds, for pruning
}

type file struct {
	Version   int                 `json:"version"`
	Entries   map[string]Entry    `json:"entries"`
	Locations map[string][]string `json:"locations"`
}

// Cache is safe for concurrent use. The zero value is not usable; use
// Open or New.
type Cache struct {
	path  string
	mu    sync.Mutex
	data  file
	dirty bool
	now   func() time.Time
}

// New returns an empty in-memory cache that Save writes to path (or
// nowhere if path is empty).
func New(path string) *Cache {
	return &Cache{path: path, data: file{Version: 1, Entries: map[string]Entry{}, Locations: map[string][]string{}}, now: time.Now}
}

// DefaultPath is $MLSHIP_CACHE_DIR/digests.json, or
// os.UserCacheDir()/mlship/digests.json.
func DefaultPath(getenv func(string) string) (string, error) {
	if getenv != nil {
		if d := getenv("MLSHIP_CACHE_DIR"); d != "" {
			return filepath.Join(d, "digests.json"), nil
		}
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory: %w (set MLSHIP_CACHE_DIR)", err)
	}
	return filepath.Join(d, "mlship", "digests.json"), nil
}

// Open loads the cache at path; a missing or unreadable file gives an
// empty cache (a cache is never worth failing a push for).
func Open(path string) *Cache {
	c := New(path)
	b, err := os.ReadFile(path)
	if err != nil {
		return c
	}
	var f file
	if json.Unmarshal(b, &f) != nil || f.Version != 1 {
		return c
	}
	if f.Entries != nil {
		c.data.Entries = f.Entries
	}
	if f.Locations != nil {
		c.data.Locations = f.Locations
	}
	return c
}

// Lookup returns the entry for key if its stat still matches.
func (c *Cache) Lookup(key string, st Stat) (Entry, bool) {
	if c == nil {
		return Entry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.data.Entries[key]
	if !ok || e.Stat != st || e.Digest == "" {
		return Entry{}, false
	}
	now := c.now().Unix()
	if now-e.Used > 3600 {
		e.Used = now
		c.data.Entries[key] = e
		c.dirty = true
	}
	return e, true
}

// Store records an entry for key.
func (c *Cache) Store(key string, e Entry) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e.Used = c.now().Unix()
	c.data.Entries[key] = e
	c.dirty = true
}

// AddLocation records that digest exists in repo ("host/name").
func (c *Cache) AddLocation(digest, repo string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	locs := c.data.Locations[digest]
	for _, l := range locs {
		if l == repo {
			return
		}
	}
	locs = append([]string{repo}, locs...)
	if len(locs) > maxLocations {
		locs = locs[:maxLocations]
	}
	c.data.Locations[digest] = locs
	c.dirty = true
}

// Locations returns the repositories digest was last seen in, newest first.
func (c *Cache) Locations(digest string) []string {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.data.Locations[digest]...)
}

// Save writes the cache atomically if it changed, dropping entries unused
// for 90 days.
func (c *Cache) Save() error {
	if c == nil || c.path == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	cutoff := c.now().Add(-90 * 24 * time.Hour).Unix()
	for k, e := range c.data.Entries {
		if e.Used < cutoff {
			delete(c.data.Entries, k)
		}
	}
	b, err := json.Marshal(c.data)
	if err != nil {
		return fmt.Errorf("encoding digest cache: %w", err)
	}
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating digest cache directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".digests-*.json")
	if err != nil {
		return fmt.Errorf("writing digest cache %s: %w", c.path, err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing digest cache %s: %w", c.path, err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing digest cache %s: %w", c.path, err)
	}
	c.dirty = false
	return nil
}
