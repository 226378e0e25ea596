//! Watches `asset_manifest.json` and emits a [`ManifestDiff`] whenever its content changes.
//!
//! The daemon replaces the file atomically (write a temp file, rename over). A watch on the
//! *file* dies at the first rename (its inode is gone), so notify watches the *directory* and
//! keeps events naming the manifest. A poll on (len, mtime, inode) runs beside it as a
//! fallback — slowly while notify works, at `poll_interval` when notify cannot start. The
//! inode is what makes polling reliable: a rename-replace always changes it, even when length
//! and mtime look the same. A file that does not parse (a writer that does not rename) is
//! re-read a few times before an error is reported; a reader never emits a torn manifest.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use crossbeam_channel::{bounded, select, Receiver, Sender};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::manifest::{diff, Manifest, ManifestDiff};

/// How to notice changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// notify on the directory plus a slow poll; plain polling when notify cannot start.
    Auto,
    /// Polling only (network filesystems, containers without inotify).
    Poll,
}

/// Watcher settings.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub mode: WatchMode,
    /// Poll period when polling is the only mechanism (default 250 ms).
    pub poll_interval: Duration,
    /// Poll period beside a working notify watch, to catch a missed event (default 2 s).
    pub fallback_poll_interval: Duration,
    /// Re-reads of a file that does not parse before an error is reported (default 20).
    pub parse_retries: u32,
    /// Pause between those re-reads (default 10 ms).
    pub retry_delay: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            mode: WatchMode::Auto,
            poll_interval: Duration::from_millis(250),
            fallback_poll_interval: Duration::from_secs(2),
            parse_retries: 20,
            retry_delay: Duration::from_millis(10),
        }
    }
}

/// What the watcher reports.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// The content changed (the first successful read reports every entry as added).
    Changed(ManifestDiff),
    /// The file exists but could not be read or parsed after the retries; the previous
    /// manifest stays current. Reported once per version of the file.
    Error { path: PathBuf, message: String },
}

/// Which mechanism is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchBackend {
    Notify,
    Poll,
}

/// Runs a thread until dropped.
pub struct ManifestWatcher {
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
    backend: WatchBackend,
    current: Arc<Mutex<Option<Arc<Manifest>>>>,
    checks: Arc<AtomicU64>,
    // Dropping it ends the OS watch; kept here so it lives as long as the thread.
    _notify: Option<RecommendedWatcher>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
    device: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = fs::metadata(path).ok()?;
    Some(Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode: meta.ino(),
        device: meta.dev(),
    })
}

impl ManifestWatcher {
    /// Starts watching `path` (the manifest file; its directory is created if missing) and
    /// sends events to `out`. The current content, if any, is reported at once.
    pub fn start(path: impl Into<PathBuf>, opts: WatchOptions, out: Sender<WatchEvent>) -> Self {
        let path = path.into();
        let (signal_tx, signal_rx) = bounded::<()>(1);
        let notify = match opts.mode {
            WatchMode::Auto => start_notify(&path, signal_tx),
            WatchMode::Poll => None,
        };
        let backend = if notify.is_some() {
            WatchBackend::Notify
        } else {
            WatchBackend::Poll
        };
        let interval = match backend {
            WatchBackend::Notify => opts.fallback_poll_interval,
            WatchBackend::Poll => opts.poll_interval,
        };
        // Without notify nothing sends signals; `never()` keeps select! from spinning on a
        // disconnected channel.
        let signal_rx = if notify.is_some() {
            signal_rx
        } else {
            crossbeam_channel::never()
        };
        let (stop_tx, stop_rx) = bounded::<()>(1);
        let current = Arc::new(Mutex::new(None));
        let checks = Arc::new(AtomicU64::new(0));
        let mut state = State {
            path,
            opts,
            out,
            last: None,
            current: Arc::clone(&current),
            checks: Arc::clone(&checks),
        };
        let thread = thread::Builder::new()
            .name("manifest-watch".into())
            .spawn(move || {
                state.check();
                loop {
                    select! {
                        recv(stop_rx) -> _ => break,
                        recv(signal_rx) -> _ => state.check(),
                        default(interval) => state.check(),
                    }
                }
            })
            .expect("spawning the manifest watcher thread");
        Self {
            stop: stop_tx,
            thread: Some(thread),
            backend,
            current,
            checks,
            _notify: notify,
        }
    }

