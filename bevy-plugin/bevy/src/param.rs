//! `SpriteGen`: the system parameter games use to ask for sprites.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_plugin_core::{
    Catalog, DaemonStatus, FrameTag, GenerateRequest, JobId, JobSnapshot, ManifestEntry,
};

use crate::plugin::SpriteGenService;
use crate::sprite::{GeneratedSprites, LoadedSprite};

/// Generate, cancel and look up sprites from any system. Never blocks the frame.
#[derive(SystemParam)]
pub struct SpriteGen<'w> {
    service: Res<'w, SpriteGenService>,
    sprites: Res<'w, GeneratedSprites>,
}

impl SpriteGen<'_> {
    /// Queues a generation; the id comes back at once. Follow it with `SpriteJob*` messages.
    pub fn generate(&self, request: GenerateRequest) -> JobId {
        self.service.0.submit(request)
    }

    /// Cancels a job; false when it is unknown or already ended.
    pub fn cancel(&self, job: JobId) -> bool {
        self.service.0.cancel(job)
    }

    /// Starts the daemon (with `autostart: false`, or after it was stopped or gave up).
    pub fn start_daemon(&self) {
        self.service.0.start_daemon();
    }

    /// Stops the daemon; jobs submitted meanwhile wait for the next start.
    pub fn stop_daemon(&self) {
        self.service.0.stop_daemon();
    }

    pub fn status(&self) -> DaemonStatus {
        self.service.0.status()
    }

    /// Every job of this run, oldest first.
    pub fn jobs(&self) -> Vec<JobSnapshot> {
        self.service.0.jobs()
    }

    pub fn job(&self, job: JobId) -> Option<JobSnapshot> {
        self.service.0.job(job)
    }

    /// The daemon's styles and palettes, once fetched; asks for them (in the background)
    /// while they are missing and the daemon is ready.
    pub fn catalog(&self) -> Option<Catalog> {
        let catalog = self.service.0.catalog();
        if catalog.is_none() {
            self.service.0.refresh_catalog();
        }
        catalog
    }

    /// The loaded image (and atlas layout for sheets) of a deployed sprite.
    pub fn sprite(&self, name: &str) -> Option<&LoadedSprite> {
        self.sprites.loaded.get(name)
    }

    /// The frame tags of a sheet (`south`, `south_walk`, …) from its atlas, once loaded.
    pub fn tags(&self, name: &str) -> &[FrameTag] {
        self.sprites
            .loaded
            .get(name)
            .and_then(|l| l.atlas.as_deref())
            .map(|a| a.tags.as_slice())
            .unwrap_or(&[])
    }

    /// The atlas frame indices of `tag` in sheet `name` (for `TextureAtlas::index`).
    pub fn tag_frames(&self, name: &str, tag: &str) -> Option<std::ops::RangeInclusive<usize>> {
        self.tags(name)
            .iter()
            .find(|t| t.name == tag)
            .map(|t| t.frames.clone())
    }

    /// A sprite's manifest entry (size, grid, revision, source).
    pub fn entry(&self, name: &str) -> Option<&ManifestEntry> {
        self.sprites.manifest.as_ref()?.get(name)
    }

    /// Every manifest entry.
    pub fn entries(&self) -> &[ManifestEntry] {
        self.sprites
            .manifest
            .as_ref()
            .map(|m| m.sprites.as_slice())
            .unwrap_or(&[])
    }
}
