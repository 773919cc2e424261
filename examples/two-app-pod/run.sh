#!/usr/bin/env bash
# A two-app pod: a writer and a reader sharing a volume and the pod's pid namespace, each app its own image
# (both depend on a busybox image built from the host's static busybox). As root, after `pnpm build`:
#   bash examples/two-app-pod/run.sh
# Writes only under .tmp/two-app-pod/ of the repository (images, the store, the pod) and removes the pod after.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.tmp/two-app-pod"
rm -rf "$out" && mkdir -p "$out"
appc() { node "$root/packages/cli/dist/appc.cjs" --dir "$out/state" --local-config "$out/etc" "$@"; }
if [ "$(id -u)" != 0 ]; then
  echo "run.sh needs root: pods run with runc, mounts and namespaces" >&2
  exit 2
fi
arch="$(node -p "({ x64: 'amd64', arm64: 'aarch64' })[process.arch] ?? process.arch")"
labels='[{"name": "version", "value": "1"}, {"name": "os", "value": "linux"}, {"name": "arch", "value": "'"$arch"'"}]'

# the base: busybox as a whole rootfs
mkdir -p "$out/busybox/rootfs/bin"
cp "$(command -v busybox)" "$out/busybox/rootfs/bin/busybox"
for applet in sh echo cat sleep ps date; do ln -s busybox "$out/busybox/rootfs/bin/$applet"; done
echo '{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/busybox", "labels": '"$labels"'}' \
  >"$out/busybox/manifest"

# two apps that bring only their program and name the base as a dependency; both mount the volume "shared"
mkdir -p "$out/writer/rootfs/bin" "$out/reader/rootfs/bin"
cat >"$out/writer/rootfs/bin/writer" <<'APP'
#!/bin/sh
for i in 1 2 3; do echo "note $i from the writer" >>/shared/notes; sleep 0.2; done
APP
cat >"$out/reader/rootfs/bin/reader" <<'APP'
#!/bin/sh
sleep 1
echo "the reader sees:"; cat /shared/notes
echo "and the processes of the pod:"; ps -o pid,comm
APP
chmod +x "$out/writer/rootfs/bin/writer" "$out/reader/rootfs/bin/reader"
for app in writer reader; do
  cat >"$out/$app/manifest" <<MANIFEST
{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/$app", "labels": $labels,
 "app": {"exec": ["/bin/$app"], "user": "0", "group": "0", "mountPoints": [{"name": "shared", "path": "/shared"}]},
 "dependencies": [{"imageName": "example.com/busybox"}]}
MANIFEST
done

for image in busybox writer reader; do
  appc build --deterministic "$out/$image" "$out/$image.aci" >/dev/null
  # unsigned local files: fine for images you just built, as in rkt (--insecure-options=image)
  appc --insecure-options=image fetch "$out/$image.aci" >/dev/null
done

echo "== appc run --volume shared,kind=empty example.com/writer --- example.com/reader"
appc run --net=none --uuid-file-save "$out/uuid" --volume shared,kind=empty \
  example.com/writer:1 --- example.com/reader:1
echo "== appc status"
appc status "$(cat "$out/uuid")"
appc rm "$(cat "$out/uuid")" >/dev/null
