#!/usr/bin/env bash
# Installs the mlship binary for the current runner and puts it on PATH.
#
# Order of preference, so a step pays for work only once per job:
#   1. already installed by an earlier step of this job (MLSHIP_BIN is set and
#      matches the requested version): nothing to do;
#   2. the runner's tool cache holds this version: reuse it;
#   3. version "source" (or no release asset matches): build from the
#      action's own checkout with the runner's Go;
#   4. download the release asset, verify its sha256 against the release's
#      checksums.txt (and checksums.txt's cosign signature when a key is
#      given), then cache it.
#
# Inputs (environment): MLSHIP_VERSION (a tag such as v1.2.0, "source", or
# empty for the action's own ref), MLSHIP_RELEASE_URL (base URL of release
# downloads, default https://github.com/mlship/mlship/releases/download),
# MLSHIP_COSIGN_KEY (optional public key verifying checksums.txt) or
# MLSHIP_COSIGN_IDENTITY (the keyless release workflow identity, e.g.
# https://github.com/mlship/mlship/.github/workflows/release.yml@refs/tags/v1.2.3),
# MLSHIP_ACTION_REF (the ref the action was used at).
set -euo pipefail

action_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="${MLSHIP_VERSION:-}"
if [[ -z "$version" ]]; then
  ref="${MLSHIP_ACTION_REF:-}"
  # A release tag (v1.2.3) maps to its assets; a major tag (v1), a branch or
  # a SHA has no assets of its own name, so build from source.
  if [[ "$ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then version="$ref"; else version="source"; fi
fi
release_url="${MLSHIP_RELEASE_URL:-https://github.com/mlship/mlship/releases/download}"

os="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "::error::mlship: unsupported runner architecture $(uname -m)"; exit 1 ;;
esac

cache_root="${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/mlship"

log() { echo "mlship setup: $*" >&2; }

publish() {
  local bin="$1"
  if [[ -n "${GITHUB_PATH:-}" ]]; then dirname "$bin" >> "$GITHUB_PATH"; fi
  if [[ -n "${GITHUB_ENV:-}" ]]; then
    echo "MLSHIP_BIN=$bin" >> "$GITHUB_ENV"
    echo "MLSHIP_BIN_VERSION=$version" >> "$GITHUB_ENV"
  fi
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    echo "path=$bin" >> "$GITHUB_OUTPUT"
    echo "version=$version" >> "$GITHUB_OUTPUT"
  fi
  log "using $bin ($version)"
}

# 1. Installed by an earlier step of this job.
if [[ -n "${MLSHIP_BIN:-}" && -x "${MLSHIP_BIN}" && "${MLSHIP_BIN_VERSION:-}" == "$version" ]]; then
  if [[ "$version" != "source" || "${MLSHIP_BIN_SOURCE:-}" == "$action_root" ]]; then
    publish "$MLSHIP_BIN"; exit 0
  fi
fi

build_source() {
  # Key the cache on the content of what goes into the binary (Go, CUE,
  # templates and the embedded example), never on mtimes or git state: a
  # fresh copy of the same tree must hit, an edited one must miss.
  local key
  key="$(cd "$action_root" && find cmd internal schema examples/iris go.mod go.sum -type f \
    \( -name '*.go' -o -name '*.cue' -o -name '*.tmpl' -o -name '*.csv' -o -name '*.md' -o -name go.mod -o -name go.sum \) \
    -not -path '*/testdata/*' -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
  local dir="$cache_root/source-$key/$os-$arch"
  if [[ ! -x "$dir/mlship" ]]; then
    command -v go >/dev/null || { echo "::error::mlship: building from source needs Go on the runner (actions/setup-go)"; exit 1; }
    log "building from source in $action_root"
    mkdir -p "$dir"
    (cd "$action_root" && CGO_ENABLED=0 go build -trimpath -o "$dir/mlship.tmp" ./cmd/mlship)
    mv "$dir/mlship.tmp" "$dir/mlship"
  fi
  [[ -n "${GITHUB_ENV:-}" ]] && echo "MLSHIP_BIN_SOURCE=$action_root" >> "$GITHUB_ENV"
  publish "$dir/mlship"
}

if [[ "$version" == "source" ]]; then build_source; exit 0; fi

dir="$cache_root/$version/$os-$arch"
if [[ -x "$dir/mlship" ]]; then publish "$dir/mlship"; exit 0; fi

asset="mlship_${version#v}_${os}_${arch}.tar.gz"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fetch() { curl -fsSL --retry 3 --retry-delay 1 -o "$2" "$1"; }
if ! fetch "$release_url/$version/checksums.txt" "$tmp/checksums.txt" || ! fetch "$release_url/$version/$asset" "$tmp/$asset"; then
  log "no release asset $asset for $version at $release_url: building from source instead"
  build_source; exit 0
fi
if [[ -n "${MLSHIP_COSIGN_KEY:-}" || -n "${MLSHIP_COSIGN_IDENTITY:-}" ]]; then
  fetch "$release_url/$version/checksums.txt.sig" "$tmp/checksums.txt.sig" || { echo "::error::mlship: checksums.txt.sig missing for $version"; exit 1; }
  command -v cosign >/dev/null || { echo "::error::mlship: verifying the release signature needs cosign on PATH (sigstore/cosign-installer)"; exit 1; }
  if [[ -n "${MLSHIP_COSIGN_KEY:-}" ]]; then
    verify=(--key "$MLSHIP_COSIGN_KEY" --insecure-ignore-tlog=true)
    signer="$MLSHIP_COSIGN_KEY"
  else
    # Keyless: the release workflow's certificate, checked against the
    # identity given and GitHub's OIDC issuer, and its Rekor entry.
    fetch "$release_url/$version/checksums.txt.pem" "$tmp/checksums.txt.pem" || { echo "::error::mlship: checksums.txt.pem missing for $version"; exit 1; }
    verify=(--certificate "$tmp/checksums.txt.pem" --certificate-identity "$MLSHIP_COSIGN_IDENTITY" --certificate-oidc-issuer "${MLSHIP_COSIGN_ISSUER:-https://token.actions.githubusercontent.com}")
    signer="$MLSHIP_COSIGN_IDENTITY"
  fi
  cosign verify-blob "${verify[@]}" --signature "$tmp/checksums.txt.sig" "$tmp/checksums.txt" >/dev/null 2>"$tmp/cosign.err" \
    || { echo "::error::mlship: the signature of checksums.txt for $version does not verify with $signer: $(tail -n 1 "$tmp/cosign.err")"; exit 1; }
fi
want="$(awk -v a="$asset" '$2 == a || $2 == "*"a {print $1}' "$tmp/checksums.txt")"
got="$(sha256sum "$tmp/$asset" | cut -d' ' -f1)"
if [[ -z "$want" || "$want" != "$got" ]]; then
  echo "::error::mlship: checksum mismatch for $asset (want ${want:-none listed}, got $got): refusing to install"
  exit 1
fi
mkdir -p "$dir"
tar -xzf "$tmp/$asset" -C "$tmp" mlship
mv "$tmp/mlship" "$dir/mlship.tmp" && chmod +x "$dir/mlship.tmp" && mv "$dir/mlship.tmp" "$dir/mlship"
publish "$dir/mlship"
