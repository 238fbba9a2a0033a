#!/usr/bin/env bash
# bench/oci/sharded.sh: a sharded LLM-style model (SHARDS x SHARD_MIB
# model-0000N-of-0000M.safetensors plus config and tokenizer files) pushed
# and pulled against a CNCF Distribution registry on 127.0.0.1: mlship vs
# oras vs the raw floor (curl: parallel streamed uploads, parallel GETs,
# no hashing), with each run's wall time, peak RSS and bytes read through
# system calls (/proc/PID/io rchar) and the CPU seconds of the client and
# of the registry during the run (on few cores a transfer that must hash
# is bounded by their sum / cores); then the same push through a proxy
# that caps request bodies at 4 MiB (GHCR's limit), and a re-push of the
# unchanged model from an empty digest cache (a cold CI runner).
#
#   ./bench/oci/sharded.sh                        # 8 x 256 MiB
#   SHARDS=4 SHARD_MIB=64 ./bench/oci/sharded.sh  # smaller
#   JOBS=4 ROUNDS=3                               # parallel transfers, rounds (best of;
#                                                 # the pulls' order rotates each round)
# Needs: go, curl, the registry and oras of `make tools` (.cache/tools),
# ~3x the model size of free disk under $WORK.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools=${MLSHIP_TOOLS_DIR:-$root/.cache/tools}
SHARDS=${SHARDS:-8}
SHARD_MIB=${SHARD_MIB:-256}
JOBS=${JOBS:-4}
ROUNDS=${ROUNDS:-3}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mlship-sharded.XXXXXX")}
mkdir -p "$WORK/bin"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

[[ -x $tools/registry && -x $tools/oras ]] || "$root/internal/tools/build.sh" "$tools" registry oras
(cd "$root" && go build -o "$WORK/bin/mlship" ./cmd/mlship && go build -o "$WORK/bin/measure" ./bench/oci/measure && go build -o "$WORK/bin/capproxy" ./bench/oci/capproxy)
mlship=$WORK/bin/mlship measure=$WORK/bin/measure oras=$tools/oras
runs=$WORK/runs.jsonl

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
host=127.0.0.1:$(freeport)
cap=127.0.0.1:$(freeport)
cat >"$WORK/registry.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: "$WORK/storage"}
  delete: {enabled: true}
  redirect: {disable: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: "$host", secret: bench}
health: {storagedriver: {enabled: false}}
YML
OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_SDK_DISABLED=true \
	"$tools/registry" serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
regpid=$!
pids+=($regpid)
"$WORK/bin/capproxy" -listen "$cap" -upstream "$host" -cap $((4 << 20)) >"$WORK/capproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://$host/v2/" >/dev/null 2>&1 && curl -fsS "http://$cap/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

# The model.
model=$WORK/model
mkdir -p "$model"
for i in $(seq 1 "$SHARDS"); do
	head -c $((SHARD_MIB << 20)) /dev/urandom >"$model/$(printf 'model-%05d-of-%05d.safetensors' "$i" "$SHARDS")"
