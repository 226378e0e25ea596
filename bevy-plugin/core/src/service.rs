//! The facade a game holds: daemon supervision, jobs and the manifest watcher behind one
//! `Send + Sync` value and one event channel. Nothing here blocks a frame: `start` only spawns
//! threads, `submit` returns a [`JobId`] at once, and events are drained with `try_iter`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};
use serde_json::json;

use crate::catalog::{parse_catalog, Catalog};
use crate::daemon::{DaemonConfig, DaemonError, DaemonStatus, Supervisor};
use crate::events::Event;
use crate::jobs::{GenerateRequest, JobId, JobManager, JobOptions, JobSnapshot};
use crate::manifest::Manifest;
use crate::mcp::{McpClient, RequestOptions};
use crate::watch::{ManifestWatcher, WatchEvent, WatchOptions};

/// At most one `list_styles` fetch per this period.
const CATALOG_RETRY: Duration = Duration::from_secs(5);

/// Everything [`Service::start`] needs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub daemon: DaemonConfig,
    /// The game's assets root (absolute); passed to the daemon as `DGX_PIXELS_BEVY_ASSETS`.
    pub assets_dir: PathBuf,
    /// Manifest file name inside `assets_dir` (default `asset_manifest.json`).
    pub manifest_file: String,
    /// Start the daemon at once (default true); else call [`Service::start_daemon`].
    pub autostart: bool,
    pub jobs: JobOptions,
    pub watch: WatchOptions,
}

impl ServiceConfig {
    pub fn new(daemon: DaemonConfig, assets_dir: impl Into<PathBuf>) -> Self {
        Self {
            daemon,
            assets_dir: assets_dir.into(),
            manifest_file: "asset_manifest.json".into(),
            autostart: true,
            jobs: JobOptions::default(),
            watch: WatchOptions::default(),
        }
    }

    /// `assets_dir/manifest_file`.
    pub fn manifest_path(&self) -> PathBuf {
        self.assets_dir.join(&self.manifest_file)
    }
}

/// Send + Sync; dropping it shuts the daemon down.
pub struct Service {
    supervisor: Arc<Supervisor>,
    jobs: Arc<JobManager>,
    watcher: Mutex<Option<ManifestWatcher>>,
    events: Receiver<Event>,
    manifest_path: PathBuf,
    shutdown_grace: Duration,
    catalog: Arc<Mutex<Option<Catalog>>>,
    /// When the last `list_styles` fetch started; at most one every 5 s.
    catalog_fetch: Mutex<Option<Instant>>,
    request_timeout: Duration,
}

impl Service {
    /// Spawns the supervisor (and the daemon when `autostart`), and the manifest watcher.
    /// Returns at once.
    pub fn start(config: ServiceConfig) -> Service {
        let (tx, rx) = unbounded();
        let assets_dir = absolute(&config.assets_dir);
        let daemon = config
            .daemon
            .clone()
            .env("DGX_PIXELS_BEVY_ASSETS", assets_dir.to_string_lossy());
        let shutdown_grace = daemon.shutdown_grace;
        let request_timeout = daemon.request_timeout;
        let status_tx = tx.clone();
        let sink = Box::new(move |s: &DaemonStatus| {
            let _ = status_tx.send(Event::Status(s.clone()));
        });
        let supervisor = Arc::new(Supervisor::new(daemon, config.autostart, sink));
        let jobs = Arc::new(JobManager::new(
            Arc::clone(&supervisor),
            tx.clone(),
            config.jobs.clone(),
            request_timeout,
        ));
        let manifest_path = assets_dir.join(&config.manifest_file);
        let watcher = start_watcher(&manifest_path, config.watch.clone(), tx);
        Service {
            supervisor,
            jobs,
            watcher: Mutex::new(Some(watcher)),
            events: rx,
            manifest_path,
            shutdown_grace,
            catalog: Arc::new(Mutex::new(None)),
            catalog_fetch: Mutex::new(None),
            request_timeout,
        }
    }

    /// Starts the daemon when it is not running (with `autostart: false`, or after `stop_daemon`).
    pub fn start_daemon(&self) {
        self.supervisor.start_daemon();
    }

