//! The Aseprite json-hash atlas the daemon writes beside a sheet (`ManifestEntry::atlas`):
//! named frame tags (`south`, `south_walk`, …) and per-frame durations, mapped onto the
//! row-major frame indices of the sheet's grid (`TextureAtlasLayout::from_grid` order).

use std::collections::HashMap;
use std::ops::RangeInclusive;

use serde::Deserialize;

use crate::manifest::Grid;

/// How a tag plays its frames (Aseprite's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagDirection {
    #[default]
    Forward,
    Reverse,
    PingPong,
}

/// A named run of frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTag {
    pub name: String,
    /// Grid indices, first and last inclusive.
    pub frames: RangeInclusive<usize>,
    pub direction: TagDirection,
}

/// What a game needs from the atlas: tags and frame durations, by grid index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SheetAtlas {
    pub tags: Vec<FrameTag>,
    /// Milliseconds per frame, by grid index (missing frames: 100 ms).
    pub durations_ms: Vec<u32>,
}

#[derive(Deserialize)]
struct RawAtlas {
    #[serde(default)]
    frames: HashMap<String, RawFrame>,
    #[serde(default)]
    meta: RawMeta,
}

#[derive(Deserialize)]
struct RawFrame {
    frame: RawRect,
    #[serde(default = "default_duration")]
    duration: u32,
}

fn default_duration() -> u32 {
    100
}

#[derive(Deserialize)]
struct RawRect {
    x: u32,
    y: u32,
}

#[derive(Deserialize, Default)]
struct RawMeta {
    #[serde(default, rename = "frameTags")]
    frame_tags: Vec<RawTag>,
}

#[derive(Deserialize)]
struct RawTag {
    name: String,
    from: usize,
    to: usize,
    #[serde(default)]
    direction: Option<String>,
}

impl SheetAtlas {
    /// Parses the json-hash atlas. Aseprite numbers frames in its own order (the json keys
    /// end in the frame number); each frame's rectangle gives its grid index, so tags are
    /// re-expressed as grid indices. Errors name what is wrong.
    pub fn parse(json: &str, grid: &Grid) -> Result<SheetAtlas, String> {
        let raw: RawAtlas =
            serde_json::from_str(json).map_err(|e| format!("atlas is not json-hash: {e}"))?;
        // Aseprite frame number → grid index, from the frame rectangles.
        let mut by_number: Vec<(usize, usize, u32)> = Vec::with_capacity(raw.frames.len());
        for (key, frame) in &raw.frames {
            let number = key
                .trim_end_matches(".aseprite")
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| format!("atlas frame key {key:?} does not end in a frame number"))?;
            let index = grid_index(grid, frame.frame.x, frame.frame.y).ok_or_else(|| {
                format!(
                    "atlas frame {key:?} at ({}, {}) is not on the sheet's grid",
                    frame.frame.x, frame.frame.y
                )
            })?;
            by_number.push((number, index, frame.duration));
        }
        by_number.sort_unstable();
        let frames = grid.frames() as usize;
        let mut durations_ms = vec![100; frames];
        for (_, index, duration) in &by_number {
            durations_ms[*index] = *duration;
        }
        let to_grid = |n: usize| -> Result<usize, String> {
            if by_number.is_empty() {
                // No frame list: Aseprite numbers equal grid indices.
                return (n < frames).then_some(n).ok_or_else(|| {
                    format!("atlas tag frame {n} is past the sheet's {frames} frames")
                });
            }
            by_number
                .iter()
                .find(|(number, ..)| *number == n)
                .map(|(_, index, _)| *index)
                .ok_or_else(|| format!("atlas tag names frame {n}, which the atlas does not list"))
        };
        let mut tags = Vec::with_capacity(raw.meta.frame_tags.len());
        for tag in raw.meta.frame_tags {
            let (from, to) = (to_grid(tag.from)?, to_grid(tag.to)?);
            if from > to {
                return Err(format!(
                    "atlas tag {:?} runs backwards on the grid ({from} > {to})",
                    tag.name
                ));
            }
            let direction = parse_direction(&tag.name, tag.direction.as_deref())?;
            tags.push(FrameTag {
                name: tag.name,
                frames: from..=to,
                direction,
            });
        }
        Ok(SheetAtlas { tags, durations_ms })
    }

    pub fn tag(&self, name: &str) -> Option<&FrameTag> {
        self.tags.iter().find(|t| t.name == name)
    }
}

fn parse_direction(tag: &str, direction: Option<&str>) -> Result<TagDirection, String> {
    match direction {
        None | Some("forward") => Ok(TagDirection::Forward),
        Some("reverse") => Ok(TagDirection::Reverse),
        Some("pingpong") => Ok(TagDirection::PingPong),
        Some(other) => Err(format!(
            "atlas tag {tag:?} has direction {other:?}; expected forward, reverse or pingpong"
        )),
    }
}

