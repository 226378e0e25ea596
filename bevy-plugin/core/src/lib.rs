//! Bevy-free core of the dgx-pixels Bevy plugin.
//!
//! Everything with logic lives here so it can be built and tested without Bevy: the MCP
//! client, the daemon supervisor, the job layer, the manifest model and its watcher, and the
//! [`Service`] facade a Bevy resource holds.

pub mod atlas;
pub mod catalog;
pub mod daemon;
pub mod events;
pub mod framing;
pub mod jobs;
pub mod jsonrpc;
pub mod manifest;
pub mod mcp;
pub mod service;
pub mod sync;
pub mod watch;

#[doc(hidden)]
pub mod testing;

pub use atlas::{tag_frame, FrameTag, SheetAtlas, TagDirection};
pub use catalog::Catalog;
pub use daemon::{DaemonConfig, DaemonError, DaemonStatus, RestartPolicy};
pub use events::Event;
pub use jobs::{GenerateRequest, JobId, JobOptions, JobSnapshot, JobState};
pub use manifest::{Grid, Manifest, ManifestDiff, ManifestEntry, SpriteKind};
pub use mcp::{ClientInfo, McpClient, McpError, Progress, RequestOptions};
pub use service::{Service, ServiceConfig};
pub use sync::{frame_index, plan_updates, regenerate_request, AssetAction, SpriteUpdate};
pub use watch::{WatchMode, WatchOptions};
