#!/usr/bin/env bash
# Builds the addon with the FIFO doorbell (the seam used where eventfd does not
# exist, e.g. macOS) in a scratch copy and runs the doorbell tests against it,
# so the fallback compiles and works even though CI runs on Linux.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$here/native" "$here/binding.gyp" "$here/package.json" "$scratch/"
ln -s "$here/node_modules" "$scratch/node_modules"
(cd "$scratch" && CXXFLAGS=-DPHOENIX_DOORBELL_FIFO npx node-gyp rebuild -j 2 >/dev/null)
[[ $(strings "$scratch/build/Release/phoenix_native_shm.node" | grep -c phoenix-doorbell) -gt 0 ]] || { echo "not a FIFO build"; exit 1; }
cd "$here" && PHOENIX_NATIVE_SHM_DIR="$scratch" npx vitest run test/doorbell.test.ts test/fd-watcher.test.ts
