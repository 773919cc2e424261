#!/usr/bin/env bash
# The main job: build the example image, validate it, print its image ID and manifest, extract it; then sign it,
# publish it as a static discovery site served over HTTPS on loopback, trust the key and fetch the image back by
# name, verified, with its busybox dependency; and, as root, run it as a pod and print what its app saw of the
# metadata service. Needs the CLI built (pnpm build, or scripts/setup.sh), gpg, openssl and busybox-static (and
# runc, catatonit, the CNI plugins to run the pod); writes only under .tmp/demo/ of the repository (the store,
# the config dir, the GnuPG home and the pods included), stops its server and removes its pod.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/packages/cli/dist/appc.cjs"
if [ ! -f "$bin" ]; then
  echo "$bin is missing: build the CLI first (pnpm build)" >&2
  exit 2
fi
appc() { node "$bin" "$@"; }
out="$root/.tmp/demo"
rm -rf "$out" && mkdir -p "$out"
layout="$root/examples/hello/layout"
# the example says linux/amd64; on another machine (aarch64, ...) the demo builds a copy labelled for it
arch="$(node -p "({ x64: 'amd64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i386' })[process.arch] ?? process.arch")"
if [ "$arch" != amd64 ]; then
  cp -a "$layout" "$out/hello-layout"
  sed -i "s/\"value\": \"amd64\"/\"value\": \"$arch\"/" "$out/hello-layout/manifest"
  layout="$out/hello-layout"
fi
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
echo "== the extracted app, run directly on the host (outside a pod, so AC_* are unset)"
GREETING="Hello from an App Container" sh "$out/hello/rootfs/bin/hello"

# ---- distribution: sign, publish, serve, trust, fetch ----
state="$out/state" etc="$out/etc" site="$out/site"
export GNUPGHOME="$out/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
# gpg starts an agent for this home that would outlive the demo
trap 'gpgconf --kill gpg-agent 2>/dev/null || true' EXIT
echo "== a signing key made by GnuPG (in $GNUPGHOME)"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Hello Publisher <hello@example.com>' ed25519 sign never 2>/dev/null
fpr="$(gpg --batch --with-colons --list-keys hello@example.com 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')"
gpg --batch --armor --export "$fpr" >"$out/publisher.pub.asc"
gpg --batch --armor --pinentry-mode loopback --passphrase '' --export-secret-keys "$fpr" >"$out/publisher.key.asc"
echo "$fpr"
echo "== appc sign --key publisher.key.asc hello.aci"
appc sign --key "$out/publisher.key.asc" "$out/hello.aci"
gpg --batch --quiet --verify "$out/hello.aci.asc" "$out/hello.aci" 2>&1 | sed 's/^/gpg: /' | head -3

echo "== the dependency hello names: example.com/busybox, built from this host's static busybox, signed"
busybox_bin="$(command -v busybox)"
mkdir -p "$out/busybox/rootfs/bin"
cp "$busybox_bin" "$out/busybox/rootfs/bin/busybox"
for applet in sh echo cat sed wget; do ln -sf busybox "$out/busybox/rootfs/bin/$applet"; done
cat >"$out/busybox/manifest" <<MANIFEST
{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/busybox",
 "labels": [{"name": "version", "value": "1"}, {"name": "os", "value": "linux"}, {"name": "arch", "value": "$arch"}]}
MANIFEST
appc build --deterministic "$out/busybox" "$out/busybox.aci"
appc sign --key "$out/publisher.key.asc" "$out/busybox.aci" >/dev/null

echo "== a test CA and a certificate for example.com (openssl), then a plain static HTTPS server on loopback"
(
  cd "$out"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 2 -subj '/CN=appc demo CA' 2>/dev/null
  openssl req "${ec[@]}" -keyout site.key -out site.csr -subj '/CN=example.com' 2>/dev/null
  printf 'subjectAltName=DNS:example.com\nbasicConstraints=CA:FALSE\n' >ext.cnf
  openssl x509 -req -in site.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out site.crt -days 2 -extfile ext.cnf 2>/dev/null
)
mkdir -p "$site"
node "$root/scripts/serve-static.mjs" --dir "$site" --cert "$out/site.crt" --key "$out/site.key" \
  --port-file "$out/port" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; gpgconf --kill gpg-agent 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$out/port" ] && break; sleep 0.1; done
port="$(cat "$out/port")"
# example.com is reached on 127.0.0.1:$port, its certificate checked against the demo CA
net=(--port "$port" --resolve example.com=127.0.0.1 --ca "$out/ca.crt")
g=(--dir "$state" --local-config "$etc" --system-config "$out/no-system-config")

echo "== appc publish --out site --base-url https://example.com:$port --key publisher.pub.asc hello.aci busybox.aci"
appc publish --out "$site" --base-url "https://example.com:$port" --key "$out/publisher.pub.asc" \
  "$out/hello.aci" "$out/busybox.aci"
(cd "$site" && find . -type f | sort)

echo "== appc discover --json example.com/hello:1.0.0"
appc "${g[@]}" discover --json "${net[@]}" example.com/hello:1.0.0

echo "== appc fetch example.com/hello:1.0.0, before any key is trusted: refused, nothing stored"
if appc "${g[@]}" fetch "${net[@]}" example.com/hello:1.0.0; then
  echo "demo: the fetch should have been refused" >&2
  exit 1
fi

echo "== appc trust add --prefix example.com --fingerprint $fpr (the key found by discovery, pinned)"
appc "${g[@]}" trust add --prefix example.com --fingerprint "$fpr" "${net[@]}"
appc "${g[@]}" trust list

echo "== appc fetch example.com/hello:1.0.0 (discovered, downloaded, signature and name checked, stored; its"
echo "   dependency example.com/busybox found and checked the same way)"
fetched="$(appc "${g[@]}" fetch "${net[@]}" example.com/hello:1.0.0)"
echo "$fetched"
if [ "$fetched" != "$id" ]; then
  echo "demo: fetched $fetched, built $id" >&2
  exit 1
fi
echo "== appc fetch --json example.com/hello:1.0.0 again: unchanged (ETag, 304), nothing is downloaded"
appc "${g[@]}" fetch --json "${net[@]}" example.com/hello:1.0.0
appc "${g[@]}" image list

if [ "$(id -u)" != 0 ]; then
  echo "== (not root: skipping appc run, which needs runc, mounts and namespaces)"
  echo "== done: $out/hello.aci ($id), published at https://example.com:$port/, fetched back verified"
  exit 0
fi
echo "== appc run --uuid-file-save uuid example.com/hello:1.0.0 (a pod: runc, catatonit, the CNI network, metadata)"
appc "${g[@]}" run --uuid-file-save "$out/uuid" example.com/hello:1.0.0
echo "== appc status --json"
appc "${g[@]}" status --json "$(cat "$out/uuid")"
appc "${g[@]}" rm "$(cat "$out/uuid")" >/dev/null
echo "== done: $out/hello.aci ($id), published at https://example.com:$port/, fetched back verified, run as a pod"
