//! Loaded sprites and the `GeneratedSprite` component that follows regenerations.
//!
//! A manifest change never blanks a sprite: the new image (and, for sheets, the new atlas
//! layout) waits in `pending` until Bevy has it in `Assets<Image>`, then both are swapped in
//! the same frame. Until then entities keep showing the previous version.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bevy::asset::LoadState;
use bevy::image::{ImageLoaderSettings, ImageSampler, TRANSPARENT_IMAGE_HANDLE};
use bevy::prelude::*;
use bevy_plugin_core::{
    frame_index, plan_updates, tag_frame, AssetAction, JobId, Manifest, ManifestDiff, SheetAtlas,
};

use crate::messages::{SpriteAssetChanged, SpriteAssetFailed, SpriteAssetRemoved};
use crate::plugin::SpriteGenService;

/// A sprite from the manifest, as Bevy assets: what entities show now.
#[derive(Clone, Debug)]
pub struct LoadedSprite {
    /// Relative to the assets root.
    pub path: String,
    pub image: Handle<Image>,
    /// For sheets and tilesets.
    pub layout: Option<Handle<TextureAtlasLayout>>,
    /// The sheet's frame tags and durations (from its Aseprite atlas), when it has one.
    pub atlas: Option<Arc<SheetAtlas>>,
    pub revision: Option<u64>,
}

/// A manifest change whose image is still loading.
#[derive(Clone, Debug)]
struct Pending {
    path: String,
    image: Handle<Image>,
    /// Same path as what is shown: wait for `AssetEvent::Modified`, not for a first load.
    reload: bool,
    /// The image is in `Assets<Image>` (promotion may still wait for the job's answer).
    arrived: bool,
    layout: Option<TextureAtlasLayout>,
    atlas: Option<Arc<SheetAtlas>>,
    revision: Option<u64>,
}

/// Every deployed sprite the plugin has loaded, and the current manifest.
#[derive(Resource, Default)]
pub struct GeneratedSprites {
    pub manifest: Option<Arc<Manifest>>,
    pub loaded: HashMap<String, LoadedSprite>,
    pending: HashMap<String, Pending>,
    /// Jobs whose end message has been written (the rest may still deploy).
    pub(crate) ended_jobs: HashSet<JobId>,
}

impl GeneratedSprites {
    /// True while a new version of `name` is loading (entities still show the previous one).
    pub fn is_loading(&self, name: &str) -> bool {
        self.pending.contains_key(name)
    }
}

/// Shows the manifest sprite `name` (atlas frame `frame` for sheets) and keeps the `Sprite`
/// in sync when it is regenerated: `commands.spawn(GeneratedSprite::new("slime"))`.
/// When the sprite leaves the manifest, the entity shows nothing until it comes back.
#[derive(Component, Clone, Debug)]
#[require(Sprite)]
pub struct GeneratedSprite {
    pub name: String,
    pub frame: usize,
}

impl GeneratedSprite {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            frame: 0,
        }
    }

    pub fn with_frame(mut self, frame: usize) -> Self {
        self.frame = frame;
        self
    }
}

/// Pixel art wants nearest sampling; the settings stay on the handle for every reload.
fn load_pixel_art(server: &AssetServer, path: &str) -> Handle<Image> {
    server
        .load_builder()
        .with_settings(|s: &mut ImageLoaderSettings| s.sampler = ImageSampler::nearest())
        .load(path.to_owned())
}