    /// Stops the daemon; the service stays usable and jobs wait for the next start.
    pub fn stop_daemon(&self) {
        self.supervisor.stop_daemon();
    }

    /// Queues a generation and returns its id at once; follow it with [`Event`]s or
    /// [`Service::job`].
    pub fn submit(&self, request: GenerateRequest) -> JobId {
        self.jobs.submit(request)
    }

    /// Cancels a job; false when it is unknown or already ended.
    pub fn cancel(&self, job: JobId) -> bool {
        self.jobs.cancel(job)
    }

    pub fn status(&self) -> DaemonStatus {
        self.supervisor.status()
    }

    pub fn job(&self, job: JobId) -> Option<JobSnapshot> {
        self.jobs.get(job)
    }

    /// Every job of this service, oldest first.
    pub fn jobs(&self) -> Vec<JobSnapshot> {
        self.jobs.snapshots()
    }

    /// The event stream; drain with `try_iter()` each frame.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// The last manifest read successfully.
    pub fn manifest(&self) -> Option<Arc<Manifest>> {
        self.watcher
            .lock()
            .expect("watcher lock")
            .as_ref()
            .and_then(ManifestWatcher::current)
    }

    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }

    /// The live MCP connection, to call other daemon tools (`list_styles`, …) directly.
    pub fn client(&self) -> Option<McpClient> {
        self.supervisor.client().map(|(c, _)| c)
    }

    /// The styles and palettes the daemon offers, once fetched (see `refresh_catalog`).
    pub fn catalog(&self) -> Option<Catalog> {
        self.catalog.lock().expect("catalog lock").clone()
    }

    /// Fetches `list_styles` on a background thread when the daemon is ready and no fetch
    /// started in the last 5 s (safe to call every frame); false when nothing was started.
    /// The result appears in [`Service::catalog`].
    pub fn refresh_catalog(&self) -> bool {
        let Some(client) = self.client() else {
            return false;
        };
        {
            let mut last = self.catalog_fetch.lock().expect("catalog lock");
            if last.is_some_and(|t| t.elapsed() < CATALOG_RETRY) {
                return false;
            }
            *last = Some(Instant::now());
        }
        let slot = Arc::clone(&self.catalog);
        let opts = RequestOptions::timeout(self.request_timeout);
        thread::spawn(
            move || match client.call_tool("list_styles", json!({}), &opts) {
                Ok(out) => {
                    *slot.lock().expect("catalog lock") = Some(parse_catalog(&out.structured))
                }
                Err(e) => log::warn!("list_styles failed: {e}"),
            },
        );
        true
    }

    /// Blocks until the daemon is ready (for tools and tests, not for a frame).
    pub fn wait_ready(&self, timeout: Duration) -> Result<McpClient, DaemonError> {
        self.supervisor
            .wait_ready(0, timeout, &|| true)
            .map(|(c, _)| c)
    }

    /// Cancels active jobs, stops the daemon (close stdin, wait, kill; bounded by the
    /// daemon config's `shutdown_grace`), stops the watcher. Idempotent.
    pub fn shutdown(&self) {
        self.jobs.cancel_all();
        self.supervisor.shutdown();
        self.watcher.lock().expect("watcher lock").take();
    }

    /// The configured stop budget.
    pub fn shutdown_grace(&self) -> Duration {
        self.shutdown_grace
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn start_watcher(path: &Path, opts: WatchOptions, events: Sender<Event>) -> ManifestWatcher {
    let (tx, rx) = unbounded();
    let watcher = ManifestWatcher::start(path, opts, tx);
    // Forwarder: ends when the watcher (its sender) is dropped.
    thread::Builder::new()
        .name("manifest-events".into())
        .spawn(move || {
            for event in rx {
                let event = match event {
                    WatchEvent::Changed(diff) => Event::Manifest(diff),
                    WatchEvent::Error { path, message } => Event::ManifestError { path, message },
                };
                if events.send(event).is_err() {
                    break;
                }
            }
        })
        .expect("spawning the manifest forwarder");
    watcher
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_service_can_live_in_a_bevy_resource() {
        assert_send_sync::<Service>();
        assert_send_sync::<Receiver<Event>>();
        assert_send_sync::<McpClient>();
    }
}
