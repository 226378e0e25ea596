//! Everything the [`crate::Service`] reports, in one channel a game loop drains each frame.

use std::path::PathBuf;

use serde_json::Value;

use crate::daemon::DaemonStatus;
use crate::jobs::JobId;
use crate::manifest::ManifestDiff;

/// One thing that happened.
#[derive(Debug, Clone)]
pub enum Event {
    /// The daemon changed state (starting, ready, crashed, stopped).
    Status(DaemonStatus),
    /// A job made progress; `fraction` is 0..=1 when the daemon gave a total.
    Progress {
        job: JobId,
        fraction: Option<f64>,
        message: Option<String>,
    },
    /// A job ended well. `path` is the deployed path relative to the assets root (or the
    /// output file when not deployed); `result` is the daemon's `structuredContent`.
    Finished {
        job: JobId,
        name: String,
        path: Option<String>,
        result: Value,
    },
    /// A job failed; `error` says why and what to do.
    Failed { job: JobId, error: String },
    /// A job was cancelled; `note` tells when the daemon did not confirm it.
    Cancelled { job: JobId, note: Option<String> },
    /// The manifest changed (the first read reports every entry as added).
    Manifest(ManifestDiff),
    /// The manifest could not be read; the previous one stays current.
    ManifestError { path: PathBuf, message: String },
}
