#!/usr/bin/env bash
# Builds and tests bevy-plugin/ (crates from crates.io, Cargo.lock respected):
#   1. core + the adapter with its minimal Bevy features (no renderer, window, egui): unit
#      tests, the headless App tests against the real daemon + embedded worker.
#   2. the adapter with `egui` + `remote`, and the example game (one feature set, the game's).
#   0. cargo fmt --check first (fast); 3. cargo clippy -D warnings over every crate, target and feature.
# The end-to-end tests need the daemon build (`npm ci && npm run build` at the repository
# root) and FAIL without it. Cargo's target dir lives outside the clone (see target-dir.sh),
# so a second run on the same machine rebuilds only this repository's crates.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/target-dir.sh

echo "== cargo fmt --check" >&2
cargo fmt --all --check

echo "== cargo test: core + adapter (minimal Bevy features) [target: $CARGO_TARGET_DIR]" >&2
cargo test --locked -p bevy-plugin-core -p dgx-pixels-bevy

echo "== cargo test: adapter with egui + remote, example game" >&2
cargo test --locked -p dgx-pixels-bevy -p dgx-pixels-example-game --features dgx-pixels-bevy/egui,dgx-pixels-bevy/remote

echo "== cargo clippy -D warnings (all crates, targets, features)" >&2
cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
