#!/usr/bin/env bash
# The main job: build the example image, validate it, print its image ID and manifest, extract it.
# Needs the CLI built (pnpm build, or scripts/setup.sh); writes only under .tmp/demo/ of the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/packages/cli/dist/bin.js"
if [ ! -f "$bin" ]; then
  echo "$bin is missing: build the CLI first (pnpm build)" >&2
  exit 2
fi
appc() { node "$bin" "$@"; }
out="$root/.tmp/demo"
rm -rf "$out" && mkdir -p "$out"
layout="$root/examples/hello/layout"
export SOURCE_DATE_EPOCH=1700000000

echo "== appc build --deterministic examples/hello/layout hello.aci"
id="$(appc build --deterministic "$layout" "$out/hello.aci")"
echo "$id"
echo "== appc validate hello.aci"
appc validate --debug "$out/hello.aci"
appc validate --json "$out/hello.aci"
echo "== appc id hello.aci"
appc id "$out/hello.aci"
echo "== appc id examples/hello/layout (no archive written; the same ID)"
appc id "$layout"
echo "== appc cat-manifest --pretty-print hello.aci"
appc cat-manifest --pretty-print "$out/hello.aci"
echo "== appc extract hello.aci hello/"
appc extract "$out/hello.aci" "$out/hello"
(cd "$out/hello" && find . -printf '%M %p%l\n' | sort -k2)
echo "== the extracted app, run directly on the host (no executor or metadata service yet, so AC_* are unset)"
GREETING="Hello from an App Container" sh "$out/hello/rootfs/bin/hello"
echo "== done: $out/hello.aci ($id)"
