//! Minimal MCP client (JSON-RPC 2.0 over newline-delimited stdio).

mod client;
mod error;
mod session;
mod types;

pub use client::{CancelToken, McpClient, ProgressHandler, RequestOptions};
pub use error::McpError;
pub use session::tool_output;
pub use types::{
    ClientInfo, InitializeResult, Progress, ServerNotification, ToolInfo, ToolOutput,
    LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS,
};

#[cfg(test)]
mod client_tests;
