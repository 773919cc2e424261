#!/usr/bin/env bash
# The main job: build the example image, validate it, print its image ID and manifest, extract it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bash examples/hello/run-demo.sh
