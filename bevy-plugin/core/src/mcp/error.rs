//! Errors of the MCP client.

use std::time::Duration;

/// What can go wrong talking MCP to a server.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// Writing to the server failed (its stdin is closed or broken).
    #[error("cannot write '{method}' to the MCP server: {source}")]
    Write {
        method: String,
        #[source]
        source: std::io::Error,
    },
    /// The connection is gone: the server exited, closed stdout, or the client was closed.
    #[error("MCP server disconnected ({reason}) while waiting for '{method}'")]
    Disconnected { method: String, reason: String },
    /// No answer (and no progress) within the time-out; the request was cancelled on the server.
    #[error("MCP request '{method}' timed out after {} ms without a reply or progress; it was cancelled on the server", .after.as_millis())]
    Timeout { method: String, after: Duration },
    /// The caller cancelled the request; `notifications/cancelled` was sent.
    #[error("MCP request '{method}' was cancelled by the caller")]
    Cancelled { method: String },
    /// A JSON-RPC error response (unknown method, invalid params, internal error …).
    #[error("MCP server answered '{method}' with error {code}: {message}")]
    Rpc {
        method: String,
        code: i64,
        message: String,
    },
    /// A tool ran and reported failure (`isError: true`); `message` is the tool's text.
    #[error("tool '{tool}' failed: {message}")]
    Tool { tool: String, message: String },
    /// The server offered a protocol version this client does not speak.
    #[error("MCP server offered protocol version '{offered}'; this client supports {}", .supported.join(", "))]
    UnsupportedProtocolVersion {
        offered: String,
        supported: Vec<String>,
    },
    /// The server's answer has the wrong shape.
    #[error("MCP server sent a malformed '{method}' result: {detail}")]
    Malformed { method: String, detail: String },
}

impl McpError {
    /// True when the connection itself is gone (a restart is needed), as opposed to one call
    /// failing on a healthy connection.
    pub fn is_disconnect(&self) -> bool {
        matches!(self, McpError::Disconnected { .. } | McpError::Write { .. })
    }
}
