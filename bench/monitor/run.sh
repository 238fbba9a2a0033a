#!/usr/bin/env bash
# bench/monitor/run.sh: `mlship monitor` against the reference profile that
# push attached to the model, vs `mlship drift` against the full reference
# data, in the same run on the same files (issue 16's bench).
#
# It builds mlship, generates ROWS x COLS numeric columns with
# bench/drift/gendata (reference.csv and a slightly shifted current.csv),
# writes a spec directory whose drift reference is reference.csv, starts a
# CNCF Distribution registry on 127.0.0.1, makes an ephemeral cosign key
# (mlship keygen), pushes the model (push computes and attaches the
# reference profile), signs it, tags it prod (mlship tag), moves
# reference.csv out of the spec, and measures with GNU time -v:
#
#   mlship drift --reference reference.csv --current current.csv
#   mlship monitor SPEC --environment prod --current current.csv --key cosign.pub
#
# monitor does the real work: resolve prod's tag, verify the signature,
# fetch the profile layer (never the weights), test the sample. No GitHub
# environment is passed, so no issue is filed. It prints wall, CPU
# (user+sys) and peak RSS of each, the ratios, and PASS/MISS against the
# targets (monitor <= 0.5 x drift's wall time, peak RSS <= 200 MiB), and
# checks that both name the same drifted columns.
#
# With WIDE=1 it also measures the wide case: 1,000,000 rows x 200 float64
# columns from Parquet (bench/monitor/genparquet; the reference, whose
# profile push attaches, has WIDE_REF_ROWS rows), `monitor --memory-budget B`
# for each B in WIDE_BUDGETS, printing peak RSS against the budget (the
# statistics stay within the budget; ~45 MiB of binary and runtime and
# parquet-go's page buffers come on top, see docs/monitoring.md).
#
#   bench/monitor/run.sh                         # 1,000,000 x 20 CSV
#   ROWS=200000 COLS=10 bench/monitor/run.sh     # smaller
#   WIDE=1 bench/monitor/run.sh                  # also 1,000,000 x 200 Parquet
#   WIDE=only WIDE_ROWS=100000 bench/monitor/run.sh  # only the wide part
#
# Environment: ROWS, COLS (default 1000000 20); WIDE (unset, 1 or only),
# WIDE_ROWS, WIDE_COLS, WIDE_REF_ROWS (1000000 200 100000), WIDE_BUDGETS
# ("128MiB"); WORK (data directory, default a temp dir; kept when set);
# MLSHIP_BIN (a built binary; default go build ./cmd/mlship);
# MLSHIP_TOOLS_DIR (the registry binary, default .cache/tools; built with
# internal/tools/build.sh registry when missing). Needs go, curl, jq, GNU
# time (installed with apt-get when missing and root), and about
# 2 x ROWS x COLS x 10 bytes of disk (WIDE: + WIDE_ROWS x WIDE_COLS x 8).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools=${MLSHIP_TOOLS_DIR:-$root/.cache/tools}
ROWS=${ROWS:-1000000}
COLS=${COLS:-20}
WIDE=${WIDE:-}
WIDE_ROWS=${WIDE_ROWS:-1000000}
WIDE_COLS=${WIDE_COLS:-200}
WIDE_REF_ROWS=${WIDE_REF_ROWS:-100000}
WIDE_BUDGETS=${WIDE_BUDGETS:-128MiB}
keep=${WORK:+1}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mlship-bench-monitor.XXXXXX")}
mkdir -p "$WORK"
regpid=
cleanup() {
	if [[ -n $regpid ]]; then kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; fi
	if [[ -z $keep ]]; then rm -rf "$WORK"; else rm -rf "$WORK/storage"; fi
}
trap cleanup EXIT

die() { echo "bench/monitor: $*" >&2; exit 1; }
if [[ ! -x /usr/bin/time ]]; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
	fi
	[[ -x /usr/bin/time ]] || die "GNU time is needed: apt-get install -y time"
fi
command -v jq >/dev/null || die "jq is needed: apt-get install -y jq"
command -v curl >/dev/null || die "curl is needed: apt-get install -y curl"
[[ -x $tools/registry ]] || "$root/internal/tools/build.sh" "$tools" registry
[[ -x $tools/registry ]] || die "no registry binary in $tools (internal/tools/build.sh $tools registry)"

mkdir -p "$WORK/bin"
mlship=${MLSHIP_BIN:-}
if [[ -z $mlship ]]; then
	(cd "$root" && go build -o "$WORK/bin/mlship" ./cmd/mlship)
	mlship=$WORK/bin/mlship
