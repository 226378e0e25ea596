//! `assets/asset_manifest.json`: the model of `shared/manifest.schema.json` and a diff.
//!
//! Tolerant on purpose: the seed's old format (`{"sprites":[{name, path, deployed_at}]}`) still
//! parses, unknown fields are kept in `extra`, and an unknown `kind` reads as
//! [`SpriteKind::Other`]. Only a `version` newer than [`MANIFEST_VERSION`] is refused, as the
//! schema asks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The newest manifest `version` this reader understands.
pub const MANIFEST_VERSION: u64 = 1;

/// Errors reading a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("asset manifest is not valid JSON for the schema: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("asset manifest version {found} is newer than this plugin understands (up to {MANIFEST_VERSION}); update the plugin")]
    TooNew { found: u64 },
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub sprites: Vec<ManifestEntry>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `sprite`, `sheet` or `tileset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpriteKind {
    Sprite,
    Sheet,
    Tileset,
    #[serde(other)]
    Other,
}

/// Frame grid of a sheet or tileset, in `TextureAtlasLayout::from_grid` terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    pub columns: u32,
    pub rows: u32,
    pub frame_width: u32,
    pub frame_height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding: Option<[u32; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<[u32; 2]>,
}

impl Grid {
    /// Number of frames (`columns × rows`).
    pub fn frames(&self) -> u32 {
        self.columns * self.rows
    }
}

/// One deployed asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub name: String,
    /// Relative to the assets root, `/` separated.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SpriteKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<Grid>,
    /// sha256 of the PNG, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// 1 on first deploy, +1 per content change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atlas: Option<String>,
    /// How it was made (prompt, style, seed, …); kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ManifestEntry {
    /// The prompt it was generated from, if recorded.
    pub fn prompt(&self) -> Option<&str> {
        self.source.as_ref()?.get("prompt")?.as_str()
    }

    /// True when `other` is a different image or a different file: compares revision, hash
    /// and path; entries without either revision or hash are compared whole.
    pub fn differs_from(&self, other: &ManifestEntry) -> bool {
        if self.path != other.path || self.grid != other.grid {
            return true;
        }
        match (self.revision, other.revision, &self.hash, &other.hash) {
            (Some(a), Some(b), _, _) if a != b => true,
            (_, _, Some(a), Some(b)) => a != b,
            (Some(a), Some(b), None, None) => a != b,
            _ => self != other,
        }
    }
}

impl Manifest {
    /// Parses the file's bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = serde_json::from_slice(bytes)?;
        match manifest.version {
            Some(found) if found > MANIFEST_VERSION => Err(ManifestError::TooNew { found }),
            _ => Ok(manifest),
        }
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&ManifestEntry> {
        self.sprites.iter().find(|e| e.name == name)
    }

    /// Entry names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.sprites.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        names
    }
}

/// What changed between two manifests, by entry name. Lists are sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManifestDiff {
    pub added: Vec<ManifestEntry>,
    /// New versions of entries whose revision, hash or path changed.
    pub changed: Vec<ManifestEntry>,
    /// Names no longer present.
    pub removed: Vec<String>,
    /// The manifest after the change.
    pub manifest: Arc<Manifest>,
}

impl ManifestDiff {
    /// Nothing was added, changed or removed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// Added then changed entries: everything a game has to (re)load.
    pub fn added_or_changed(&self) -> impl Iterator<Item = &ManifestEntry> {
        self.added.iter().chain(self.changed.iter())
    }
}

/// Compares `old` (or nothing) with `new`. A duplicated name counts once (the last entry wins,
/// as a reader indexing by name would see it).
pub fn diff(old: Option<&Manifest>, new: Arc<Manifest>) -> ManifestDiff {
    let before: HashMap<&str, &ManifestEntry> = old
        .map(|m| m.sprites.iter().map(|e| (e.name.as_str(), e)).collect())
        .unwrap_or_default();
    let after: BTreeMap<&str, &ManifestEntry> =
        new.sprites.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for (name, entry) in &after {
        match before.get(name) {
            None => added.push((*entry).clone()),
            Some(prev) if prev.differs_from(entry) => changed.push((*entry).clone()),
            Some(_) => {}
        }
    }
    let mut removed: Vec<String> = before
        .keys()
        .filter(|name| !after.contains_key(*name))
        .map(|name| name.to_string())
        .collect();
    removed.sort();
    ManifestDiff {
        added,
        changed,
        removed,
        manifest: new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(name: &str, revision: u64, hash: &str) -> Value {
        json!({"name": name, "path": format!("sprites/{name}.png"), "deployed_at": "2026-01-01T00:00:00Z",
               "kind": "sprite", "width": 32, "height": 32, "hash": hash, "revision": revision})
    }

    fn manifest(entries: Vec<Value>) -> Arc<Manifest> {
        let doc = json!({"version": 1, "updated_at": "2026-01-01T00:00:00Z", "sprites": entries});
        Arc::new(Manifest::from_slice(doc.to_string().as_bytes()).unwrap())
    }

    #[test]
    fn parses_the_full_schema_and_keeps_unknown_fields() {
        let doc = json!({"version": 1, "updated_at": "t", "generator": "dgx-pixels", "sprites": [{
            "name": "hero/walk", "path": "sprites/hero/walk.png", "deployed_at": "t", "kind": "sheet",
            "width": 128, "height": 32, "hash": "ab", "revision": 3, "atlas": "sprites/hero/walk.json",
            "grid": {"columns": 4, "rows": 1, "frame_width": 32, "frame_height": 32, "padding": [0, 0], "offset": [1, 2]},
            "source": {"prompt": "a knight walking", "seed": 7}, "future_field": {"x": 1}}]});
        let m = Manifest::from_slice(doc.to_string().as_bytes()).unwrap();
        let e = m.get("hero/walk").unwrap();
        assert_eq!(e.kind, Some(SpriteKind::Sheet));
        assert_eq!(e.grid.as_ref().unwrap().frames(), 4);
        assert_eq!(e.grid.as_ref().unwrap().offset, Some([1, 2]));
        assert_eq!(e.prompt(), Some("a knight walking"));
        assert_eq!(e.extra.get("future_field"), Some(&json!({"x": 1})));
        assert_eq!(m.extra.get("generator"), Some(&json!("dgx-pixels")));
        let round = serde_json::to_value(&m).unwrap();
        assert_eq!(round, doc, "serialising keeps every field");
    }

    #[test]
    fn parses_the_seed_format_and_unknown_kinds() {
        let doc = br#"{"sprites":[{"name":"a","path":"a.png","deployed_at":"t","kind":"voxel"}]}"#;
        let m = Manifest::from_slice(doc).unwrap();
        assert_eq!(m.version, None);
        assert_eq!(m.sprites[0].kind, Some(SpriteKind::Other));
    }

    #[test]
    fn refuses_bad_input_with_a_named_reason() {
        let cases: [(&[u8], &str); 3] = [
            (br#"{"version":2,"sprites":[]}"#, "asset manifest version 2 is newer than this plugin understands (up to 1); update the plugin"),
            (br#"{"sprites":[{"path":"a.png"}]}"#, "asset manifest is not valid JSON for the schema: missing field `name` at line 1 column 28"),
            (br#"{"sprites":"#, "asset manifest is not valid JSON for the schema: EOF while parsing a value at line 1 column 11"),
        ];
        for (input, message) in cases {
            assert_eq!(
                Manifest::from_slice(input).unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn diff_reports_added_changed_removed_by_revision_and_hash() {
        let old = manifest(vec![
            entry("a", 1, "h1"),
            entry("b", 1, "h1"),
            entry("c", 1, "h1"),
            entry("d", 2, "h2"),
        ]);
        let new = manifest(vec![
            entry("a", 1, "h1"),
            entry("b", 2, "h2"),
            entry("d", 2, "h9"),
            entry("e", 1, "h1"),
        ]);
        let d = diff(Some(&old), Arc::clone(&new));
        let names = |v: &[ManifestEntry]| v.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d.added), vec!["e"]);
        assert_eq!(
            names(&d.changed),
            vec!["b", "d"],
            "b by revision, d by hash"
        );
        assert_eq!(d.removed, vec!["c"]);
        assert!(Arc::ptr_eq(&d.manifest, &new));
    }

    #[test]
    fn diff_ignores_a_rewrite_that_changes_only_timestamps() {
        let old = manifest(vec![entry("a", 1, "h1")]);
        let mut newer = (*old).clone();
        newer.updated_at = Some("later".into());
        newer.sprites[0].deployed_at = Some("later".into());
        assert!(diff(Some(&old), Arc::new(newer)).is_empty());
    }

    #[test]
    fn diff_from_nothing_adds_everything() {
        let d = diff(None, manifest(vec![entry("b", 1, "h"), entry("a", 1, "h")]));
        assert_eq!(
            d.added.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert!(d.changed.is_empty() && d.removed.is_empty());
    }

    #[test]
    fn entries_without_revision_or_hash_compare_whole() {
        let a = ManifestEntry {
            name: "x".into(),
            path: "x.png".into(),
            deployed_at: Some("1".into()),
            kind: None,
            width: None,
            height: None,
            grid: None,
            hash: None,
            revision: None,
            atlas: None,
            source: None,
            extra: Map::new(),
        };
        let mut b = a.clone();
        assert!(!a.differs_from(&b));
        b.deployed_at = Some("2".into());
        assert!(
            a.differs_from(&b),
            "the seed format has only deployed_at to go by"
        );
    }
}
