//! Buffered messages the plugin writes in `PreUpdate` (read them with `MessageReader`).

use bevy::prelude::*;
use bevy_plugin_core::{DaemonStatus, JobId};

/// A job made progress; `fraction` is 0..=1 when known.
#[derive(Message, Clone, Debug)]
pub struct SpriteJobProgress {
    pub job: JobId,
    pub fraction: Option<f64>,
    pub message: Option<String>,
}

/// A job finished and (with `deploy`, the default) its sprite is in the assets folder. The
/// image itself arrives with the matching [`SpriteAssetChanged`].
#[derive(Message, Clone, Debug)]
pub struct SpriteJobFinished {
    pub job: JobId,
    pub name: String,
    pub path: Option<String>,
}

/// A job failed; `error` says why and what to do.
#[derive(Message, Clone, Debug)]
pub struct SpriteJobFailed {
    pub job: JobId,
    pub error: String,
}

/// A job was cancelled.
#[derive(Message, Clone, Debug)]
pub struct SpriteJobCancelled {
    pub job: JobId,
    pub note: Option<String>,
}

/// A sprite's new version is in `Assets<Image>` (and its atlas layout in
/// `Assets<TextureAtlasLayout>`): entities with a `GeneratedSprite` show it from this frame on.
#[derive(Message, Clone, Debug)]
pub struct SpriteAssetChanged {
    pub name: String,
    pub path: String,
    pub revision: Option<u64>,
}

/// A sprite's new version is in the manifest but Bevy could not load its image; the previous
/// version stays on screen.
#[derive(Message, Clone, Debug)]
pub struct SpriteAssetFailed {
    pub name: String,
    pub path: String,
    pub error: String,
}

/// A sprite left the manifest; entities showing it now show nothing.
#[derive(Message, Clone, Debug)]
pub struct SpriteAssetRemoved {
    pub name: String,
}

/// The daemon changed state.
#[derive(Message, Clone, Debug)]
pub struct DaemonStatusChanged(pub DaemonStatus);
