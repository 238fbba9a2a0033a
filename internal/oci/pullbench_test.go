//go:build unix

package oci

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/testenv"
)

// BenchmarkPullShards pulls a sharded model (MLSHIP_BENCH_SHARDS x
// MLSHIP_BENCH_SHARD_MIB, default 4 x 64) from a Distribution registry on
// loopback, with --jobs MLSHIP_BENCH_JOBS (default 4). Besides MB/s it
// reports this process's CPU seconds per pull (user and system) and the
// CPU seconds SHA-256 of the same bytes alone costs here (hash-s), the
// part of a pull's CPU that verification cannot shed:
//
//	MLSHIP_TOOLS_DIR=$PWD/.cache/tools go test ./internal/oci -run '^$' \
//	  -bench PullShards -benchtime 3x -cpuprofile /tmp/pull.cpu
func BenchmarkPullShards(b *testing.B) {
	shards, mib, jobs := envInt("MLSHIP_BENCH_SHARDS", 4), envInt("MLSHIP_BENCH_SHARD_MIB", 64), envInt("MLSHIP_BENCH_JOBS", 4)
	ctx := context.Background()
	host := testenv.StartRegistry(b)
	src, buf := writeShards(b, shards, mib)
	res, err := Push(ctx, src, host+"/bench/shards:v1", WithJobs(jobs), WithCache(digestcache.New("")))
	if err != nil {
		b.Fatal(err)
	}
	total := int64(shards) * int64(mib) << 20
	// What hashing the same bytes alone costs (CPU seconds).
	h := sha256.New()
	hu0, hs0 := rusage(b)
	for range shards {
		for off := 0; off < len(buf); off += 256 << 10 {
			h.Write(buf[off : off+256<<10])
		}
	}
	hu1, hs1 := rusage(b)
	hashS := hu1 - hu0 + hs1 - hs0
	b.SetBytes(total)
	u0, s0 := rusage(b)
	n := 0
	for b.Loop() {
		out := filepath.Join(b.TempDir(), "out")
		if _, err := Pull(ctx, res.Ref, out, WithJobs(jobs)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(out)
		b.StartTimer()
		n++
	}
	u1, s1 := rusage(b)
	b.ReportMetric((u1-u0)/float64(n), "user-s/op")
	b.ReportMetric((s1-s0)/float64(n), "sys-s/op")
	b.ReportMetric(hashS, "hash-s")
}

// writeShards writes shards random files of mib MiB named as a sharded
// model's weights; it returns them as a Source and the last file's bytes.
func writeShards(b *testing.B, shards, mib int) (Source, []byte) {
	dir := b.TempDir()
	src := Source{Dir: dir}
	buf := make([]byte, mib<<20)
	for i := 1; i <= shards; i++ {
		if _, err := rand.Read(buf); err != nil {
			b.Fatal(err)
		}
		p := fmt.Sprintf("model-%05d-of-%05d.safetensors", i, shards)
		if err := os.WriteFile(filepath.Join(dir, p), buf, 0o644); err != nil {
			b.Fatal(err)
		}
		src.Files = append(src.Files, File{Path: p, Role: RoleWeight})
	}
	return src, buf
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}

func rusage(b *testing.B) (user, sys float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime), tv(ru.Stime)
}

// BenchmarkPushShards pushes the sharded model of BenchmarkPullShards
// from an empty digest cache to a fresh repository each time, in PATCHes
// of MLSHIP_BENCH_CHUNK_MIB (default: DefaultUploadChunk): Distribution
// spends CPU per PATCH, so the chunk size is a speed/memory trade-off.
func BenchmarkPushShards(b *testing.B) {
	shards, mib, jobs := envInt("MLSHIP_BENCH_SHARDS", 4), envInt("MLSHIP_BENCH_SHARD_MIB", 64), envInt("MLSHIP_BENCH_JOBS", 4)
	chunk := envInt("MLSHIP_BENCH_CHUNK_MIB", 0) << 20
	if chunk == 0 {
		chunk = DefaultUploadChunk
	}
	ctx := context.Background()
	host := testenv.StartRegistry(b)
	src, _ := writeShards(b, shards, mib)
	b.SetBytes(int64(shards) * int64(mib) << 20)
	n := 0
	for b.Loop() {
		n++
		ref := fmt.Sprintf("%s/bench/push-%d:v1", host, n)
		if _, err := Push(ctx, src, ref, WithJobs(jobs), WithUploadChunkSize(chunk), WithCache(digestcache.New(""))); err != nil {
			b.Fatal(err)
		}
	}
}