fi

# The registry, on loopback (mlship speaks plain HTTP to loopback only).
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
curl -fsS "http://$host/v2/" >/dev/null || { cat "$WORK/registry.log" >&2; die "the registry did not start on $host"; }

# No GitHub Actions environment reaches mlship: no issue, no outputs.
ml=(env -u GITHUB_ACTIONS -u GITHUB_TOKEN -u GITHUB_OUTPUT -u GITHUB_STEP_SUMMARY
	COSIGN_PASSWORD=bench MLSHIP_CACHE_DIR="$WORK/cache" "$mlship")
ml() { "${ml[@]}" "$@"; }
ml keygen --force --output-key-prefix "$WORK/cosign" >/dev/null

# publish NAME SPEC_DIR REFERENCE: a spec whose drift reference is
# REFERENCE (moved into SPEC_DIR/data), pushed, signed, tagged prod; then
# the reference leaves the spec directory for WORK/away.
publish() {
	local name=$1 spec=$2 ref=$3 base
	base=$(basename "$ref")
	mkdir -p "$spec/data" "$spec/model" "$WORK/away"
	mv "$ref" "$spec/data/$base"
	echo '{"w":[1,2,3]}' >"$spec/model/weights.json"
	cat >"$spec/model.cue" <<CUE
name: "$name"
version: "1.0.0"
registry: repository: "$host/bench/$name"
drift: {reference: "data/$base", current: "data/current.${base#*.}"}
package: files: [{path: "model/weights.json", role: "weight"}]
environments: prod: {}
CUE
	ml push "$spec" >"$WORK/$name-push.log" 2>&1 || { cat "$WORK/$name-push.log" >&2; die "push of $name failed"; }
	ml sign "$host/bench/$name:1.0.0" --key "$WORK/cosign.key" >"$WORK/$name-sign.log" 2>&1 || { cat "$WORK/$name-sign.log" >&2; die "sign failed"; }
	ml tag "$host/bench/$name:1.0.0" prod >"$WORK/$name-tag.log" 2>&1 || { cat "$WORK/$name-tag.log" >&2; die "tag failed"; }
	mv "$spec/data/$base" "$WORK/away/$base"
}

# measure NAME CMD...: GNU time -v; sets NAME_wall, NAME_cpu (s), NAME_rss (KiB).
measure() {
	local name=$1 rc=0 wall cpu rss
	shift
	/usr/bin/time -v "$@" >"$WORK/$name.json" 2>"$WORK/$name.time" || rc=$?
	if [[ $rc != 0 ]]; then tail -30 "$WORK/$name.time" >&2; die "$name exited $rc: $*"; fi
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$WORK/$name.time")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$WORK/$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$name.time")
	printf -v "${name}_wall" %s "$wall"
	printf -v "${name}_cpu" %s "$cpu"
	printf -v "${name}_rss" %s "$rss"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "PASS" : "MISS"}'; }
budget_kib() { # 128MiB, 1GiB, 512KiB, 1000000 (bytes) → KiB
	awk -v s="$1" 'BEGIN { n = s + 0; u = tolower(substr(s, length(n "") + 1));
		m = (u == "kib" || u == "k") ? 1 : (u == "mib" || u == "m") ? 1024 : (u == "gib" || u == "g") ? 1048576 : 1 / 1024; printf "%.0f", n * m }'
}

echo "machine: $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg); $("$mlship" version 2>/dev/null | head -1)"
echo "registry: Distribution on $host; work dir $WORK"

