//! Test harness shared by this crate's tests, the Bevy adapter's tests and the example game's
//! self-test: find the daemon build, start the embedded worker on free loopback ports.
//! Not part of the plugin's API (hidden from docs); it only spawns `node`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{DaemonConfig, Event, Service};

/// A fresh directory under the system temp dir, removed on drop (std only, so the adapter's
/// tests need no dev-dependency that would change the game build's feature set).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "dgx-pixels-test-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `daemon/dist/cli.js` of this repository (or `DGX_PIXELS_DAEMON_CLI`), when built.
pub fn daemon_cli() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DGX_PIXELS_DAEMON_CLI") {
        return Some(PathBuf::from(path));
    }
    // `cargo test` sets CARGO_MANIFEST_DIR when it runs the test too: prefer that to the
    // compile-time value, which a shared target dir can carry over from another checkout
    // (cargo reuses a test binary whose sources are older than it, wherever they live).
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest_dir.join("../..");
    let cli = root.join("daemon/dist/cli.js");
    cli.exists().then(|| cli.canonicalize().unwrap_or(cli))
}

/// The daemon build, or `None` when `DGX_PIXELS_E2E=skip` says to skip (printing that it
/// does). A missing build without that variable panics: end-to-end tests never skip silently.
pub fn daemon_cli_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(cli) = daemon_cli() {
        return Some(cli);
    }
    if std::env::var("DGX_PIXELS_E2E").as_deref() == Ok("skip") {
        eprintln!("SKIPPED: {test} (DGX_PIXELS_E2E=skip) — no daemon coverage in this run");
        return None;
    }
    panic!(
        "daemon build missing: expected daemon/dist/cli.js under the repository root (run `npm ci && npm run build`) or DGX_PIXELS_DAEMON_CLI=<path to cli.js>"
    );
}

/// The embedded procedural worker (`node cli.js worker`); killed on drop.
pub struct EmbeddedWorker {
    child: Child,
    /// REQ endpoint, e.g. `tcp://127.0.0.1:41234`.
    pub req: String,
    /// PUB endpoint.
    pub publish: String,
}

impl Drop for EmbeddedWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl EmbeddedWorker {
    /// Starts the worker with `--step-ms step_ms` (time per diffusion step) writing raw
    /// images into `output_dir`, and waits for its ready line (30 s).
    #[expect(
        clippy::zombie_processes,
        reason = "the EmbeddedWorker guard kills and waits on drop"
    )]
    pub fn start(cli: &Path, output_dir: &Path, step_ms: u32) -> EmbeddedWorker {
        let mut child = Command::new("node")
            .arg(cli)
            .args([
                "worker",
                "--req",
                "tcp://127.0.0.1:*",
                "--pub",
                "tcp://127.0.0.1:*",
            ])
            .args(["--step-ms", &step_ms.to_string(), "--output-dir"])
            .arg(output_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning `node cli.js worker` (is node on PATH?)");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "worker printed no ready line within 30 s; stderr:\n{}",
                    seen.join("\n")
                );
            };
            if let Some(rest) = line.strip_prefix("dgx-pixels worker ready ") {
                let field = |key: &str| {
                    rest.split_whitespace()
                        .find_map(|kv| kv.strip_prefix(key))
                        .unwrap_or_else(|| panic!("no {key} in ready line: {line}"))
                        .to_owned()
                };
                let worker = EmbeddedWorker {
                    req: field("req="),
                    publish: field("pub="),
                    child,
                };
                // Keep draining stderr so the worker never blocks on a full pipe.
                thread::spawn(move || while rx.recv().is_ok() {});
                return worker;
            }
            seen.push(line);
        }
    }

    /// `node cli.js serve` pointed at this worker, with its state in `state_dir`. The worker
    /// ping may take 2 s (default 250 ms): on a loaded machine a slow answer is not what these
    /// tests are about.
    pub fn daemon(&self, cli: &Path, state_dir: &Path) -> DaemonConfig {
        DaemonConfig::command("node", [cli.to_string_lossy().into_owned(), "serve".into()])
            .env("DGX_PIXELS_BACKEND_PING_TIMEOUT_MS", "2000")
            .env("DGX_PIXELS_ZMQ_ENDPOINT", &self.req)
            .env("DGX_PIXELS_ZMQ_PUB_ENDPOINT", &self.publish)
            .env("DGX_PIXELS_STATE_DIR", state_dir.to_string_lossy())
    }
}

/// Drains the service's events until `pred` matches one and returns it, or panics naming
/// `what`, every event seen meanwhile, and the jobs the service knows.
pub fn expect_event(
    svc: &Service,
    what: &str,
    timeout: Duration,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while let Ok(event) = svc
        .events()
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        if pred(&event) {
            return event;
        }
        seen.push(format!("{event:?}"));
    }
    panic!(
        "no {what} within {timeout:?}; events seen:\n{}\njobs: {:#?}",
        seen.join("\n"),
        svc.jobs()
    );
}
