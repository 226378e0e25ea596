#!/usr/bin/env bash
# Measures deploy (manifest rename) → core watcher event latency beside raw notify latency.
# Usage: bevy-plugin/ci/bench-watch-latency.sh [notify_deploys=300] [poll_deploys=40] [entries=100]
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/target-dir.sh
cargo run --locked --release --quiet -p bevy-plugin-core --example watch_latency -- "$@"
