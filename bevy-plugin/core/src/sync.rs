//! Engine-neutral decisions the Bevy adapter applies: what to (re)load after a manifest
//! change, which atlas frame to show, and how to regenerate an entry from its recorded source.

use std::collections::HashMap;

use serde_json::Value;

use crate::jobs::GenerateRequest;
use crate::manifest::{Grid, ManifestDiff, ManifestEntry};

/// What the engine must do with one sprite's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetAction {
    /// First time, or a new path: load (a new handle).
    Load,
    /// Same path, new content: reload into the existing handle. Done explicitly because a
    /// file watcher can miss rename-replace writes (Bevy ignores `RenamedAsset`).
    Reload,
}

/// One sprite to (re)load.
#[derive(Debug, Clone, PartialEq)]
pub struct SpriteUpdate {
    pub name: String,
    /// Relative to the assets root.
    pub path: String,
    pub action: AssetAction,
    /// The frame grid of a sheet/tileset, to (re)build the atlas layout.
    pub grid: Option<Grid>,
    pub revision: Option<u64>,
}

/// Turns a diff into load/reload steps, given the path each loaded sprite currently has.
/// Returns the updates and the names to forget.
pub fn plan_updates(
    diff: &ManifestDiff,
    loaded_paths: &HashMap<String, String>,
) -> (Vec<SpriteUpdate>, Vec<String>) {
    let updates = diff
        .added_or_changed()
        .map(|e| SpriteUpdate {
            name: e.name.clone(),
            path: e.path.clone(),
            action: match loaded_paths.get(&e.name) {
                Some(path) if *path == e.path => AssetAction::Reload,
                _ => AssetAction::Load,
            },
            grid: e.grid.clone(),
            revision: e.revision,
        })
        .collect();
    (updates, diff.removed.clone())
}

/// The atlas index to show for `frame`: `None` for a plain sprite, else `frame` clamped to
/// the last frame (a regenerated sheet may have fewer frames).
pub fn frame_index(grid: Option<&Grid>, frame: usize) -> Option<usize> {
    let grid = grid?;
    let frames = grid.frames().max(1) as usize;
    Some(frame.min(frames - 1))
}

/// A request that makes `entry` again from its recorded source (prompt, style, palette, size,
/// frames), with a fresh seed so the result differs. `None` without a recorded prompt.
pub fn regenerate_request(entry: &ManifestEntry) -> Option<GenerateRequest> {
    let source = entry.source.as_ref()?;
    let text = |key: &str| source.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut request = GenerateRequest::sprite(entry.name.clone(), text("prompt")?);
    request.style = text("style");
    let post = source.get("postprocess");
    request.palette = post
        .and_then(|p| p.get("palette"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match &entry.grid {
        Some(grid) if grid.rows == 1 && grid.columns > 1 => {
            request.size = Some((grid.frame_width, grid.frame_height));
            request.animation_frames = Some(grid.columns);
        }
        Some(grid) => request.size = Some((grid.frame_width, grid.frame_height)),
        None => request.size = entry.width.zip(entry.height),
    }
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{diff, Manifest};
    use serde_json::json;
    use std::sync::Arc;

    fn manifest(entries: Value) -> Arc<Manifest> {
        Arc::new(serde_json::from_value(json!({"version": 1, "sprites": entries})).unwrap())
    }

    #[test]
    fn same_path_reloads_new_path_loads_and_removed_names_are_forgotten() {
        let old = manifest(json!([
            {"name": "a", "path": "a.png", "revision": 1},
            {"name": "b", "path": "b.png", "revision": 1},
            {"name": "gone", "path": "g.png", "revision": 1}]));
        let new = manifest(json!([
            {"name": "a", "path": "a.png", "revision": 2},
            {"name": "b", "path": "b_v2.png", "revision": 2},
            {"name": "c", "path": "c.png", "revision": 1,
             "grid": {"columns": 4, "rows": 1, "frame_width": 16, "frame_height": 16}}]));
        let loaded: HashMap<String, String> = [("a", "a.png"), ("b", "b.png"), ("gone", "g.png")]
            .iter()
            .map(|(n, p)| (n.to_string(), p.to_string()))
            .collect();
        let (updates, removed) = plan_updates(&diff(Some(&old), new), &loaded);
        let actions: Vec<_> = updates
            .iter()
            .map(|u| (u.name.as_str(), u.action))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("c", AssetAction::Load),
                ("a", AssetAction::Reload),
                ("b", AssetAction::Load)
            ]
        );
        assert_eq!(updates[0].grid.as_ref().unwrap().frames(), 4);
        assert_eq!(removed, vec!["gone".to_string()]);
    }

    #[test]
    fn frame_index_clamps_to_the_sheet() {
        let grid = Grid {
            columns: 4,
            rows: 2,
            frame_width: 8,
            frame_height: 8,
            padding: None,
            offset: None,
        };
        assert_eq!(frame_index(None, 3), None);
        assert_eq!(frame_index(Some(&grid), 3), Some(3));
        assert_eq!(frame_index(Some(&grid), 99), Some(7));
    }

    #[test]
    fn regenerate_uses_the_recorded_source_and_sheet_grid() {
        let entry: ManifestEntry = serde_json::from_value(json!({
            "name": "hero/walk", "path": "sprites/hero/walk.png", "width": 128, "height": 32,
            "grid": {"columns": 4, "rows": 1, "frame_width": 32, "frame_height": 32},
            "source": {"prompt": "a knight walking", "style": "pixel_art", "seed": 5,
                       "postprocess": {"palette": "pico8"}}}))
        .unwrap();
        let req = regenerate_request(&entry).unwrap();
        assert_eq!(req.prompt, "a knight walking");
        assert_eq!(req.style.as_deref(), Some("pixel_art"));
        assert_eq!(req.palette.as_deref(), Some("pico8"));
        assert_eq!(
            (req.size, req.animation_frames, req.seed),
            (Some((32, 32)), Some(4), None)
        );
        let bare: ManifestEntry =
            serde_json::from_value(json!({"name": "x", "path": "x.png"})).unwrap();
        assert!(
            regenerate_request(&bare).is_none(),
            "no prompt recorded, nothing to regenerate"
        );
    }

    #[test]
    fn a_manifest_written_by_the_daemon_parses_and_regenerates() {
        // Written by `npm run demo` (daemon deploy into bevy-plugin/bevy/assets), kept verbatim.
        let bytes = include_bytes!("../tests/fixtures/daemon_manifest.json");
        let manifest = Manifest::from_slice(bytes).unwrap();
        let entry = manifest.get("knight").unwrap();
        assert_eq!(
            (entry.width, entry.height, entry.revision),
            (Some(32), Some(32), Some(1))
        );
        assert_eq!(entry.hash.as_deref().map(str::len), Some(64));
        let req = regenerate_request(entry).unwrap();
        assert_eq!(req.prompt, "knight with a sword");
        assert_eq!(
            (req.style.as_deref(), req.size),
            (Some("pixel_art"), Some((32, 32)))
        );
    }
}
