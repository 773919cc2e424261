#!/usr/bin/env bash
# An image with no distribution inside: the host's curl and shell, with the loader and shared libraries they need,
# copied in by `appc add-program`, then built, checked and (as root) run as a pod whose app asks the metadata
# service for its pod's UUID. After `pnpm build`:
#   bash examples/host-program/run.sh        # builds and lists what went in; as root it also runs the pod
# Writes only under .tmp/host-program/ of the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.tmp/host-program"
rm -rf "$out" && mkdir -p "$out/layout"
appc() { node "$root/packages/cli/dist/appc.cjs" --dir "$out/state" --local-config "$out/etc" "$@"; }
arch="$(node -p "({ x64: 'amd64', arm64: 'aarch64' })[process.arch] ?? process.arch")"
cat >"$out/layout/manifest" <<MANIFEST
{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/curl",
 "labels": [{"name": "version", "value": "1"}, {"name": "os", "value": "linux"}, {"name": "arch", "value": "$arch"}],
 "app": {"exec": ["/bin/sh", "-c", "curl -s \"\$AC_METADATA_URL/acMetadata/v1/pod/uuid\"; echo"],
         "user": "0", "group": "0"}}
MANIFEST

echo "== appc add-program $out/layout sh curl"
appc add-program "$out/layout" sh curl >"$out/added.txt"
echo "$(wc -l <"$out/added.txt") host paths, among them:"
grep -E '/(sh|curl|libc\.so\.6|libcurl\.so\.4|ld-linux[^/]*)$' "$out/added.txt" | sed 's/^/  /'
echo "== appc build --deterministic"
appc build --deterministic "$out/layout" "$out/curl.aci"
echo "== appc validate"
appc validate "$out/curl.aci" && echo "valid"
if [ "$(id -u)" != 0 ]; then
  echo "(not root: the pod is not run)"
  exit 0
fi
echo "== appc run --net=none (the app: curl -s \$AC_METADATA_URL/acMetadata/v1/pod/uuid)"
appc --insecure-options=image run --net=none --uuid-file-save "$out/uuid" "$out/curl.aci"
echo "== the pod's UUID, as appc recorded it"
cat "$out/uuid"; echo
appc rm "$(cat "$out/uuid")" >/dev/null