done
printf '{"architectures":["LlamaForCausalLM"],"hidden_size":4096,"num_hidden_layers":32}\n' >"$model/config.json"
printf '{"bos_token_id":1,"eos_token_id":2}\n' >"$model/generation_config.json"
head -c $((2 << 20)) /dev/urandom | base64 >"$model/tokenizer.json"
printf '{"model_max_length":4096}\n' >"$model/tokenizer_config.json"
printf '{"bos_token":"<s>"}\n' >"$model/special_tokens_map.json"
printf '{"weight_map":{}}\n' >"$model/model.safetensors.index.json"
size_mib=$(du -sm --apparent-size "$model" | cut -f1)
files=()
for f in "$model"/*; do
	b=$(basename "$f")
	case $b in *.safetensors) mt=weight ;; *) mt=weight.config ;; esac
	files+=("$b:application/vnd.cncf.model.$mt.v1.raw")
done
echo '{"descriptor":{"name":"bench"},"modelfs":{"type":"layers","diffIds":[]},"config":{}}' >"$WORK/config.json"
sync

m() { # m LABEL CMD...: measured run, appended to $runs
	local label=$1
	shift
	sync
	"$measure" -label "$label" -o "$runs" -watch "$regpid" -- "$@" >"$WORK/last.out" 2>>"$WORK/cmd.log" || echo "{\"label\":\"$label\",\"failed\":true}" >>"$runs"
}
oras_push() { "$measure" -label "$1" -o "$runs" -watch "$regpid" -C "$model" -- "$oras" push --plain-http --disable-path-validation \
	--artifact-type application/vnd.cncf.model.manifest.v1+json \
	--config "$WORK/config.json:application/vnd.cncf.model.config.v1+json" "$2" "${files[@]}" >/dev/null 2>>"$WORK/cmd.log" ||
	echo "{\"label\":\"$1\",\"failed\":true}" >>"$runs"; }
# curl floors: streamed uploads / GETs of every file, JOBS at a time, no hashing.
floor_push() {
	ls "$model" | xargs -P "$JOBS" -I{} sh -c '
		loc=$(curl -fsS -X POST -D - -o /dev/null "http://'"$host"'/v2/'"$1"'/blobs/uploads/" | tr -d "\r" | awk "tolower(\$1)==\"location:\"{print \$2}")
		case $loc in http*) ;; *) loc="http://'"$host"'$loc" ;; esac
		curl -fsS -X PATCH -H "Content-Type: application/octet-stream" -T "'"$model"'/{}" "$loc" -o /dev/null' _ "$1"
}
floor_pull() { # floor_pull REPO DIR: GET every layer blob of REPO:v1 in parallel
	local repo=$1 dir=$2 args=()
	mkdir -p "$dir"
	for d in $(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$host/v2/$repo/manifests/v1" | grep -o 'sha256:[0-9a-f]\{64\}' | sort -u); do
		args+=(-o "$dir/${d#sha256:}" "http://$host/v2/$repo/blobs/$d")
	done
	curl -fsS --parallel --parallel-max "$JOBS" "${args[@]}"
}

pull_mlship() { m "pull mlship" "$mlship" pull "$host/bench/ml-$1:v1" "$WORK/out" --jobs "$JOBS"; }
pull_oras() {
	mkdir -p "$WORK/out"
	m "pull oras" "$oras" pull --plain-http --concurrency "$JOBS" -o "$WORK/out" "$host/bench/oras-$1:v1"
}
pull_floor() { m "pull curl floor (parallel GET)" bash -c "$(declare -f floor_pull); host=$host JOBS=$JOBS floor_pull bench/ml-$1 $WORK/out"; }

for r in $(seq "$ROUNDS"); do
	m "push mlship" "$mlship" push "$model" "$host/bench/ml-$r:v1" --jobs "$JOBS" --cache-dir "$WORK/cache-$r"
	oras_push "push oras" "$host/bench/oras-$r:v1"
	m "push curl floor" bash -c "$(declare -f floor_push); model=$model host=$host JOBS=$JOBS floor_push bench/curl-$r"
	m "re-push mlship, empty cache" "$mlship" push "$model" "$host/bench/ml-$r:v1" --jobs "$JOBS" --cache-dir "$WORK/empty-$r" --output json
	cp "$WORK/last.out" "$WORK/repush-$r.json"
	# The three pulls in a rotated order: on a VM the first writer of
	# fresh memory pays for it (a pull writes 2 GiB of new page cache),
	# so each tool takes each place once over three rounds.
	pulls=(pull_mlship pull_oras pull_floor)
	for i in 0 1 2; do
		rm -rf "$WORK/out"
		"${pulls[$(((i + r - 1) % 3))]}" "$r"
	done
	rm -rf "$WORK/out"
	# Through the 4 MiB request cap.
	m "push mlship, 4 MiB cap" "$mlship" push "$model" "$cap/bench/cap-ml-$r:v1" --jobs "$JOBS" --cache-dir "$WORK/capcache-$r"
	oras_push "push oras, 4 MiB cap" "$cap/bench/cap-oras-$r:v1"
	m "pull mlship, 4 MiB cap" "$mlship" pull "$cap/bench/cap-ml-$r:v1" "$WORK/out" --jobs "$JOBS"
	rm -rf "$WORK/out"
done

echo "== $SHARDS x $SHARD_MIB MiB shards + config/tokenizer ($size_mib MiB), registry $host, jobs $JOBS, $(nproc) CPUs, oras $("$oras" version | head -1 | awk '{print $2}'), best of $ROUNDS =="
python3 - "$runs" "$size_mib" "$WORK"/repush-*.json <<'PY'
import json, os, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
size = float(sys.argv[2])
best = {}
for r in runs:
    if r.get("failed") or r.get("exit", 0) != 0:
        best.setdefault(r["label"], None)
        continue
    b = best.get(r["label"])
    if b is None or r["seconds"] < b["seconds"]:
        best[r["label"]] = r
print(f"{'run':34} {'seconds':>8} {'peak RSS MiB':>13} {'read MiB':>9} {'read/model':>10} {'CPU s':>6} {'registry CPU s':>15}")
for k, r in best.items():
    if r is None:
        print(f"{k:34} {'FAILED':>8}")
        continue
    print(f"{k:34} {r['seconds']:8.2f} {r['maxRssMiB']:13.1f} {r['readMiB']:9.0f} {r['readMiB']/size:10.3f} {r.get('cpuSeconds', 0):6.2f} {r.get('serverCpuSeconds', 0):15.2f}")
def s(k):
    r = best.get(k)
    return r["seconds"] if r else float("nan")
print(f"ratios: push mlship/oras {s('push mlship')/s('push oras'):.3f}; pull mlship/oras {s('pull mlship')/s('pull oras'):.3f} (target <= 0.75); "
      f"pull mlship/floor {s('pull mlship')/s('pull curl floor (parallel GET)'):.3f} (target <= 1.15)")
def bound(k):
    r = best.get(k)
    return (r.get("cpuSeconds", 0) + r.get("serverCpuSeconds", 0)) / os.cpu_count() if r else float("nan")
print(f"CPU bound ((client + registry CPU s) / {os.cpu_count()} CPUs): pull mlship {bound('pull mlship'):.2f} s, "
      f"pull oras {bound('pull oras'):.2f} s, pull curl floor {bound('pull curl floor (parallel GET)'):.2f} s")
for p in sys.argv[3:]:
    try:
        j = json.load(open(p))
        print(f"re-push from an empty cache: uploaded {j.get('uploaded')} bytes of {j.get('size')}")
    except Exception as e:
        print("re-push result unreadable:", e)
PY
