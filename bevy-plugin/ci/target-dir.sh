# Sourced by the bevy-plugin scripts: one cargo target dir per machine, outside the clone, so
# fresh clones (CI) reuse the compiled Bevy crates. Cargo's fingerprints make this safe: a
# changed source or lockfile rebuilds what it touches. Override with CARGO_TARGET_DIR.
if [[ -z "${CARGO_TARGET_DIR:-}" ]]; then
  export CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/dgx-pixels/cargo-target"
fi
mkdir -p "$CARGO_TARGET_DIR"
