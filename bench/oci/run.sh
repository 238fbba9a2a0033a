#!/usr/bin/env bash
# bench/oci/run.sh: mlship push/pull against oras on the same bytes, in the
# same run, against a real CNCF Distribution registry on 127.0.0.1.
#
#   ./bench/oci/run.sh                 # 2 GiB single file, then 20 x 100 MiB
#   SIZE_MIB=512 ./bench/oci/run.sh    # smaller
#   VARIANTS=single ./bench/oci/run.sh # only the 2 GiB case
#   MLSHIP_BIN=path MLSHIP_TOOLS_DIR=dir  # prebuilt binaries (no Go needed)
#
# Each measurement is the best of ROUNDS (3) runs with the order of the
# tools rotated every round. Also measured: the raw-transfer floor (one
# streamed curl upload of the bytes, no hashing at all) and a re-push of the
# unchanged model (digest cache hit: only HEAD requests).
# Needs: go (or MLSHIP_BIN), curl, awk, the registry and oras built by `make tools`
# (.cache/tools), and ~3x the model size of free disk under $WORK.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools=${MLSHIP_TOOLS_DIR:-$root/.cache/tools}
SIZE_MIB=${SIZE_MIB:-2048}
ROUNDS=${ROUNDS:-3}
VARIANTS=${VARIANTS:-"single multi"}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mlship-bench.XXXXXX")}
mkdir -p "$WORK"
regpid=
trap '[[ -n $regpid ]] && kill $regpid 2>/dev/null || true; wait $regpid 2>/dev/null || true; rm -rf "$WORK"' EXIT

[[ -x $tools/registry && -x $tools/oras ]] || "$root/internal/tools/build.sh" "$tools" registry oras
mlship=${MLSHIP_BIN:-}
if [[ -z $mlship ]]; then
	mkdir -p "$WORK/bin"
	(cd "$root" && go build -o "$WORK/bin/mlship" ./cmd/mlship)
	mlship=$WORK/bin/mlship
fi
oras=$tools/oras

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
host=127.0.0.1:$port
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
for _ in $(seq 100); do curl -fsS "http://$host/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

