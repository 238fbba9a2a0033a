#!/usr/bin/env bash
# Drift benchmark: 1,000,000 rows × 20 numeric columns from CSV, `mlship
# drift` against a pandas + SciPy script computing the same statistics
# (normed Wasserstein distance per column, and the two-sample KS test), in
# the same run on the same files. Prints wall time and peak RSS of each (GNU
# time -v) and the ratios; the targets are mlship <= 0.5x pandas' time and
# less memory. Needs Go, GNU time (/usr/bin/time) and python3 with pandas
# and SciPy (Debian: apt-get install python3-pandas python3-scipy).
#
#   bench/drift/run.sh [ROWS] [COLS]      (defaults 1000000 20)
#
# Environment: WORK (data directory, default a temp dir, kept when set),
# PYTHON (default: python3 that imports pandas and scipy), MLSHIP (a built
# binary; default: go build ./cmd/mlship).
set -euo pipefail
ROWS=${1:-1000000}
COLS=${2:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"

if [ -z "${PYTHON:-}" ]; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import pandas, scipy' 2>/dev/null; then PYTHON=$p; break; fi
  done
fi
if [ -z "${PYTHON:-}" ]; then
  echo "no python3 with pandas and scipy: apt-get install -y python3-pandas python3-scipy" >&2
  exit 1
fi
[ -x /usr/bin/time ] || { echo "GNU time is needed: apt-get install -y time" >&2; exit 1; }

if [ -z "${MLSHIP:-}" ]; then
  MLSHIP="$WORK/mlship"
  (cd "$ROOT" && go build -o "$MLSHIP" ./cmd/mlship)
fi
if [ ! -f "$WORK/reference.csv" ] || [ "$(($(wc -l < "$WORK/reference.csv") - 1))" != "$ROWS" ]; then
  echo "generating $ROWS rows x $COLS columns in $WORK ..."
  (cd "$ROOT" && go run ./bench/drift/gendata -rows "$ROWS" -cols "$COLS" -dir "$WORK")
fi
ls -l "$WORK"/reference.csv "$WORK"/current.csv
# Warm the page cache so neither side pays for the first read.
cat "$WORK/reference.csv" "$WORK/current.csv" > /dev/null

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -v "$@" > "$WORK/$name.json" 2> "$WORK/$name.time"
  local wall rss cpu
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$WORK/$name.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$name.time")
  # h:mm:ss or m:ss.ss → seconds
  wall=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
  printf '%-14s wall %8.2f s   CPU (user+sys) %8.2f s   peak RSS %8.1f MiB\n' "$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)"
  eval "${name//-/_}_wall=$wall; ${name//-/_}_rss=$rss; ${name//-/_}_cpu=$cpu"
}

echo "machine: $(nproc) CPUs, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg); $("$PYTHON" -c 'import pandas, scipy, numpy; print("pandas", pandas.__version__, "scipy", scipy.__version__, "numpy", numpy.__version__)')"
measure mlship "$MLSHIP" drift --reference "$WORK/reference.csv" --current "$WORK/current.csv" --extra-tests ks --output json
measure pandas-scipy "$PYTHON" "$HERE/peer.py" "$WORK/reference.csv" "$WORK/current.csv"

printf 'time ratio   mlship / pandas+scipy = %.3f  (target <= 0.5)\n' "$(echo "$mlship_wall / $pandas_scipy_wall" | bc -l)"
printf 'CPU ratio    mlship / pandas+scipy = %.3f\n' "$(echo "$mlship_cpu / $pandas_scipy_cpu" | bc -l)"
printf 'memory ratio mlship / pandas+scipy = %.3f  (target < 1)\n' "$(echo "$mlship_rss / $pandas_scipy_rss" | bc -l)"

# Both must agree on the statistics.
"$PYTHON" - "$WORK/mlship.json" "$WORK/pandas-scipy.json" <<'PY'
import json, math, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
worst_w = worst_d = worst_p = 0.0
for x, y in zip(a["columns"], b["columns"]):
    assert x["name"] == y["name"], (x["name"], y["name"])
    worst_w = max(worst_w, abs(x["statistic"] - y["statistic"]) / max(abs(y["statistic"]), 1e-300))
    kx, ky = x["extra"][0], y["extra"][0]
    worst_d = max(worst_d, abs(kx["statistic"] - ky["statistic"]))
    if ky["pValue"] > 1e-300:
        worst_p = max(worst_p, abs(kx["pValue"] - ky["pValue"]) / ky["pValue"])
print(f"agreement: normed Wasserstein rel. diff {worst_w:.2e}, KS D abs. diff {worst_d:.2e}, KS p rel. diff {worst_p:.2e}")
assert worst_w < 1e-6 and worst_d < 1e-9 and worst_p < 1e-6, "mlship and pandas+scipy disagree"
PY
