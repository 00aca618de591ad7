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
key=$(cat go.mod go.sum slim/components.go | sha256sum | cut -c1-12)
cache=${ORDER_OUTBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/order-outbox}
bin="$cache/dapr-$version-$flavour-$key"

have_version() { [ -x "$1" ] && "$1" --version 2>/dev/null | grep -qx "$version"; }

if have_version "$bin/daprd" && have_version "$bin/placement" && have_version "$bin/scheduler"; then
  echo "$bin"
  exit 0
fi

slim_install=$HOME/.dapr/bin
if [ "$flavour" = slim ] && have_version "$slim_install/daprd" \
  && have_version "$slim_install/placement" && have_version "$slim_install/scheduler"; then
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
  go build -mod=mod -trimpath -ldflags "$ldflags" "$@" -o "$bin.tmp/$out" "github.com/dapr/dapr/cmd/$pkg"
}

build placement placement
build scheduler scheduler
if [ "$flavour" = slim ]; then
  # Swap the file that panics without a component tag for our registration.
  overlay=$(mktemp)
  trap 'rm -f "$overlay"' EXIT
  printf '{"Replace":{"%s":"%s"}}' \
    "$dapr_dir/cmd/daprd/components/zz_notag.go" "$here/slim/components.go" >"$overlay"
  build daprd daprd -tags slimdaprd -overlay "$overlay"
else
  build daprd daprd -tags stablecomponents
fi

rm -rf "$bin"
mv "$bin.tmp" "$bin"
echo "$bin"
