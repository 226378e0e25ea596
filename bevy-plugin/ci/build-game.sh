#!/usr/bin/env bash
# Builds the example game (cargo, locked) and prints the binary's path as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/target-dir.sh
cargo build --locked -p dgx-pixels-example-game >&2
echo "$CARGO_TARGET_DIR/debug/sprite_gen_game"
