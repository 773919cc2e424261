#!/usr/bin/env bash
# Every check the project has, as CI runs it: set-up, build, type-check, lint, package metadata, all tests.
# Tests tagged `root` run only as root (CI is root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PNPM=(npx --yes pnpm@12.4.2)
"${PNPM[@]}" run --silent typecheck
"${PNPM[@]}" run --silent lint
"${PNPM[@]}" run --silent publint
filter=()
[ "$(id -u)" = 0 ] || filter=(--tags-filter='!root')
"${PNPM[@]}" exec vitest run "${filter[@]}"