now() { date +%s.%N; }
# timeit VAR CMD...: runs CMD, adds its wall time to the list in VAR.
timeit() {
	local var=$1 t0 t1
	shift
	# Flush the previous run's dirty pages first, so that its writeback
	# does not slow down whoever runs next.
	sync
	t0=$(now)
	"$@" >/dev/null 2>>"$WORK/cmd.log" || { echo "FAILED: $*" >&2; tail -20 "$WORK/cmd.log" >&2; exit 1; }
	t1=$(now)
	printf -v "$var" '%s %s' "${!var}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')"
}
best() { tr ' ' '\n' | grep -v '^$' | sort -g | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
fmt() { printf '%.3f' "$1"; }

# curl_floor DIR REPO: streamed upload of every file, no hashing.
curl_floor() {
	local dir=$1 repo=$2 f loc
	for f in "$dir"/*; do
		loc=$(curl -fsS -X POST -D - -o /dev/null "http://$host/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
		[[ $loc == http* ]] || loc="http://$host$loc"
		curl -fsS -X PATCH -H 'Content-Type: application/octet-stream' -T "$f" "$loc" -o /dev/null
	done
}

bench_variant() {
	local variant=$1
	local dir=$WORK/model-$variant files=() i
	mkdir -p "$dir"
	if [[ $variant == single ]]; then
		head -c $((SIZE_MIB << 20)) /dev/urandom >"$dir/model.safetensors"
	else
		for i in $(seq -w 1 20); do head -c $(((SIZE_MIB / 20) << 20)) /dev/urandom >"$dir/model-000$i.safetensors"; done
	fi
	for f in "$dir"/*; do files+=("$(basename "$f"):application/vnd.cncf.model.weight.v1.raw"); done
	echo '{"descriptor":{"name":"bench"},"modelfs":{"type":"layers","diffIds":[]},"config":{}}' >"$WORK/config.json"
	sync
	local p_ml="" p_oras="" p_curl="" l_ml="" l_oras="" r_ml="" r_oras="" round tool order pull_order
	local cache=$WORK/cache-$variant
	for round in $(seq "$ROUNDS"); do
		# Fresh repositories each round, so nothing is skipped.
		case $((round % 3)) in
		1) order="mlship oras curl" ;; 2) order="oras curl mlship" ;; *) order="curl mlship oras" ;;
		esac
		for tool in $order; do
			case $tool in
			mlship) timeit p_ml "$mlship" push "$dir" "$host/bench/ml-$variant-$round:v1" --cache-dir "$cache-$round" ;;
			oras) timeit p_oras bash -c "cd '$dir' && '$oras' push --plain-http --disable-path-validation --artifact-type application/vnd.cncf.model.manifest.v1+json --config '$WORK/config.json:application/vnd.cncf.model.config.v1+json' '$host/bench/oras-$variant-$round:v1' ${files[*]}" ;;
			curl) timeit p_curl curl_floor "$dir" "bench/curl-$variant-$round" ;;
			esac
		done
		# Re-push of the unchanged model: digest cache hit, HEADs only.
		timeit r_ml "$mlship" push "$dir" "$host/bench/ml-$variant-$round:v1" --cache-dir "$cache-$round"
		timeit r_oras bash -c "cd '$dir' && '$oras' push --plain-http --disable-path-validation --artifact-type application/vnd.cncf.model.manifest.v1+json --config '$WORK/config.json:application/vnd.cncf.model.config.v1+json' '$host/bench/oras-$variant-$round:v1' ${files[*]}"
		# Pulls alternate which tool goes first.
		pull_order="mlship oras"
		((round % 2)) || pull_order="oras mlship"
		for tool in $pull_order; do
			rm -rf "$WORK/out-ml" "$WORK/out-oras"
			case $tool in
			mlship) timeit l_ml "$mlship" pull "$host/bench/ml-$variant-$round:v1" "$WORK/out-ml" ;;
			oras) mkdir -p "$WORK/out-oras" && timeit l_oras "$oras" pull --plain-http -o "$WORK/out-oras" "$host/bench/oras-$variant-$round:v1" ;;
			esac
		done
		rm -rf "$WORK/out-ml" "$WORK/out-oras"
	done
	local bp_ml bp_oras bp_curl bl_ml bl_oras br_ml br_oras
	bp_ml=$(best <<<"$p_ml"); bp_oras=$(best <<<"$p_oras"); bp_curl=$(best <<<"$p_curl")
	bl_ml=$(best <<<"$l_ml"); bl_oras=$(best <<<"$l_oras")
	br_ml=$(best <<<"$r_ml"); br_oras=$(best <<<"$r_oras")
	local label="1 x $SIZE_MIB MiB"
	[[ $variant == multi ]] && label="20 x $((SIZE_MIB / 20)) MiB"
	echo
	echo "== $label of random weights, registry $host (best of $ROUNDS, order rotated) =="
	printf '%-34s %8s s\n' "push   mlship" "$(fmt "$bp_ml")" "push   oras" "$(fmt "$bp_oras")" \
		"push   curl floor (no hashing)" "$(fmt "$bp_curl")" \
		"pull   mlship (verified)" "$(fmt "$bl_ml")" "pull   oras" "$(fmt "$bl_oras")" \
		"re-push mlship (unchanged)" "$(fmt "$br_ml")" "re-push oras (unchanged)" "$(fmt "$br_oras")"
	printf 'ratios: push mlship/oras %s (target <= 0.9), floor/oras %s, pull mlship/oras %s (target <= 0.9), re-push mlship %ss (target < 0.2)\n' \
		"$(ratio "$bp_ml" "$bp_oras")" "$(ratio "$bp_curl" "$bp_oras")" "$(ratio "$bl_ml" "$bl_oras")" "$(fmt "$br_ml")"
	echo "all runs (s): push mlship [$p_ml ] oras [$p_oras ] curl [$p_curl ]; pull mlship [$l_ml ] oras [$l_oras ]; re-push mlship [$r_ml ] oras [$r_oras ]"
	rm -rf "$dir" "$WORK/storage/docker/registry/v2/repositories" "$WORK/storage/docker/registry/v2/blobs"
}

echo "mlship vs oras $("$oras" version | head -1 | awk '{print $2}') on $(nproc) CPUs, $(uname -sr)"
for v in $VARIANTS; do bench_variant "$v"; done