    /// notify or polling.
    pub fn backend(&self) -> WatchBackend {
        self.backend
    }

    /// How many times the file's metadata was checked (diagnostics: polling cost).
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// The last manifest read successfully.
    pub fn current(&self) -> Option<Arc<Manifest>> {
        self.current.lock().expect("manifest lock").clone()
    }
}

impl Drop for ManifestWatcher {
    fn drop(&mut self) {
        let _ = self.stop.try_send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn start_notify(path: &Path, signal: Sender<()>) -> Option<RecommendedWatcher> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Err(e) = fs::create_dir_all(dir) {
        log::warn!(
            "cannot create {}: {e}; polling the manifest instead",
            dir.display()
        );
        return None;
    }
    let name = path.file_name()?.to_owned();
    let handler = move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if event
            .paths
            .iter()
            .any(|p| p.file_name() == Some(name.as_os_str()))
        {
            // Coalesce: one pending signal is enough, the check reads the latest file.
            let _ = signal.try_send(());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            log::warn!("file notifications unavailable ({e}); polling the manifest instead");
            return None;
        }
    };
    match watcher.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => Some(watcher),
        Err(e) => {
            log::warn!(
                "cannot watch {} ({e}); polling the manifest instead",
                dir.display()
            );
            None
        }
    }
}

struct State {
    path: PathBuf,
    opts: WatchOptions,
    out: Sender<WatchEvent>,
    last: Option<Fingerprint>,
    current: Arc<Mutex<Option<Arc<Manifest>>>>,
    checks: Arc<AtomicU64>,
}

impl State {
    fn check(&mut self) {
        self.checks.fetch_add(1, Ordering::Relaxed);
        let Some(mut seen) = fingerprint(&self.path) else {
            // Missing (not deployed yet, or between unlink and rename of a non-atomic writer):
            // keep the current manifest and re-read when it appears.
            self.last = None;
            return;
        };
        if self.last == Some(seen) {
            return;
        }
        let mut attempt = 0;
        let manifest = loop {
            let parsed = fs::read(&self.path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| Manifest::from_slice(&bytes).map_err(|e| e.to_string()));
            match parsed {
                Ok(manifest) => break manifest,
                Err(message) if attempt >= self.opts.parse_retries => {
                    self.last = Some(seen);
                    let path = self.path.clone();
                    let _ = self.out.send(WatchEvent::Error { path, message });
                    return;
                }
                Err(_) => {
                    attempt += 1;
                    thread::sleep(self.opts.retry_delay);
                    match fingerprint(&self.path) {
                        Some(now) => seen = now,
                        None => return self.last = None,
                    }
                }
            }
        };
        self.last = Some(seen);
        let mut current = self.current.lock().expect("manifest lock");
        let change = diff(current.as_deref(), Arc::new(manifest));
        let first = current.is_none();
        *current = Some(Arc::clone(&change.manifest));
        drop(current);
        if first || !change.is_empty() {
            let _ = self.out.send(WatchEvent::Changed(change));
        }
    }
}

/// Drains `events` until a `Changed` event satisfies `accept` or `timeout` passes.
pub fn wait_for_change(
    events: &Receiver<WatchEvent>,
    timeout: Duration,
    mut accept: impl FnMut(&ManifestDiff) -> bool,
) -> Option<ManifestDiff> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match events.recv_timeout(left) {
            Ok(WatchEvent::Changed(d)) if accept(&d) => return Some(d),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}
