//! Plain data exchanged with an MCP server.

use serde_json::Value;

/// Protocol version this client asks for first (the TS SDK 1.32's LATEST).
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// Versions this client can speak, newest first. A server may answer `initialize` with any of
/// them; anything else is refused.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] =
    &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// One `notifications/progress` for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub progress: f64,
    pub total: Option<f64>,
    pub message: Option<String>,
}

impl Progress {
    /// `progress / total` clamped to 0..=1, or `None` without a total.
    pub fn fraction(&self) -> Option<f64> {
        self.total
            .filter(|t| *t > 0.0)
            .map(|t| (self.progress / t).clamp(0.0, 1.0))
    }
}

/// A server notification other than progress.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerNotification {
    pub method: String,
    pub params: Option<Value>,
}

/// Who we are, sent in `initialize`.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub name: String,
    pub version: String,
    /// The version to request; the server may answer with another supported one.
    pub protocol_version: String,
}

impl Default for ClientInfo {
    fn default() -> Self {
        Self {
            name: "dgx-pixels-bevy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol_version: LATEST_PROTOCOL_VERSION.into(),
        }
    }
}

/// The server's answer to `initialize`.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializeResult {
    pub protocol_version: String,
    pub server_name: String,
    pub server_version: String,
    pub capabilities: Value,
    pub instructions: Option<String>,
}

/// One entry of `tools/list`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub description: Option<String>,
    pub input_schema: Value,
    pub output_schema: Option<Value>,
}

/// A successful `tools/call` result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// `structuredContent`, or else the first text block parsed as JSON, or else that text as
    /// a JSON string (`Null` when there is no content at all).
    pub structured: Value,
    /// The raw `content` blocks.
    pub content: Vec<Value>,
}
