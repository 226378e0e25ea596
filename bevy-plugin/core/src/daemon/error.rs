//! Errors of the daemon supervisor.

use std::path::PathBuf;
use std::time::Duration;

use crate::mcp::McpError;

/// Why the daemon is not available.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot start the daemon '{}' {args:?}: {source}; check that the program exists (node on PATH, `npm run build` done) or set the daemon command in the plugin config", .program.display())]
    Spawn {
        program: PathBuf,
        args: Vec<String>,
        #[source]
        source: std::io::Error,
    },
    #[error("daemon '{}' started but the MCP handshake failed ({}): {source}; last stderr: {}", .program.display(), .exit.as_deref().unwrap_or("still running"), tail(.stderr_tail))]
    Handshake {
        program: PathBuf,
        exit: Option<String>,
        #[source]
        source: Box<McpError>,
        stderr_tail: Vec<String>,
    },
    #[error("daemon not ready after {} ms (status: {status})", .waited.as_millis())]
    NotReady { status: String, waited: Duration },
    #[error("the daemon supervisor is shut down")]
    ShutDown,
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return "(nothing)".into();
    }
    let start = lines.len().saturating_sub(5);
    lines[start..].join(" | ")
}