/// Applies a manifest diff: new paths start loading, same paths reload (Bevy's file watcher may
/// miss a rename-replace). Nothing is shown until [`promote_loaded`] sees the image arrive.
/// Returns the sprites that left the manifest.
pub(crate) fn apply_manifest(
    diff: &ManifestDiff,
    sprites: &mut GeneratedSprites,
    server: &AssetServer,
    assets_dir: &Path,
) -> Vec<SpriteAssetRemoved> {
    let loaded_paths: HashMap<String, String> = sprites
        .loaded
        .iter()
        .map(|(n, l)| (n.clone(), l.path.clone()))
        .collect();
    let (updates, removed) = plan_updates(diff, &loaded_paths);
    for update in updates {
        let shown = sprites.loaded.get(&update.name);
        let reload = update.action == AssetAction::Reload && shown.is_some();
        let image = match shown {
            Some(prev) if reload => {
                server.reload(update.path.clone());
                prev.image.clone()
            }
            _ => load_pixel_art(server, &update.path),
        };
        let layout = update.grid.as_ref().map(|g| {
            TextureAtlasLayout::from_grid(
                UVec2::new(g.frame_width, g.frame_height),
                g.columns,
                g.rows,
                g.padding.map(UVec2::from_array),
                g.offset.map(UVec2::from_array),
            )
        });
        let atlas = read_atlas(&diff.manifest, &update.name, assets_dir);
        sprites.pending.insert(
            update.name.clone(),
            Pending {
                path: update.path,
                image,
                reload,
                arrived: false,
                layout,
                atlas,
                revision: update.revision,
            },
        );
    }
    for name in &removed {
        sprites.loaded.remove(name);
        sprites.pending.remove(name);
    }
    sprites.manifest = Some(Arc::clone(&diff.manifest));
    removed
        .into_iter()
        .map(|name| SpriteAssetRemoved { name })
        .collect()
}

/// The sheet's atlas (a small JSON file the daemon writes before the manifest), parsed; a
/// missing or bad atlas only costs the tags, with a warning naming the file.
fn read_atlas(manifest: &Manifest, name: &str, assets_dir: &Path) -> Option<Arc<SheetAtlas>> {
    let entry = manifest.get(name)?;
    let (atlas, grid) = (entry.atlas.as_ref()?, entry.grid.as_ref()?);
    let path = assets_dir.join(atlas);
    let parsed = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|json| SheetAtlas::parse(&json, grid));
    match parsed {
        Ok(atlas) => Some(Arc::new(atlas)),
        Err(e) => {
            warn!(
                "sprite {name}: atlas {}: {e}; its frame tags are unavailable",
                path.display()
            );
            None
        }
    }
}

/// Swaps in every pending sprite whose image is now in `Assets<Image>`: a first load when
/// the asset server reports it loaded, a reload when `AssetEvent::Modified` names its id.
/// Writes `SpriteAssetChanged` for each, the frame the new image is usable. A sprite that one
/// of this game's jobs is making waits for that job's `SpriteJobFinished` (the daemon deploys
/// before it answers, so the manifest can overtake the answer by a frame): games see
/// progress → finished → changed, always in that order.
#[expect(clippy::too_many_arguments, reason = "a system's parameters")]
pub(crate) fn promote_loaded(
    service: Res<SpriteGenService>,
    mut sprites: ResMut<GeneratedSprites>,
    mut image_events: MessageReader<AssetEvent<Image>>,
    server: Res<AssetServer>,
    images: Res<Assets<Image>>,
    mut layouts: ResMut<Assets<TextureAtlasLayout>>,
    mut changed: MessageWriter<SpriteAssetChanged>,
    mut failed: MessageWriter<SpriteAssetFailed>,
) {
    let modified: Vec<AssetId<Image>> = image_events
        .read()
        .filter_map(|e| match e {
            // A reload is done when the new data is in Assets<Image>: that is `Modified`.
            // (`LoadedWithDependencies` can come a frame earlier, before the data is swapped.)
            AssetEvent::Modified { id } => Some(*id),
            _ => None,
        })
        .collect();
    if sprites.pending.is_empty() {
        return;
    }
    let making: Vec<String> = service
        .0
        .jobs()
        .into_iter()
        .filter(|j| !sprites.ended_jobs.contains(&j.id))
        .map(|j| j.name)
        .collect();
    let mut ready = Vec::new();
    for (name, pending) in sprites.pending.iter_mut() {
        let id = pending.image.id();
        if let LoadState::Failed(error) = server.load_state(id) {
            ready.push((name.clone(), Err(error.to_string())));
            continue;
        }
        // Remember an arrival even while the job's answer is still on its way.
        pending.arrived |= if pending.reload {
            modified.contains(&id)
        } else {
            images.contains(id)
        };
        if pending.arrived && !making.contains(name) {
            ready.push((name.clone(), Ok(())));
        }
    }
    for (name, outcome) in ready {
        let Some(pending) = sprites.pending.remove(&name) else {
            continue;
        };
        if let Err(error) = outcome {
            warn!(
                "sprite {name}: {} could not be loaded: {error}",
                pending.path
            );
            failed.write(SpriteAssetFailed {
                name,
                path: pending.path,
                error,
            });
            continue;
        }
        let previous_layout = sprites.loaded.get(&name).and_then(|l| l.layout.clone());
        let layout = pending.layout.map(|layout| match previous_layout {
            Some(handle) => {
                let _ = layouts.insert(handle.id(), layout);
                handle
            }
            None => layouts.add(layout),
        });
        sprites.loaded.insert(
            name.clone(),
            LoadedSprite {
                path: pending.path.clone(),
                image: pending.image,
                layout,
                atlas: pending.atlas,
                revision: pending.revision,
            },
        );
        changed.write(SpriteAssetChanged {
            name,
            path: pending.path,
            revision: pending.revision,
        });
    }
}

