//! dgx-pixels for Bevy 0.19: ask for pixel-art sprites from a system or an editor panel, and
//! see them change on screen when the daemon deploys a new version.
//!
//! ```ignore
//! App::new()
//!     .add_plugins((DefaultPlugins.set(ImagePlugin::default_nearest()), SpriteGenPlugin::default()))
//!     .add_systems(Startup, |mut commands: Commands, sprite_gen: SpriteGen| {
//!         if sprite_gen.sprite("slime").is_none() {
//!             sprite_gen.generate(GenerateRequest::sprite("slime", "green slime").size(32, 32));
//!         }
//!         commands.spawn(GeneratedSprite::new("slime"));
//!     });
//! ```
//!
//! All logic lives in `bevy-plugin-core` (tested without Bevy); this crate only moves its
//! events into Bevy messages, assets and components.

mod messages;
mod param;
mod plugin;
mod sprite;

#[cfg(feature = "egui")]
mod editor;
#[cfg(feature = "remote")]
mod remote;

pub use bevy_plugin_core as sprite_core;
pub use bevy_plugin_core::{
    DaemonConfig, DaemonStatus, FrameTag, GenerateRequest, JobId, JobSnapshot, JobState, Manifest,
    ManifestEntry, SheetAtlas,
};
#[cfg(feature = "egui")]
pub use editor::{SpriteGenEditorLayout, SpriteGenEditorPlugin};
pub use messages::{
    DaemonStatusChanged, SpriteAssetChanged, SpriteAssetFailed, SpriteAssetRemoved,
    SpriteJobCancelled, SpriteJobFailed, SpriteJobFinished, SpriteJobProgress,
};
pub use param::SpriteGen;
pub use plugin::{SpriteGenPlugin, SpriteGenService, SpriteGenSystems};
pub use sprite::{GeneratedSprite, GeneratedSprites, LoadedSprite, PlayTag};

/// `use dgx_pixels_bevy::prelude::*;`
pub mod prelude {
    #[cfg(feature = "egui")]
    pub use crate::SpriteGenEditorPlugin;
    pub use crate::{
        GenerateRequest, GeneratedSprite, JobId, PlayTag, SpriteAssetChanged, SpriteGen,
        SpriteGenPlugin, SpriteJobFailed, SpriteJobFinished, SpriteJobProgress,
    };
}
