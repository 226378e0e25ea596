//! Benchmark: latency from a deploy (the manifest's rename into the assets folder) to the core
//! watcher's `Changed` event, beside the raw notify (inotify) event latency for the same
//! renames in the same run, and the poll fallback's latency.
//!
//! Run: `bevy-plugin/ci/bench-watch-latency.sh` (release build, Debian crates, offline).
//! Args: [notify_deploys=300] [poll_deploys=40] [entries=100]

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use bevy_plugin_core::watch::{ManifestWatcher, WatchBackend, WatchEvent, WatchMode, WatchOptions};
use crossbeam_channel::{unbounded, Receiver};
use notify::{RecursiveMode, Watcher};
use serde_json::json;

const NAME: &str = "asset_manifest.json";

fn manifest(revision: u64, entries: usize) -> Vec<u8> {
    let sprites: Vec<_> = (0..entries)
        .map(|i| {
            json!({"name": format!("sprite_{i}"), "path": format!("sprites/sprite_{i}.png"),
            "deployed_at": "2026-11-25T00:00:00Z", "kind": "sprite", "width": 32, "height": 32,
            "hash": format!("{:064x}", revision * 1000 + i as u64), "revision": revision,
            "source": {"prompt": "a small pixel-art sprite", "style": "pixel_art", "seed": i}})
        })
        .collect();
    serde_json::to_vec_pretty(
        &json!({"version": 1, "updated_at": format!("r{revision}"), "sprites": sprites}),
    )
    .unwrap()
}

/// Write the temp file outside the watched folder, then rename over (what the daemon does).
/// Returns the instant just before the rename.
fn deploy(assets: &Path, staging: &Path, bytes: &[u8]) -> Instant {
    let tmp = staging.join("manifest.tmp");
    fs::write(&tmp, bytes).unwrap();
    let t0 = Instant::now();
    fs::rename(&tmp, assets.join(NAME)).unwrap();
    t0
}

fn wait_revision(rx: &Receiver<WatchEvent>, revision: u64) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Ok(event) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let WatchEvent::Changed(d) = event {
            if d.manifest.sprites.first().and_then(|e| e.revision) == Some(revision) {
                return Some(Instant::now());
            }
        }
    }
    None
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn row(label: &str, mut ms: Vec<f64>, missed: usize) -> (f64, f64) {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (p50, p99, max) = (
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        *ms.last().unwrap(),
    );
    eprintln!(
        "| {label:<34} | {:>5} | {missed:>6} | {p50:>8.3} | {p99:>8.3} | {max:>8.3} |",
        ms.len()
    );
    (p50, p99)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let notify_deploys = args.first().copied().unwrap_or(300);
    let poll_deploys = args.get(1).copied().unwrap_or(40);
    let entries = args.get(2).copied().unwrap_or(100);

    let root = tempfile::tempdir().unwrap();
    let assets = root.path().join("assets");
    let staging = root.path().join(".staging");
    fs::create_dir_all(&assets).unwrap();
    fs::create_dir_all(&staging).unwrap();
    deploy(&assets, &staging, &manifest(1, entries));

    // Raw notify on the same directory: the baseline.
    let (raw_tx, raw_rx) = unbounded::<Instant>();
    let mut raw = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(e) = res {
            if e.paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| n == NAME))
            {
                let _ = raw_tx.send(Instant::now());
            }
        }
    })
    .unwrap();
    raw.watch(&assets, RecursiveMode::NonRecursive).unwrap();

    let (tx, rx) = unbounded();
    let watcher = ManifestWatcher::start(assets.join(NAME), WatchOptions::default(), tx);
    assert_eq!(watcher.backend(), WatchBackend::Notify);
    wait_revision(&rx, 1).expect("initial read");

    let (mut raw_ms, mut core_ms, mut missed) = (Vec::new(), Vec::new(), 0);
    let bytes: Vec<Vec<u8>> = (2..2 + notify_deploys as u64)
        .map(|r| manifest(r, entries))
        .collect();
    for (i, b) in bytes.iter().enumerate() {
        while raw_rx.try_recv().is_ok() {}
        let revision = i as u64 + 2;
        let t0 = deploy(&assets, &staging, b);
        match wait_revision(&rx, revision) {
            Some(t) => core_ms.push((t - t0).as_secs_f64() * 1000.0),
            None => missed += 1,
        }
        if let Ok(t) = raw_rx.recv_timeout(Duration::from_secs(1)) {
            raw_ms.push((t.max(t0) - t0).as_secs_f64() * 1000.0);
        }
    }
    drop(watcher);

    // Poll fallback (no inotify), 250 ms period; deploys at pseudo-random phases.
    let (ptx, prx) = unbounded();
    let opts = WatchOptions {
        mode: WatchMode::Poll,
        ..WatchOptions::default()
    };
    let poller = ManifestWatcher::start(assets.join(NAME), opts, ptx);
    let first = 2 + notify_deploys as u64;
    let _ = prx.recv_timeout(Duration::from_secs(2));
    let (mut poll_ms, mut poll_missed) = (Vec::new(), 0);
    for i in 0..poll_deploys as u64 {
        std::thread::sleep(Duration::from_millis((i * 37) % 250));
        let revision = first + i;
        let t0 = deploy(&assets, &staging, &manifest(revision, entries));
        match wait_revision(&prx, revision) {
            Some(t) => poll_ms.push((t - t0).as_secs_f64() * 1000.0),
            None => poll_missed += 1,
        }
    }
    drop(poller);

    let size = manifest(1, entries).len();
    eprintln!("\nmanifest rename → event latency, {entries} entries ({size} bytes), ms");
    eprintln!(
        "| measured                           |     n | missed |      p50 |      p99 |      max |"
    );
    eprintln!(
        "|------------------------------------|-------|--------|----------|----------|----------|"
    );
    let (raw50, raw99) = row("raw notify event (baseline)", raw_ms, 0);
    let (core50, core99) = row("core watcher, notify (parsed diff)", core_ms, missed);
    row("core watcher, poll 250 ms fallback", poll_ms, poll_missed);
    eprintln!(
        "\nratio core/raw: p50 {:.2}x, p99 {:.2}x; target p99 <= 50 ms: {}",
        core50 / raw50.max(1e-6),
        core99 / raw99.max(1e-6),
        if core99 <= 50.0 && missed == 0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
