#!/usr/bin/env bash
# The main job: build the example image, validate it, print its image ID and manifest, extract it.
# Needs the CLI built (scripts/setup.sh does it); writes only under .tmp/demo/ of the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
appc() { node "$root/packages/cli/dist/bin.js" "$@"; }
out="$root/.tmp/demo"
rm -rf "$out" && mkdir -p "$out"
layout="$root/examples/hello/layout"

echo "== appc build --deterministic examples/hello/layout hello.aci"
SOURCE_DATE_EPOCH=1700000000 appc build --deterministic "$layout" "$out/hello.aci"
echo "== appc validate hello.aci"
appc validate --json "$out/hello.aci"
echo "== appc id hello.aci"
appc id "$out/hello.aci"
echo "== appc cat-manifest --pretty-print hello.aci"
appc cat-manifest --pretty-print "$out/hello.aci"
echo "== appc extract hello.aci hello/"
appc extract "$out/hello.aci" "$out/hello"
(cd "$out/hello" && find . -printf '%M %p%l\n' | sort -k2)
echo "== done: $out/hello.aci"
