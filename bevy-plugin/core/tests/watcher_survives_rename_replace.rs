//! The manifest watcher against real files: atomic rename-replace in quick succession, the
//! poll fallback, a non-atomic writer (torn reads), missing and invalid files.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::thread;
use std::time::Duration;

use bevy_plugin_core::manifest::ManifestDiff;
use bevy_plugin_core::watch::{
    wait_for_change, ManifestWatcher, WatchBackend, WatchEvent, WatchMode, WatchOptions,
};
use crossbeam_channel::unbounded;
use serde_json::json;

const NAME: &str = "asset_manifest.json";

fn manifest_json(revision: u64, names: &[&str]) -> Vec<u8> {
    let sprites: Vec<_> = names
        .iter()
        .map(|n| {
            json!({"name": n, "path": format!("sprites/{n}.png"), "deployed_at": "t",
            "kind": "sprite", "width": 32, "height": 32,
            "hash": format!("{revision:064x}"), "revision": revision,
            "source": {"prompt": "x".repeat(2000)}})
        })
        .collect();
    serde_json::to_vec_pretty(
        &json!({"version": 1, "updated_at": format!("r{revision}"), "sprites": sprites}),
    )
    .unwrap()
}

/// Write-temp-then-rename, the temp file outside the watched directory (as the daemon does).
fn deploy(assets: &Path, staging: &Path, bytes: &[u8]) {
    let tmp = staging.join(format!("manifest.{}.tmp", std::process::id()));
    fs::write(&tmp, bytes).unwrap();
    fs::rename(&tmp, assets.join(NAME)).unwrap();
}

fn revision_of(d: &ManifestDiff, name: &str) -> u64 {
    d.manifest.get(name).and_then(|e| e.revision).unwrap_or(0)
}

fn dirs() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let assets = root.path().join("assets");
    let staging = root.path().join(".staging");
    fs::create_dir_all(&assets).unwrap();
    fs::create_dir_all(&staging).unwrap();
    (root, assets, staging)
}

fn rapid_replacements(mode: WatchMode, expected: WatchBackend, count: u64) {
    let (_root, assets, staging) = dirs();
    deploy(&assets, &staging, &manifest_json(1, &["a", "b"]));
    let (tx, rx) = unbounded();
    let watcher = ManifestWatcher::start(
        assets.join(NAME),
        WatchOptions {
            mode,
            ..Default::default()
        },
        tx,
    );
    assert_eq!(watcher.backend(), expected);
    let first =
        wait_for_change(&rx, Duration::from_secs(5), |_| true).expect("initial read reported");
    assert_eq!(
        first.added.len(),
        2,
        "first read reports every entry as added"
    );
    for revision in 2..=count {
        deploy(&assets, &staging, &manifest_json(revision, &["a", "b"]));
    }
    let mut last = 1;
    let done = wait_for_change(&rx, Duration::from_secs(5), |d| {
        let r = revision_of(d, "a");
        assert!(r > last, "revisions only go forward: {r} after {last}");
        assert_eq!(d.changed.len(), 2, "both entries changed together");
        last = r;
        r == count
    });
    assert!(
        done.is_some(),
        "watcher never reported revision {count}; last seen {last}"
    );
    assert_eq!(
        watcher.current().unwrap().get("b").unwrap().revision,
        Some(count)
    );
    assert!(
        rx.try_iter()
            .all(|e| !matches!(e, WatchEvent::Error { .. })),
        "no error for atomic writes"
    );
}

#[test]
fn notify_watcher_follows_200_rapid_rename_replacements() {
    rapid_replacements(WatchMode::Auto, WatchBackend::Notify, 200);
}

#[test]
fn poll_watcher_follows_rapid_rename_replacements() {
    rapid_replacements(WatchMode::Poll, WatchBackend::Poll, 50);
}

