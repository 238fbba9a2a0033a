#!/usr/bin/env bash
# build.sh DIR [TOOL...]: build the tools that mlship's tests run (all of them
# when no TOOL is named) into DIR, from the pinned modules under
# internal/tools/<tool>/ (one Go module per tool, so each tool builds with
# exactly the dependency versions its own release was tested with).
#
# A tool is rebuilt only when DIR/.<tool>.stamp no longer matches: the stamp
# covers the tool's go.mod and go.sum, the build flags, and the Go version,
# OS and architecture. Builds write to a temporary file and rename it into
# place, and take a per-tool flock(1) lock (when flock is installed), so
# concurrent callers (make tools, parallel test binaries) never see half a
# binary nor build the same tool twice. Only Go and the module proxy are needed.
set -euo pipefail

# name|package|version|extra -ldflags (version stamping where the tool needs it)
TOOLS=(
	"registry|github.com/distribution/distribution/v3/cmd/registry|v3.1.2|"
	"cosign|github.com/sigstore/cosign/v2/cmd/cosign|v2.6.5|-X sigs.k8s.io/release-utils/version.gitVersion=v2.6.5"
	"act|github.com/nektos/act|v0.2.89|-X main.version=0.2.89"
	"oras|oras.land/oras/cmd/oras|v1.3.6|"
	"crane|github.com/google/go-containerregistry/cmd/crane|v0.22.1|-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=v0.22.1"
	"cosign3|github.com/sigstore/cosign/v3/cmd/cosign|v3.1.3|-X sigs.k8s.io/release-utils/version.gitVersion=v3.1.3"
	"actionlint|github.com/rhysd/actionlint/cmd/actionlint|v1.7.12|-X github.com/rhysd/actionlint.version=v1.7.12"
)

usage() {
	echo "usage: $0 DIR [TOOL...]   (tools: registry cosign act oras crane cosign3 actionlint)" >&2
	exit 2
}

[[ $# -ge 1 && -n "$1" ]] || usage
GO=${GO:-go}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
shift

if [[ $# -eq 0 ]]; then
	wanted=()
	for entry in "${TOOLS[@]}"; do wanted+=("${entry%%|*}"); done
else
	wanted=("$@")
fi

goenv=$("$GO" env GOVERSION GOOS GOARCH | tr '\n' ' ')
now() { if [[ -n "${EPOCHREALTIME:-}" ]]; then echo "${EPOCHREALTIME/,/.}"; else date +%s; fi; }
# cpu sets $cpu to the user+system CPU seconds used so far by finished
# children: on a busy machine it says more than the wall time does. (times
# must run in this shell, not in a $(...) subshell, which has no children.)
cpu() {
	times >"$out/.times.$$"
	cpu=$(tail -n 1 "$out/.times.$$" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] } printf "%.1f", t }')
	rm -f "$out/.times.$$"
}
hash() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1; }

stamp_of() { # entry -> the stamp a fresh build of it would have
	local entry=$1 name=${1%%|*}
	{
		echo "$entry"
		echo "$goenv"
		cat "$here/$name/go.mod" "$here/$name/go.sum"
	} | hash
}

fresh() { # name stamp -> true when DIR holds a build with that stamp
	[[ -x "$out/$1" && -f "$out/.$1.stamp" && "$(cat "$out/.$1.stamp")" == "$2" ]]
}

build_one() {
	local entry=$1 name pkg version ldflags stamp tmp start end
	IFS='|' read -r name pkg version ldflags <<<"$entry"
	stamp=$(stamp_of "$entry")
	if fresh "$name" "$stamp"; then
		echo "build.sh: $name $version up to date in $out"
		return 0
	fi
	local lockfd=""
	if [[ -z "${MLSHIP_TOOLS_LOCK_HELD:-}" ]] && command -v flock >/dev/null; then
		exec {lockfd}>"$out/.$name.lock"
		flock "$lockfd"
		if fresh "$name" "$stamp"; then # built by someone else while we waited
			exec {lockfd}>&-
			echo "build.sh: $name $version up to date in $out"
			return 0
		fi
	fi
	echo "build.sh: building $name $version ($pkg)..."
	tmp=$(mktemp "$out/.$name.XXXXXX")
	start=$(now)
	cpu
	cpu0=$cpu
	if ! (cd "$here/$name" && GOWORK=off CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false \
		-ldflags "-s -w $ldflags" -o "$tmp" "$pkg"); then
		rm -f "$tmp"
		[[ -n "$lockfd" ]] && exec {lockfd}>&-
		echo "build.sh: building $name $version failed (module internal/tools/$name; is the module proxy reachable? GOPROXY=$("$GO" env GOPROXY))" >&2
		return 1
	fi
	chmod 0755 "$tmp"
	mv -f "$tmp" "$out/$name"
	echo "$stamp" >"$out/.$name.stamp"
	end=$(now)
	cpu
	cpu1=$cpu
	[[ -n "$lockfd" ]] && exec {lockfd}>&-
	awk -v n="$name" -v v="$version" -v s="$start" -v e="$end" -v c0="$cpu0" -v c1="$cpu1" -v o="$out/$name" \
		'BEGIN { printf "build.sh: built %s %s in %.1fs (%.1fs of CPU) -> %s\n", n, v, e - s, c1 - c0, o }'
}

status=0
for name in "${wanted[@]}"; do
	found=""
	for entry in "${TOOLS[@]}"; do
		if [[ "${entry%%|*}" == "$name" ]]; then found=$entry; fi
	done
	if [[ -z "$found" ]]; then
		echo "build.sh: unknown tool \"$name\"" >&2
		usage
	fi
	build_one "$found" || status=1
done
exit $status
