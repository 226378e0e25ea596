//! Bevy-free core of the dgx-pixels Bevy plugin.
//!
//! Everything with logic lives here so it can be built and tested without Bevy: the MCP
//! client, the daemon supervisor, the job layer, the manifest model and its watcher, and the
//! [`Service`] facade a Bevy resource holds.

pub mod framing;
pub mod jsonrpc;
pub mod manifest;
pub mod mcp;
pub mod watch;

pub use mcp::{ClientInfo, McpClient, McpError, Progress, RequestOptions};