#[test]
fn a_non_atomic_writer_never_yields_a_torn_manifest() {
    let (_root, assets, _staging) = dirs();
    let path = assets.join(NAME);
    fs::write(&path, manifest_json(1, &["a", "b", "c"])).unwrap();
    let (tx, rx) = unbounded();
    let opts = WatchOptions {
        mode: WatchMode::Auto,
        retry_delay: Duration::from_millis(2),
        ..Default::default()
    };
    let _watcher = ManifestWatcher::start(&path, opts, tx);
    let writer = {
        let path = path.clone();
        thread::spawn(move || {
            for revision in 2..=150u64 {
                let bytes = manifest_json(revision, &["a", "b", "c"]);
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&path)
                    .unwrap();
                let half = bytes.len() / 2;
                f.write_all(&bytes[..half]).unwrap();
                f.flush().unwrap();
                thread::sleep(Duration::from_micros(300));
                f.write_all(&bytes[half..]).unwrap();
                drop(f);
                thread::sleep(Duration::from_millis(2));
            }
        })
    };
    writer.join().unwrap();
    let mut changes = 0;
    let done = wait_for_change(&rx, Duration::from_secs(5), |d| {
        changes += 1;
        let m = &d.manifest;
        assert_eq!(m.sprites.len(), 3, "a complete manifest every time");
        let r = revision_of(d, "a");
        assert!(
            m.sprites.iter().all(|e| e.revision == Some(r)),
            "entries from one write"
        );
        assert_eq!(m.updated_at.as_deref(), Some(format!("r{r}").as_str()));
        r == 150
    });
    assert!(
        done.is_some(),
        "the final write was never reported ({changes} changes seen)"
    );
}

#[test]
fn reports_a_manifest_that_appears_later_and_ignores_other_files() {
    let (_root, assets, staging) = dirs();
    let (tx, rx) = unbounded();
    let _watcher = ManifestWatcher::start(assets.join(NAME), WatchOptions::default(), tx);
    fs::write(assets.join("other.json"), b"{}").unwrap();
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "nothing to report yet"
    );
    deploy(&assets, &staging, &manifest_json(1, &["slime"]));
    let d = wait_for_change(&rx, Duration::from_secs(3), |_| true).expect("reported");
    assert_eq!(d.added[0].name, "slime");
}

#[test]
fn an_invalid_manifest_is_an_error_once_and_the_last_good_one_stays() {
    let (_root, assets, staging) = dirs();
    deploy(&assets, &staging, &manifest_json(1, &["a"]));
    let (tx, rx) = unbounded();
    let opts = WatchOptions {
        parse_retries: 2,
        ..Default::default()
    };
    let watcher = ManifestWatcher::start(assets.join(NAME), opts, tx);
    wait_for_change(&rx, Duration::from_secs(3), |_| true).expect("initial");
    deploy(&assets, &staging, br#"{"version": 1, "sprites": ["#);
    match rx
        .recv_timeout(Duration::from_secs(3))
        .expect("an error event")
    {
        WatchEvent::Error { path, message } => {
            assert_eq!(path, assets.join(NAME));
            assert_eq!(message, "asset manifest is not valid JSON for the schema: EOF while parsing a list at line 1 column 27");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(
        watcher.current().unwrap().sprites.len(),
        1,
        "last good manifest kept"
    );
    deploy(&assets, &staging, &manifest_json(2, &["a"]));
    let d = wait_for_change(&rx, Duration::from_secs(3), |_| true).expect("recovered");
    assert_eq!(d.changed[0].revision, Some(2));
}

#[test]
fn an_idle_watcher_checks_at_its_poll_period_and_does_not_spin() {
    let (_root, assets, staging) = dirs();
    deploy(&assets, &staging, &manifest_json(1, &["a"]));
    for (mode, interval) in [(WatchMode::Poll, 100), (WatchMode::Auto, 100)] {
        let (tx, _rx) = unbounded();
        let opts = WatchOptions {
            mode,
            poll_interval: Duration::from_millis(interval),
            fallback_poll_interval: Duration::from_millis(interval),
            ..Default::default()
        };
        let watcher = ManifestWatcher::start(assets.join(NAME), opts, tx);
        thread::sleep(Duration::from_millis(550));
        let checks = watcher.checks();
        assert!(
            (2..=8).contains(&checks),
            "{mode:?}: {checks} checks in 550 ms at a 100 ms period"
        );
    }
}
