#!/usr/bin/env bash
# Puts daprd, placement and scheduler of the pinned Dapr version in a cache
# outside the clone and prints that directory. Builds them from the Go module
# registry only when the cache lacks them; reuses `dapr init --slim` binaries
# from ~/.dapr/bin when they are the pinned version.
#
#   runtime/build.sh           # prints the bin directory, building if needed
#   DAPR_BUILD=stable runtime/build.sh   # official component set (slow)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

version=$(sed -n 's/^require github.com\/dapr\/dapr v\([0-9.]*\)$/\1/p' go.mod)
[ -n "$version" ] || { echo "runtime/build.sh: no dapr version in go.mod" >&2; exit 1; }

flavour=${DAPR_BUILD:-slim}
# The key covers what changes the binaries: version, flavour and our
# registration file (a new component there needs a new daprd).
key=$(cat go.mod slim/components.go | sha256sum | cut -c1-12)
cache=${ORDER_OUTBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/order-outbox}
bin="$cache/dapr-$version-$flavour-$key"

# Only daprd answers --version; placement and scheduler come from the same build.
have_version() { [ -x "$1/placement" ] && [ -x "$1/scheduler" ] && [ -x "$1/daprd" ] &&
  [ "$("$1/daprd" --version 2>/dev/null)" = "$version" ]; }

if have_version "$bin"; then
  echo "$bin"
  exit 0
fi

slim_install=$HOME/.dapr/bin
if [ "$flavour" = slim ] && have_version "$slim_install"; then
  echo "$slim_install"
  exit 0
fi

echo "building Dapr $version ($flavour) into $bin; the first build takes minutes" >&2
mkdir -p "$bin.tmp"

export CGO_ENABLED=0
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$version"
go mod download github.com/dapr/dapr
dapr_dir=$(go list -m -f '{{.Dir}}' github.com/dapr/dapr)

build() { # build <package> <output> [extra go build flags...]
  local pkg=$1 out=$2
  shift 2
  go build -trimpath -buildvcs=false -ldflags "$ldflags" "$@" -o "$bin.tmp/$out" "github.com/dapr/dapr/cmd/$pkg"
}

build placement placement -mod=mod
build scheduler scheduler -mod=mod
if [ "$flavour" = slim ]; then
  # daprd registers its components in a package whose files all need a
  # component build tag; without one, a guard file panics at start-up. We
  # swap that guard for our registration file with -overlay. Go refuses
  # overlays inside the module cache, so the build uses a copy of the dapr
  # module in our cache (never in the clone), wired in by a go.work file.
  src="$cache/src/dapr-$version"
  if [ ! -f "$src/go.mod" ]; then
    rm -rf "$src.tmp"
    mkdir -p "$cache/src"
    cp -r "$dapr_dir" "$src.tmp"
    chmod -R u+w "$src.tmp"
    mv "$src.tmp" "$src"
  fi
  work="$bin.tmp/work"
  mkdir -p "$work"
  printf 'go %s\n\nuse %s\n\nreplace github.com/dapr/dapr v%s => %s\n' \
    "$(go mod edit -json | sed -n 's/^\t"Go": "\(.*\)",$/\1/p')" "$here" "$version" "$src" >"$work/go.work"
  printf '{"Replace":{"%s":"%s"}}' \
    "$src/cmd/daprd/components/zz_notag.go" "$here/slim/components.go" >"$work/overlay.json"
  # Checksums of the modules only daprd needs live in go.work.sum, which
  # is committed next to go.sum and updated here when the build adds any.
  cp go.work.sum "$work/go.work.sum"
  GOWORK="$work/go.work" build daprd daprd -tags slimdaprd -overlay "$work/overlay.json"
  cmp -s "$work/go.work.sum" go.work.sum || cp "$work/go.work.sum" go.work.sum
  rm -rf "$work"
else
  build daprd daprd -mod=mod -tags stablecomponents
fi

rm -rf "$bin"
mv "$bin.tmp" "$bin"
echo "$bin"