/// Row-major grid index of the frame whose top-left corner is at (x, y).
fn grid_index(grid: &Grid, x: u32, y: u32) -> Option<usize> {
    let [pad_x, pad_y] = grid.padding.unwrap_or([0, 0]);
    let [off_x, off_y] = grid.offset.unwrap_or([0, 0]);
    let (step_x, step_y) = (grid.frame_width + pad_x, grid.frame_height + pad_y);
    let (dx, dy) = (x.checked_sub(off_x)?, y.checked_sub(off_y)?);
    if step_x == 0 || step_y == 0 || dx % step_x != 0 || dy % step_y != 0 {
        return None;
    }
    let (col, row) = (dx / step_x, dy / step_y);
    (col < grid.columns && row < grid.rows).then_some((row * grid.columns + col) as usize)
}

/// Steps an animation through a tag: the frame to show after `elapsed_ms` since it started.
pub fn tag_frame(atlas: &SheetAtlas, tag: &FrameTag, elapsed_ms: u64) -> usize {
    let frames: Vec<usize> = match tag.direction {
        TagDirection::Forward => tag.frames.clone().collect(),
        TagDirection::Reverse => tag.frames.clone().rev().collect(),
        TagDirection::PingPong => {
            let up: Vec<usize> = tag.frames.clone().collect();
            let down = up.iter().rev().skip(1).take(up.len().saturating_sub(2));
            up.iter().chain(down).copied().collect()
        }
    };
    let duration = |i: usize| u64::from(*atlas.durations_ms.get(i).unwrap_or(&100)).max(1);
    let cycle: u64 = frames.iter().map(|&i| duration(i)).sum();
    let mut t = elapsed_ms % cycle.max(1);
    for &i in &frames {
        if t < duration(i) {
            return i;
        }
        t -= duration(i);
    }
    *tag.frames.start()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid {
            columns: 4,
            rows: 2,
            frame_width: 16,
            frame_height: 16,
            padding: None,
            offset: None,
        }
    }

    const ATLAS: &str = r#"{
      "frames": {
        "hero 0.aseprite": {"frame": {"x": 0, "y": 0, "w": 16, "h": 16}, "duration": 100},
        "hero 1.aseprite": {"frame": {"x": 16, "y": 0, "w": 16, "h": 16}, "duration": 100},
        "hero 2.aseprite": {"frame": {"x": 32, "y": 0, "w": 16, "h": 16}, "duration": 150},
        "hero 3.aseprite": {"frame": {"x": 48, "y": 0, "w": 16, "h": 16}, "duration": 150},
        "hero 4.aseprite": {"frame": {"x": 0, "y": 16, "w": 16, "h": 16}, "duration": 100},
        "hero 5.aseprite": {"frame": {"x": 16, "y": 16, "w": 16, "h": 16}, "duration": 100}
      },
      "meta": {"frameTags": [
        {"name": "south", "from": 0, "to": 0, "direction": "forward"},
        {"name": "south_walk", "from": 1, "to": 3, "direction": "forward"},
        {"name": "east_walk", "from": 4, "to": 5, "direction": "pingpong"}
      ]}
    }"#;

    #[test]
    fn tags_map_to_grid_indices_with_durations() {
        let atlas = SheetAtlas::parse(ATLAS, &grid()).unwrap();
        assert_eq!(atlas.tag("south_walk").unwrap().frames, 1..=3);
        assert_eq!(atlas.tag("east_walk").unwrap().frames, 4..=5);
        assert_eq!(atlas.durations_ms[2], 150);
        assert!(atlas.tag("north").is_none());
    }

    #[test]
    fn a_walk_cycles_through_its_frames_by_duration() {
        let atlas = SheetAtlas::parse(ATLAS, &grid()).unwrap();
        let walk = atlas.tag("south_walk").unwrap();
        let at = |ms| tag_frame(&atlas, walk, ms);
        assert_eq!((at(0), at(99), at(100), at(249), at(250)), (1, 1, 2, 2, 3));
        assert_eq!(at(400), 1, "wraps after 100 + 150 + 150 ms");
    }

    #[test]
    fn bad_atlases_say_what_is_wrong() {
        let off_grid = ATLAS.replace(r#""x": 16, "y": 16"#, r#""x": 17, "y": 16"#);
        let err = SheetAtlas::parse(&off_grid, &grid()).unwrap_err();
        assert!(err.contains("not on the sheet's grid"), "{err}");
        let err = SheetAtlas::parse(r#"{"frames": 3}"#, &grid()).unwrap_err();
        assert!(err.contains("json-hash"), "{err}");
        let past = r#"{"frames": {}, "meta": {"frameTags": [{"name": "a", "from": 0, "to": 9}]}}"#;
        let err = SheetAtlas::parse(past, &grid()).unwrap_err();
        assert!(err.contains("past the sheet's 8 frames"), "{err}");
    }
}
