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

/// A sprite was added or changed in the manifest; its image is (re)loading.
#[derive(Message, Clone, Debug)]
pub struct SpriteAssetChanged {
    pub name: String,
    pub path: String,
    pub revision: Option<u64>,
}

/// A sprite left the manifest.
#[derive(Message, Clone, Debug)]
pub struct SpriteAssetRemoved {
    pub name: String,
}

/// The daemon changed state.
#[derive(Message, Clone, Debug)]
pub struct DaemonStatusChanged(pub DaemonStatus);
