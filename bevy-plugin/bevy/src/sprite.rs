//! Loaded sprites and the `GeneratedSprite` component that follows regenerations.

use std::collections::HashMap;
use std::sync::Arc;

use bevy::image::{ImageLoaderSettings, ImageSampler};
use bevy::prelude::*;
use bevy_plugin_core::{frame_index, plan_updates, AssetAction, Manifest, ManifestDiff};

use crate::messages::{SpriteAssetChanged, SpriteAssetRemoved};

/// A sprite from the manifest, as Bevy assets.
#[derive(Clone, Debug)]
pub struct LoadedSprite {
    /// Relative to the assets root.
    pub path: String,
    pub image: Handle<Image>,
    /// For sheets and tilesets.
    pub layout: Option<Handle<TextureAtlasLayout>>,
    pub revision: Option<u64>,
}

/// Every deployed sprite the plugin has loaded, and the current manifest.
#[derive(Resource, Default)]
pub struct GeneratedSprites {
    pub manifest: Option<Arc<Manifest>>,
    pub loaded: HashMap<String, LoadedSprite>,
}

/// Shows the manifest sprite `name` (atlas frame `frame` for sheets) and keeps the `Sprite`
/// in sync when it is regenerated: `commands.spawn(GeneratedSprite::new("slime"))`.
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

/// Applies a manifest diff: new paths load, same paths reload (Bevy's file watcher may miss a
/// rename-replace), grids (re)build atlas layouts in place.
pub(crate) fn apply_manifest(
    diff: &ManifestDiff,
    sprites: &mut GeneratedSprites,
    server: &AssetServer,
    layouts: &mut Assets<TextureAtlasLayout>,
) -> (Vec<SpriteAssetChanged>, Vec<SpriteAssetRemoved>) {
    let loaded_paths: HashMap<String, String> = sprites
        .loaded
        .iter()
        .map(|(n, l)| (n.clone(), l.path.clone()))
        .collect();
    let (updates, removed) = plan_updates(diff, &loaded_paths);
    let mut changed = Vec::with_capacity(updates.len());
    for update in updates {
        let previous = sprites.loaded.get(&update.name).cloned();
        let image = match (update.action, &previous) {
            (AssetAction::Reload, Some(prev)) => {
                server.reload(update.path.clone());
                prev.image.clone()
            }
            _ => load_pixel_art(server, &update.path),
        };
        let layout = update.grid.as_ref().map(|g| {
            let layout = TextureAtlasLayout::from_grid(
                UVec2::new(g.frame_width, g.frame_height),
                g.columns,
                g.rows,
                g.padding.map(UVec2::from_array),
                g.offset.map(UVec2::from_array),
            );
            match previous.as_ref().and_then(|p| p.layout.clone()) {
                Some(handle) => {
                    let _ = layouts.insert(handle.id(), layout);
                    handle
                }
                None => layouts.add(layout),
            }
        });
        sprites.loaded.insert(
            update.name.clone(),
            LoadedSprite {
                path: update.path.clone(),
                image,
                layout,
                revision: update.revision,
            },
        );
        changed.push(SpriteAssetChanged {
            name: update.name,
            path: update.path,
            revision: update.revision,
        });
    }
    for name in &removed {
        sprites.loaded.remove(name);
    }
    sprites.manifest = Some(Arc::clone(&diff.manifest));
    (
        changed,
        removed
            .into_iter()
            .map(|name| SpriteAssetRemoved { name })
            .collect(),
    )
}

/// Points every `GeneratedSprite`'s `Sprite` at the current image and atlas frame, when the
/// component is added or changed, or its sprite was (re)deployed this frame.
pub(crate) fn sync_generated_sprites(
    sprites: Res<GeneratedSprites>,
    mut changed: MessageReader<SpriteAssetChanged>,
    mut query: Query<(Ref<GeneratedSprite>, &mut Sprite)>,
) {
    let names: Vec<String> = changed.read().map(|c| c.name.clone()).collect();
    for (generated, mut sprite) in &mut query {
        if !generated.is_changed() && !names.contains(&generated.name) {
            continue;
        }
        let Some(loaded) = sprites.loaded.get(&generated.name) else {
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