/// Points every `GeneratedSprite`'s `Sprite` at the current image and atlas frame, when the
/// component is added or changed, or its sprite was swapped in or removed this frame.
pub(crate) fn sync_generated_sprites(
    sprites: Res<GeneratedSprites>,
    mut changed: MessageReader<SpriteAssetChanged>,
    mut removed: MessageReader<SpriteAssetRemoved>,
    mut query: Query<(Ref<GeneratedSprite>, &mut Sprite)>,
) {
    let mut names: Vec<&str> = changed.read().map(|c| c.name.as_str()).collect();
    names.extend(removed.read().map(|r| r.name.as_str()));
    for (generated, mut sprite) in &mut query {
        if !generated.is_changed() && !names.contains(&generated.name.as_str()) {
            continue;
        }
        let Some(loaded) = sprites.loaded.get(&generated.name) else {
            // Not deployed (yet, or any more): show nothing rather than a stale or white quad.
            if sprite.image != TRANSPARENT_IMAGE_HANDLE {
                sprite.image = TRANSPARENT_IMAGE_HANDLE;
                sprite.texture_atlas = None;
            }
            continue;
        };
        let grid = sprites
            .manifest
            .as_ref()
            .and_then(|m| m.get(&generated.name))
            .and_then(|e| e.grid.as_ref());
        sprite.image = loaded.image.clone();
        sprite.texture_atlas = match (loaded.layout.clone(), frame_index(grid, generated.frame)) {
            (Some(layout), Some(index)) => Some(TextureAtlas { layout, index }),
            _ => None,
        };
    }
}

/// Plays a sheet's named animation (an atlas frame tag such as `south_walk`) on a
/// `GeneratedSprite`: `commands.entity(e).insert(PlayTag::new("south_walk"))`. Frame times
/// come from the atlas; switching tags restarts the timer. A tag the sheet does not have
/// leaves the frame alone (see [`crate::SpriteGen::tags`]).
#[derive(Component, Clone, Debug)]
pub struct PlayTag {
    pub tag: String,
    pub paused: bool,
    elapsed: Duration,
}

impl PlayTag {
    pub fn new(tag: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            paused: false,
            elapsed: Duration::ZERO,
        }
    }

    /// Switches to `tag` (from its first frame) unless it is already playing.
    pub fn set(&mut self, tag: &str) {
        if self.tag != tag {
            self.tag = tag.to_owned();
            self.elapsed = Duration::ZERO;
        }
    }
}

/// Advances every `PlayTag` and writes the frame into its `GeneratedSprite`.
pub(crate) fn play_tags(
    time: Res<Time>,
    sprites: Res<GeneratedSprites>,
    mut query: Query<(&mut PlayTag, &mut GeneratedSprite)>,
) {
    for (mut play, mut generated) in &mut query {
        if !play.paused {
            play.elapsed += time.delta();
        }
        let Some(atlas) = sprites
            .loaded
            .get(&generated.name)
            .and_then(|l| l.atlas.as_ref())
        else {
            continue;
        };
        let Some(tag) = atlas.tag(&play.tag) else {
            continue;
        };
        let frame = tag_frame(atlas, tag, play.elapsed.as_millis() as u64);
        if generated.frame != frame {
            generated.frame = frame;
        }
    }
}