if [[ $WIDE != only ]]; then
	echo "generating $ROWS rows x $COLS columns (bench/drift/gendata) ..."
	mkdir -p "$WORK/data"
	(cd "$root" && go run ./bench/drift/gendata -rows "$ROWS" -cols "$COLS" -dir "$WORK/data")
	publish monitor "$WORK/spec" "$WORK/data/reference.csv"
	profile=$(jq -r '[.layers[]? | select((.annotations // {} | to_entries | map(.value) | index("reference-profile.json")) != null)] | .[0].size // empty' \
		<(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$host/v2/bench/monitor/manifests/prod") || true)
	ref=$WORK/away/reference.csv cur=$WORK/data/current.csv
	ls -l "$ref" "$cur" | awk '{print "  " $5 " bytes  " $NF}'
	[[ -n $profile ]] && echo "  reference profile layer: $profile bytes ($(awk -v b="$profile" -v c="$COLS" 'BEGIN {printf "%.1f", b / c / 1024}') KiB a column)"
	[[ ! -e $WORK/spec/data/reference.csv ]] || die "the reference is still in the spec directory"
	# Warm the page cache so that neither pays for the first read.
	cat "$ref" "$cur" >/dev/null
	measure drift "${ml[@]}" drift --reference "$ref" --current "$cur" --output json
	measure monitor "${ml[@]}" monitor "$WORK/spec" --environment prod --current "$cur" --key "$WORK/cosign.pub" --output json

	# Both must find the same drifted columns.
	d_cols=$(jq -r '[.columns[] | select(.drift) | .name] | join(",")' "$WORK/drift.json")
	m_cols=$(jq -r '[.drift.columns[] | select(.drift) | .name] | join(",")' "$WORK/monitor.json")
	m_digest=$(jq -r .digest "$WORK/monitor.json")
	m_alert=$(jq -r .alert "$WORK/monitor.json")
	[[ $d_cols == "$m_cols" ]] || die "drift and monitor disagree on the drifted columns: drift [$d_cols], monitor [$m_cols]"

	echo
	echo "== $ROWS rows x $COLS numeric columns, CSV; monitor: prod = ${m_digest:0:19}..., alert $m_alert; drifted columns agree ($(jq '[.columns[] | select(.drift)] | length' "$WORK/drift.json") of $COLS) =="
	echo
	echo "| command | wall | CPU (user+sys) | peak RSS |"
	echo "| --- | ---: | ---: | ---: |"
	echo "| \`mlship drift --reference reference.csv --current current.csv\` | $drift_wall s | $drift_cpu s | $(mib "$drift_rss") MiB |"
	echo "| \`mlship monitor SPEC --environment prod --current current.csv\` | $monitor_wall s | $monitor_cpu s | $(mib "$monitor_rss") MiB |"
	echo "| ratio monitor / drift | $(ratio "$monitor_wall" "$drift_wall") | $(ratio "$monitor_cpu" "$drift_cpu") | $(ratio "$monitor_rss" "$drift_rss") |"
	echo
	echo "target: monitor wall <= 0.5 x drift's: $(verdict "$(ratio "$monitor_wall" "$drift_wall")" 0.5) ($(ratio "$monitor_wall" "$drift_wall")); CPU <= 0.5 x: $(verdict "$(ratio "$monitor_cpu" "$drift_cpu")" 0.5) ($(ratio "$monitor_cpu" "$drift_cpu"))"
	echo "target: monitor peak RSS <= 200 MiB: $(verdict "$(mib "$monitor_rss")" 200) ($(mib "$monitor_rss") MiB)"
	rm -f "$ref" "$cur"
fi

if [[ -n $WIDE ]]; then
	echo
	echo "generating $WIDE_ROWS rows x $WIDE_COLS float64 columns of Parquet (reference $WIDE_REF_ROWS rows) ..."
	mkdir -p "$WORK/wide"
	(cd "$root" && go run ./bench/monitor/genparquet -reference-rows "$WIDE_REF_ROWS" -rows "$WIDE_ROWS" -cols "$WIDE_COLS" -dir "$WORK/wide")
	publish monitor-wide "$WORK/wide-spec" "$WORK/wide/reference.parquet"
	cur=$WORK/wide/current.parquet
	ls -l "$cur" | awk '{print "  " $5 " bytes  " $NF}'
	cat "$cur" >/dev/null
	echo
	echo "== $WIDE_ROWS rows x $WIDE_COLS float64 columns, Parquet; monitor against the profile of a $WIDE_REF_ROWS-row reference =="
	echo
	echo "| memory budget | wall | CPU (user+sys) | peak RSS | RSS - budget | mode | drifted columns |"
	echo "| --- | ---: | ---: | ---: | ---: | --- | ---: |"
	for b in $WIDE_BUDGETS; do
		measure wide "${ml[@]}" monitor "$WORK/wide-spec" --environment prod --current "$cur" --key "$WORK/cosign.pub" --memory-budget "$b" --output json
		mode=$(jq -r '.drift.mode // "?"' "$WORK/wide.json")
		nd=$(jq '[.drift.columns[] | select(.drift)] | length' "$WORK/wide.json")
		echo "| $b | $wide_wall s | $wide_cpu s | $(mib "$wide_rss") MiB | $(awk -v r="$wide_rss" -v b="$(budget_kib "$b")" 'BEGIN {printf "%+.1f", (r - b) / 1024}') MiB | $mode | $nd of $WIDE_COLS |"
	done
fi
