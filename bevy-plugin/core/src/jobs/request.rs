//! What a game asks the daemon to generate, turned into `generate_sprite` (or
//! `generate_character`) arguments.

use serde_json::{json, Map, Value};

/// A `generate_sprite` request. Build with [`GenerateRequest::sprite`] and the setters; unset
/// fields use the daemon's defaults. `deploy` is on, so the sprite lands in the game's assets
/// folder and manifest under `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// Manifest name (e.g. `"slime"` or `"enemies/slime"`).
    pub name: String,
    pub prompt: String,
    pub style: Option<String>,
    /// Final sprite size in pixels (width, height).
    pub size: Option<(u32, u32)>,
    pub palette: Option<String>,
    /// Frames of an animation strip (≥ 2 makes a sheet).
    pub animation_frames: Option<u32>,
    pub remove_background: Option<bool>,
    pub outline: Option<bool>,
    pub seed: Option<u64>,
    pub negative_prompt: Option<String>,
    pub deploy: bool,
    /// The daemon tool that makes it: `generate_sprite`, or `generate_character` for
    /// [`GenerateRequest::character`].
    pub tool: &'static str,
    /// Any other tool argument (steps, cfg_scale, lora, tileset_grid, directions …).
    pub extra: Map<String, Value>,
}

impl GenerateRequest {
    /// A sprite named `name` from `prompt`, deployed into the game's assets.
    pub fn sprite(name: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            prompt: prompt.into(),
            style: None,
            size: None,
            palette: None,
            animation_frames: None,
            remove_background: None,
            outline: None,
            seed: None,
            negative_prompt: None,
            deploy: true,
            tool: "generate_sprite",
            extra: Map::new(),
        }
    }

    /// A character set named `name`: the figure in `directions` (4 or 8) facings, one sheet
    /// with an Aseprite atlas whose frame tags are `<facing>` (still) and `<facing>_<animation>`
    /// (`south_walk` …). Add animations with [`GenerateRequest::animation`].
    pub fn character(name: impl Into<String>, prompt: impl Into<String>, directions: u8) -> Self {
        let mut request = Self::sprite(name, prompt);
        request.tool = "generate_character";
        request.extra.insert("directions".into(), json!(directions));
        request
    }

    /// For a character: an animation of `frames` frames in every facing (`walk`, `idle` …).
    pub fn animation(mut self, name: impl Into<String>, frames: u32) -> Self {
        let entry = self
            .extra
            .entry("animations")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(json!({"name": name.into(), "frames": frames}));
        }
        self
    }

    pub fn style(mut self, style: impl Into<String>) -> Self {
        self.style = Some(style.into());
        self
    }
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some((width, height));
        self
    }
    pub fn palette(mut self, palette: impl Into<String>) -> Self {
        self.palette = Some(palette.into());
        self
    }
    pub fn frames(mut self, frames: u32) -> Self {
        self.animation_frames = Some(frames);
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    pub fn remove_background(mut self, on: bool) -> Self {
        self.remove_background = Some(on);
        self
    }
    pub fn outline(mut self, on: bool) -> Self {
        self.outline = Some(on);
        self
    }
    /// An edit of the deployed sprite `name` (`edit_sprite`): repaint what `prompt` says
    /// inside the mask (set it with [`GenerateRequest::mask`]; without one the whole sprite
    /// may change, by [`GenerateRequest::strength`]). Every pixel outside the mask stays the
    /// same, byte for byte; the result is a new revision of the same sprite, so the game
    /// hot-reloads it like any other.
    pub fn edit(name: impl Into<String>, prompt: impl Into<String>) -> Self {
        let mut request = Self::sprite(name, prompt);
        request.tool = "edit_sprite";
        request
    }

    /// For an edit: the rectangle to repaint, in sprite pixels.
    pub fn mask(mut self, x: u32, y: u32, width: u32, height: u32) -> Self {
        self.extra.insert(
            "mask".into(),
            json!({"x": x, "y": y, "width": width, "height": height}),
        );
        self
    }

    /// How much may change, 0..1 (an edit's repaint, or a generation from an init image).
    pub fn strength(mut self, strength: f64) -> Self {
        self.extra.insert("strength".into(), json!(strength));
        self
    }

    /// Deployed sprites (manifest names) or PNG paths the new sprite must match: the same
    /// character, palette and size (image-conditioned generation; the worker must support it).
    pub fn reference<I, S>(mut self, sprites: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<Value> = sprites.into_iter().map(|s| json!(s.into())).collect();
        self.extra.insert("reference".into(), Value::Array(list));
        self
    }

    /// Sets any other tool argument.
    pub fn arg(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }

    /// The `tools/call` arguments, with `wait_s` (how long the call may block before it
    /// answers `{status: "running", job_id}`).
    pub fn to_arguments(&self, wait_s: f64) -> Value {
        let mut args = self.extra.clone();
        args.insert("prompt".into(), json!(self.prompt));
        args.insert("name".into(), json!(self.name));
        args.insert("deploy".into(), json!(self.deploy));
        args.insert("wait_s".into(), json!(wait_s));
        let optional = [
            ("style", self.style.as_ref().map(|s| json!(s))),
            ("size", self.size.map(|(w, h)| json!([w, h]))),
            ("palette", self.palette.as_ref().map(|p| json!(p))),
            ("animation_frames", self.animation_frames.map(|f| json!(f))),
            (
                "remove_background",
                self.remove_background.map(|b| json!(b)),
            ),
            ("outline", self.outline.map(|b| json!(b))),
            ("seed", self.seed.map(|s| json!(s))),
            (
                "negative_prompt",
                self.negative_prompt.as_ref().map(|n| json!(n)),
            ),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                args.insert(key.into(), value);
            }
        }
        Value::Object(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_carry_only_what_was_set() {
        let req = GenerateRequest::sprite("slime", "green slime")
            .size(32, 32)
            .palette("pico8")
            .frames(4)
            .arg("steps", json!(8));
        assert_eq!(
            req.to_arguments(0.0),
            json!({"prompt": "green slime", "name": "slime", "deploy": true, "wait_s": 0.0,
                   "size": [32, 32], "palette": "pico8", "animation_frames": 4, "steps": 8})
        );
        assert_eq!(req.tool, "generate_sprite");
    }

    #[test]
    fn a_character_goes_to_generate_character_with_its_animations() {
        let req = GenerateRequest::character("hero", "a knight", 4)
            .size(32, 32)
            .animation("walk", 4)
            .animation("idle", 2);
        assert_eq!(req.tool, "generate_character");
        assert_eq!(
            req.to_arguments(0.0),
            json!({"prompt": "a knight", "name": "hero", "deploy": true, "wait_s": 0.0,
                   "size": [32, 32], "directions": 4,
                   "animations": [{"name": "walk", "frames": 4}, {"name": "idle", "frames": 2}]})
        );
    }

    #[test]
    fn an_edit_goes_to_edit_sprite_with_its_mask_and_strength() {
        let req = GenerateRequest::edit("potion", "a golden cork")
            .mask(4, 0, 8, 6)
            .strength(0.75)
            .seed(7);
        assert_eq!(req.tool, "edit_sprite");
        assert_eq!(
            req.to_arguments(0.0),
            json!({"prompt": "a golden cork", "name": "potion", "deploy": true, "wait_s": 0.0,
                   "mask": {"x": 4, "y": 0, "width": 8, "height": 6}, "strength": 0.75,
                   "seed": 7})
        );
    }

    #[test]
    fn a_reference_lists_the_sprites_to_match() {
        let req = GenerateRequest::sprite("hero_red", "the knight in red").reference(["hero"]);
        assert_eq!(req.to_arguments(0.0)["reference"], json!(["hero"]));
        assert_eq!(req.tool, "generate_sprite");
    }
}
