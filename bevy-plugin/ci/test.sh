#!/usr/bin/env bash
# Builds and tests bevy-plugin/ offline on Debian bookworm:
#   1. installs the Debian-packaged crates if missing (ci/install-debian-crates.sh; needs root)
#   2. cargo test for core (Debian registry via ci/cargo-debian.toml, --offline, --locked)
#      The end-to-end test needs the daemon build (`npm ci && npm run build` at the repo root)
#      and FAILS without it.
#   3. cargo fmt --check for core and for the Bevy adapter (the adapter cannot be compiled
#      offline: Bevy is not packaged by Debian; rustfmt only parses it)
#   4. cargo clippy -D warnings on core, when clippy is installed
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_DEBIAN=(--config ci/cargo-debian.toml)

./ci/install-debian-crates.sh

echo "== cargo test (core, offline)" >&2
cargo "${CARGO_DEBIAN[@]}" test --offline --locked -p bevy-plugin-core

echo "== cargo fmt --check (core, bevy adapter)" >&2
cargo fmt --all --check
cargo fmt --check --manifest-path bevy/Cargo.toml

if cargo clippy --version >/dev/null 2>&1; then
  echo "== cargo clippy (core)" >&2
  cargo clippy "${CARGO_DEBIAN[@]}" --offline --locked -p bevy-plugin-core --all-targets -- -D warnings
else
  echo "== cargo clippy not installed: skipped" >&2
fi
