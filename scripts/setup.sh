#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine with Node >= 20 and npm, then builds it.
# Used by `npm run demo` and `npm run test:all`; safe to run again (each step is skipped when done).
set -euo pipefail
cd "$(dirname "$0")/.."

# better-sqlite3 (a later package) builds against Node's headers; pnpm's node-gyp needs this here.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"

# Programs the packages and their tests call: GNU tar, gzip, xz, bzip2 (ACI-006 codecs), python3 (tar interop
# tests), getfattr/setfattr (xattrs, ACI-005), gpg and openssl (signing keys and test certificates), curl (the
# fetch benchmark), runc, catatonit, the CNI plugins, nsenter, ip, iptables and socat (the executor), busybox-static
# (the rootfs of the executor tests and of the demo's base image). Installed from Debian's packages when
# missing and we are root.
declare -A want=([tar]=tar [gzip]=gzip [xz]=xz-utils [bzip2]=bzip2 [python3]=python3 [getfattr]=attr
  [gpg]=gnupg [openssl]=openssl [curl]=curl [runc]=runc [catatonit]=catatonit [busybox]=busybox-static
  [nsenter]=util-linux [ip]=iproute2 [iptables]=iptables [socat]=socat)
missing=()
for cmd in "${!want[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}"); done
[ -x /usr/lib/cni/ptp ] || missing+=(containernetworking-plugins)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} from Debian's packages" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing programs (${missing[*]}); install them with your package manager" >&2
  fi
fi

PNPM=(npx --yes pnpm@12.4.2)
"${PNPM[@]}" install --frozen-lockfile --reporter=silent
"${PNPM[@]}" run --silent build
