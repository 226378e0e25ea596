//! How to start the daemon and how to supervise it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::mcp::ClientInfo;

/// Restart behaviour after a crash.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    /// First pause before a restart (default 250 ms); doubles per consecutive crash.
    pub initial_backoff: Duration,
    /// Longest pause (default 10 s).
    pub max_backoff: Duration,
    /// Give up after this many consecutive failed starts/crashes (`None`: never).
    pub max_restarts: Option<u32>,
    /// A daemon up this long resets the backoff (default 30 s).
    pub stable_after: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_restarts: None,
            stable_after: Duration::from_secs(30),
        }
    }
}

/// The daemon command and its supervision settings.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub program: String,
    pub args: Vec<String>,
    /// Added to the inherited environment.
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    /// Spawn + `initialize` must finish within this (default 20 s).
    pub startup_timeout: Duration,
    /// Time-out for short requests (`tools/list`, `get_job`, `cancel_job`; default 15 s).
    pub request_timeout: Duration,
    /// Total budget of a clean stop (default 2 s).
    pub shutdown_grace: Duration,
    pub restart: RestartPolicy,
    pub client: ClientInfo,
}

impl DaemonConfig {
    /// Any command speaking MCP on stdio.
    pub fn command(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            cwd: None,
            startup_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(2),
            restart: RestartPolicy::default(),
            client: ClientInfo::default(),
        }
    }

    /// `node <package>/daemon/dist/cli.js serve`, started directly (not through npx, whose
    /// kill would orphan the node child).
    pub fn node_package(package_root: impl AsRef<Path>) -> Self {
        let cli = package_root
            .as_ref()
            .join("daemon")
            .join("dist")
            .join("cli.js");
        Self::command("node", [cli.to_string_lossy().into_owned(), "serve".into()])
    }

    /// The command from `DGX_PIXELS_DAEMON` (a package root holding `daemon/dist/cli.js`, or a
    /// `cli.js` path), else `dgx-pixels serve` from PATH (the npm bin).
    pub fn from_env() -> Self {
        match std::env::var_os("DGX_PIXELS_DAEMON").map(PathBuf::from) {
            Some(path) if path.extension().is_some_and(|e| e == "js") => Self::command(
                "node",
                [path.to_string_lossy().into_owned(), "serve".into()],
            ),
            Some(root) => Self::node_package(root),
            None => Self::command("dgx-pixels", ["serve"]),
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Adds `--config FILE` (the daemon's config file).
    pub fn config_file(mut self, path: impl AsRef<Path>) -> Self {
        self.args.push("--config".into());
        self.args.push(path.as_ref().to_string_lossy().into_owned());
        self
    }
}
