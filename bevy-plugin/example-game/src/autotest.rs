//! The game's self-test (`GAME_TEST_OUT=DIR`), run by `npm run test:game` under Xvfb on Mesa's
//! software Vulkan. It plays the game as a user would and checks what is on screen:
//!
//! 1. generates `hero` through `SpriteGen` (the daemon the plugin started), waits until the
//!    rendered frame shows it → `before.png`;
//! 2. generates a new `hero` revision, waits for the reload → `after.png` and `deployed.png`
//!    (the deployed file), asserting the deployed pixels are on screen at integer scale;
//! 3. uses the editor panel with injected window input (click the prompt, type, click
//!    Generate) → `editor.png` while the job runs, then waits for its sprite;
//! 4. edits `hero` through the editor (Edit…, a drag over its top half, a prompt, Apply edit)
//!    → `edit.png`, and checks that no pixel outside the dragged region changed;
//! 5. measures deploy → first rendered frame showing the new pixels, for `deploy_to_bevy`
//!    through the daemon and for Bevy's own reload of an overwritten file (the baseline);
//! 6. generates the `walker` character set, presses → (an injected key) and checks the walker
//!    plays `east_walk`, then stands facing east when the key is released;
//! 7. writes `report.json` and keeps running (for BRP checks) until it is told to exit.
//!
//! Every wait has a deadline; a failure writes `report.json` with the reason and exits 1.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::input::mouse::MouseButtonInput;
use bevy::input::ButtonState;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::{CursorMoved, PrimaryWindow, WindowEvent};
use dgx_pixels_bevy::prelude::*;
use dgx_pixels_bevy::sprite_core::RequestOptions;
use dgx_pixels_bevy::{GeneratedSprites, JobState, SpriteGenEditorLayout, SpriteGenService};
use serde_json::json;

use crate::screen::{match_share, Placement, Rgba, SHOWN};
use crate::{placement_of, CLEAR};

/// Where the self-test writes, and the inputs the driver prepared.
#[derive(Resource, Clone)]
pub struct Autotest {
    pub out: PathBuf,
    pub inputs: PathBuf,
    pub assets: PathBuf,
    pub samples: usize,
}

impl Autotest {
    pub fn from_env(assets: &Path) -> Option<Autotest> {
        let out = PathBuf::from(std::env::var_os("GAME_TEST_OUT")?);
        let inputs = std::env::var_os("GAME_TEST_INPUTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| out.join("inputs"));
        let samples = std::env::var("GAME_TEST_SAMPLES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20);
        Some(Autotest {
            out,
            inputs,
            assets: assets.to_owned(),
            samples,
        })
    }
}

pub struct AutotestPlugin(pub Autotest);

impl Plugin for AutotestPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.0.clone())
            .init_resource::<Frames>()
            .init_resource::<Shots>()
            .init_resource::<Scenario>()
            .add_systems(First, count_frame)
            .add_systems(Update, run_scenario);
    }
}

/// This frame's number and when it started.
#[derive(Resource, Default)]
struct Frames {
    n: u64,
    started: HashMap<u64, SystemTime>,
}

fn count_frame(mut frames: ResMut<Frames>) {
    frames.n += 1;
    let n = frames.n;
    frames.started.insert(n, SystemTime::now());
    frames.started.retain(|k, _| *k + 600 > n);
}

/// Captured frames, by the frame number they were requested in.
#[derive(Resource, Default, Clone)]
struct Shots(Arc<Mutex<HashMap<u64, (Rgba, SystemTime)>>>);

/// Captures the next rendered frame into `shots` under `key` (the frame number it was asked
/// in), and into the PNG `save_to` when given.
fn request_shot(commands: &mut Commands, shots: &Shots, key: u64, save_to: Option<PathBuf>) {
    let store = shots.0.clone();
    commands.spawn(Screenshot::primary_window()).observe(
        move |captured: On<ScreenshotCaptured>| {
            let rgba = match captured.image.clone().try_into_dynamic() {
                Ok(img) => {
                    let img = img.to_rgba8();
                    Rgba {
                        width: img.width(),
                        height: img.height(),
                        data: img.into_raw(),
                    }
                }
                Err(e) => {
                    error!("screenshot {key} unreadable: {e}");
                    return;
                }
            };
            if let Some(path) = &save_to {
                if let Err(e) = write_png(path, &rgba) {
                    error!("{e}");
                }
            }
            store.lock().unwrap().insert(key, (rgba, SystemTime::now()));
        },
    );
}

fn write_png(path: &Path, image: &Rgba) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&image.data)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

/// One latency sample: frames and milliseconds from the write to the first frame showing it.
#[derive(Clone, Debug, serde::Serialize)]
struct Sample {
    /// Frames from the frame in which the change became visible to the game (the plugin's
    /// manifest event; for the baseline, the file write) to the first frame that shows it.
    frames: u64,
    /// Milliseconds from the write (manifest rename / file write) to that frame's capture.
    ms: f64,
}

#[derive(Default)]
enum Step {
    #[default]
    WaitReady,
    FirstHero {
        job: Option<JobId>,
    },
    NewHero {
        job: Option<JobId>,
        manifest_frame: Option<u64>,
    },
    Editor {
        stage: u32,
        at_frame: u64,
    },
    EditorJob,
    /// Edit `hero` through the editor: its gallery "Edit…" button, a drag over the top of the
    /// picture, a prompt, "Apply edit"; then the new revision must keep every pixel outside
    /// the dragged region.
    Edit {
        stage: u32,
        at_frame: u64,
        before: Option<Rgba>,
    },
    Measure {
        i: usize,
        phase: Phase,
    },
    Character {
        job: Option<JobId>,
        stage: u32,
        at_frame: u64,
    },
    Done,
}

#[derive(Clone, Debug)]
enum Phase {
    /// Ask the daemon to deploy variant i as `probe` (`before`: the probe's hash then); wait
    /// for the manifest event.
    Deploy { before: Option<String> },
    /// Screenshot every frame until the probe shows variant i.
    WaitProbe {
        manifest_frame: u64,
        written: SystemTime,
    },
    /// Overwrite `baseline.png` with variant i; Bevy's file watcher reloads it.
    Overwrite,
    WaitBaseline {
        write_frame: u64,
        written: SystemTime,
    },
}

#[derive(Resource, Default)]
struct Scenario {
    step: Step,
    deadline: Option<Instant>,
    ours: Vec<Sample>,
    baseline: Vec<Sample>,
    ours_after_event: Vec<u64>,
    hero_frames: Option<u64>,
    editor_prompt: String,
    deploy_result: Arc<Mutex<Option<Result<SystemTime, String>>>>,
    character_tags: Vec<String>,
    walk_frames: std::collections::BTreeSet<usize>,
    /// The edit: its mask (x, y, w, h) and how many pixels changed inside / outside it.
    edit: Option<serde_json::Value>,
    notes: Vec<String>,
}

const EDITOR_PROMPT: &str = "a red potion bottle";
const EDIT_PROMPT: &str = "a golden helmet";
/// The region the self-test drags over the hero (32×32): its top half, x, y, w, h.
const EDIT_MASK: (u32, u32, u32, u32) = (0, 0, 32, 16);

fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
    v[rank.min(v.len() - 1)]
}

fn summary(samples: &[Sample]) -> serde_json::Value {
    let frames: Vec<f64> = samples.iter().map(|s| s.frames as f64).collect();
    let ms: Vec<f64> = samples.iter().map(|s| s.ms).collect();
    json!({
        "n": samples.len(),
        "frames_p50": percentile(&frames, 50.0),
        "frames_p99": percentile(&frames, 99.0),
        "ms_p50": percentile(&ms, 50.0),
        "ms_p99": percentile(&ms, 99.0),
        "samples": samples,
    })
}

fn finish(
    test: &Autotest,
    scenario: &Scenario,
    failure: Option<String>,
    exit: &mut MessageWriter<AppExit>,
) {
    let report = json!({
        "passed": failure.is_none(),
        "failure": failure,
        "hero_frames_after_manifest_event": scenario.hero_frames,
        "editor_prompt": scenario.editor_prompt,
        "character_tags": scenario.character_tags,
        "walk_frames_seen": scenario.walk_frames,
        "edit": scenario.edit,
        "latency": {
            "deploy_to_bevy": summary(&scenario.ours),
            "deploy_frames_after_manifest_event": scenario.ours_after_event,
            "bevy_file_watcher_baseline": summary(&scenario.baseline),
        },
        "placements": {
            "hero": placement_of(crate::HERO_AT, 32),
            "probe": placement_of(crate::PROBE_AT, 16),
            "baseline": placement_of(crate::BASELINE_AT, 16),
        },
        "notes": scenario.notes,
    });
    let path = test.out.join("report.json");
    let tmp = test.out.join("report.json.tmp");
    let written = std::fs::write(&tmp, serde_json::to_vec_pretty(&report).unwrap())
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        error!("cannot write {}: {e}", path.display());
    }
    if let Some(reason) = failure {
        error!("self-test FAILED: {reason}");
        exit.write(AppExit::error());
    } else {
        info!("self-test passed; report in {}", path.display());
    }
}

/// The current image of a deployed sprite, as RGBA8, once Bevy has it.
fn sprite_pixels(name: &str, sprites: &GeneratedSprites, images: &Assets<Image>) -> Option<Rgba> {
    let loaded = sprites.loaded.get(name)?;
    let image = images.get(loaded.image.id())?;
    let size = image.size();
    Some(Rgba {
        width: size.x,
        height: size.y,
        data: image.data.clone()?,
    })
}

fn shows(shot: &Rgba, sprite: &Rgba, at: Placement) -> bool {
    match_share(shot, sprite, at, CLEAR, 3) >= SHOWN
}

/// What a scenario step may touch.
#[derive(bevy::ecs::system::SystemParam)]
struct Ctx<'w, 's> {
    commands: Commands<'w, 's>,
    test: Res<'w, Autotest>,
    frames: Res<'w, Frames>,
    shots: Res<'w, Shots>,
    sprite_gen: SpriteGen<'w>,
    sprites: Res<'w, GeneratedSprites>,
    images: Res<'w, Assets<Image>>,
    service: Res<'w, SpriteGenService>,
    layout: Option<Res<'w, SpriteGenEditorLayout>>,
    window: Query<'w, 's, Entity, With<PrimaryWindow>>,
    walker: Query<'w, 's, (&'static PlayTag, &'static GeneratedSprite), With<crate::Walker>>,
    window_events: MessageWriter<'w, WindowEvent>,
    keys: MessageWriter<'w, KeyboardInput>,
}

impl Ctx<'_, '_> {
    fn shot(&mut self) {
        request_shot(&mut self.commands, &self.shots, self.frames.n, None);
    }

    fn clear_shots(&self) {
        self.shots.0.lock().unwrap().clear();
    }

    /// The first captured frame showing `sprite` at `at`, with its capture time and pixels.
    fn first_showing(&self, sprite: &Rgba, at: Placement) -> Option<(u64, SystemTime, Rgba)> {
        self.shots
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, (s, _))| shows(s, sprite, at))
            .min_by_key(|(f, _)| **f)
            .map(|(f, (s, t))| (*f, *t, s.clone()))
    }

    fn pixels(&self, name: &str) -> Option<Rgba> {
        sprite_pixels(name, &self.sprites, &self.images)
    }
}

fn run_scenario(mut scenario: ResMut<Scenario>, mut ctx: Ctx, mut exit: MessageWriter<AppExit>) {
    let now = Instant::now();
    if matches!(scenario.step, Step::Done) {
        return;
    }
    let deadline = *scenario
        .deadline
        .get_or_insert(now + Duration::from_secs(120));
    if now > deadline {
        let reason = format!("timed out in step {}", step_name(&scenario.step));
        scenario.step = Step::Done;
        finish(&ctx.test, &scenario, Some(reason), &mut exit);
        return;
    }
    let step = std::mem::take(&mut scenario.step);
    let moved = std::mem::discriminant(&step);
    match advance(step, &mut scenario, &mut ctx) {
        Ok(Step::Done) => {
            scenario.step = Step::Done;
            finish(&ctx.test, &scenario, None, &mut exit);
        }
        Ok(next) => {
            if std::mem::discriminant(&next) != moved {
                scenario.deadline = Some(now + Duration::from_secs(120));
            }
            scenario.step = next;
        }
        Err(reason) => {
            scenario.step = Step::Done;
            finish(&ctx.test, &scenario, Some(reason), &mut exit);
        }
    }
}

/// One frame of the scenario: the step to be in next frame, or why the test failed.
fn advance(step: Step, scenario: &mut Scenario, ctx: &mut Ctx) -> Result<Step, String> {
    let frame = ctx.frames.n;
    let hero_at = placement_of(crate::HERO_AT, 32);
    match step {
        Step::WaitReady => Ok(if ctx.sprite_gen.status().is_ready() {
            Step::FirstHero { job: None }
        } else {
            Step::WaitReady
        }),
        Step::FirstHero { job: None } => Ok(Step::FirstHero {
            job: Some(
                ctx.sprite_gen.generate(
                    GenerateRequest::sprite("hero", "a knight with a red tabard, side view")
                        .size(32, 32)
                        .seed(11),
                ),
            ),
        }),
        Step::FirstHero { job: Some(job) } => {
            if let Some(err) = job_error(&ctx.sprite_gen, job) {
                return Err(format!("hero revision 1: {err}"));
            }
            let Some(hero) = ctx.pixels("hero") else {
                return Ok(Step::FirstHero { job: Some(job) });
            };
            ctx.shot();
            let Some((_, _, shot)) = ctx.first_showing(&hero, hero_at) else {
                return Ok(Step::FirstHero { job: Some(job) });
            };
            write_png(&ctx.test.out.join("before.png"), &shot)?;
            ctx.clear_shots();
            Ok(Step::NewHero {
                job: None,
                manifest_frame: None,
            })
        }
        Step::NewHero { job: None, .. } => Ok(Step::NewHero {
            job: Some(
                ctx.sprite_gen.generate(
                    GenerateRequest::sprite("hero", "a knight with a blue tabard, side view")
                        .size(32, 32)
                        .seed(12),
                ),
            ),
            manifest_frame: None,
        }),
        Step::NewHero {
            job: Some(job),
            manifest_frame,
        } => {
            if let Some(err) = job_error(&ctx.sprite_gen, job) {
                return Err(format!("hero revision 2: {err}"));
            }
            let manifest_frame = manifest_frame.or_else(|| {
                (ctx.sprite_gen.entry("hero").and_then(|e| e.revision) == Some(2)).then_some(frame)
            });
            let wait = Step::NewHero {
                job: Some(job),
                manifest_frame,
            };
            let Some(event_frame) = manifest_frame else {
                return Ok(wait);
            };
            ctx.shot();
            let swapped = ctx.sprites.loaded.get("hero").and_then(|l| l.revision) == Some(2);
            let Some(hero) = ctx.pixels("hero").filter(|_| swapped) else {
                return Ok(wait);
            };
            let Some((shown_frame, _, shot)) = ctx.first_showing(&hero, hero_at) else {
                return Ok(wait);
            };
            let deployed = ctx.test.assets.join("sprites/hero.png");
            write_png(&ctx.test.out.join("after.png"), &shot)?;
            std::fs::copy(&deployed, ctx.test.out.join("deployed.png"))
                .map_err(|e| format!("{}: {e}", deployed.display()))?;
            // The file on disk is what the game shows.
            let file = std::fs::read(&deployed)
                .map_err(|e| format!("{}: {e}", deployed.display()))
                .and_then(|b| Rgba::from_png(&b))?;
            if !shows(&shot, &file, hero_at) {
                return Err("after.png does not show the deployed hero.png at 4× scale".into());
            }
            scenario.hero_frames = Some(shown_frame.saturating_sub(event_frame));
            ctx.clear_shots();
            Ok(Step::Editor {
                stage: 0,
                at_frame: frame,
            })
        }
        Step::Editor { stage, at_frame } => editor_input(stage, at_frame, scenario, ctx),
        Step::EditorJob => {
            let Some(job) = ctx
                .sprite_gen
                .jobs()
                .into_iter()
                .find(|j| j.name == "new_sprite")
            else {
                return Ok(Step::EditorJob);
            };
            if job.state == JobState::Failed {
                return Err(format!("editor job failed: {:?}", job.error));
            }
            let screenshot_taken = ctx.shots.0.lock().unwrap().contains_key(&0);
            if screenshot_taken && ctx.sprites.loaded.contains_key("new_sprite") {
                ctx.clear_shots();
                return Ok(Step::Edit {
                    stage: 0,
                    at_frame: frame,
                    before: None,
                });
            }
            Ok(Step::EditorJob)
        }
        Step::Edit {
            stage,
            at_frame,
            before,
        } => edit_input(stage, at_frame, before, scenario, ctx),
        Step::Measure { i, .. } if i >= ctx.test.samples => Ok(Step::Character {
            job: None,
            stage: 0,
            at_frame: frame,
        }),
        Step::Character {
            job,
            stage,
            at_frame,
        } => character(job, stage, at_frame, scenario, ctx),
        Step::Measure { i, phase } => measure(i, phase, scenario, ctx),
        Step::Done => Ok(Step::Done),
    }
}

/// Drives the editor panel with window input, one input every 3 frames: move to the prompt,
/// click, type, move to Generate, click; then waits for the job's progress and screenshots.
fn editor_input(
    stage: u32,
    at_frame: u64,
    scenario: &mut Scenario,
    ctx: &mut Ctx,
) -> Result<Step, String> {
    let frame = ctx.frames.n;
    let wait = Step::Editor { stage, at_frame };
    if frame < at_frame + 3 {
        return Ok(wait);
    }
    let window = ctx.window.single().map_err(|e| format!("no window: {e}"))?;
    let layout = ctx
        .layout
        .as_ref()
        .ok_or("no editor panel (SpriteGenEditorPlugin missing)")?;
    let (Some(prompt), Some(generate)) = (layout.prompt, layout.generate) else {
        return Ok(wait);
    };
    // A click: hover first, then press and release in one frame (egui counts a press longer
    // than 0.8 s as no click, and a loaded machine renders a frame in about that long), each
    // where the widget is now (the panel grows as jobs and sprites come in).
    let mut click = |target: Rect, step: u32| {
        for e in click_events(window, target, step) {
            ctx.window_events.write(e);
        }
    };
    match stage {
        0..=2 => click(prompt, stage),
        3 => type_text(&mut ctx.keys, window, EDITOR_PROMPT),
        4..=6 => click(generate, stage - 4),
        _ => {
            // Progress on screen: the job the click made is running and has progress.
            let Some(job) = ctx
                .sprite_gen
                .jobs()
                .into_iter()
                .find(|j| j.name == "new_sprite")
            else {
                if stage > 60 {
                    return Err("clicking Generate started no job".into());
                }
                return Ok(Step::Editor {
                    stage: stage + 1,
                    at_frame: frame,
                });
            };
            scenario.editor_prompt = job.prompt.clone();
            if job.prompt.trim() != EDITOR_PROMPT {
                return Err(format!(
                    "the editor sent prompt {:?}, typed {EDITOR_PROMPT:?}",
                    job.prompt
                ));
            }
            if !job.state.is_active() {
                return Err(format!(
                    "the editor's job ended before its progress was on screen: {:?} {:?}",
                    job.state, job.error
                ));
            }
            if job.progress.unwrap_or(0.0) <= 0.05 {
                return Ok(wait);
            }
            // Key 0 marks "editor screenshot written".
            let path = ctx.test.out.join("editor.png");
            request_shot(&mut ctx.commands, &ctx.shots, 0, Some(path));
            return Ok(Step::EditorJob);
        }
    }
    Ok(Step::Editor {
        stage: stage + 1,
        at_frame: frame,
    })
}

/// Step `step` (0, 1, 2) of a click on `target`: hover; hover, press and release in the same
/// frame; hover. egui takes a press held longer than 0.8 s for no click, and on a loaded
/// machine one software-rendered frame can take that long.
fn click_events(window: Entity, target: Rect, step: u32) -> Vec<WindowEvent> {
    let mut events = vec![WindowEvent::CursorMoved(CursorMoved {
        window,
        position: target.center(),
        delta: None,
    })];
    if step == 1 {
        for state in [ButtonState::Pressed, ButtonState::Released] {
            events.push(WindowEvent::MouseButtonInput(MouseButtonInput {
                button: MouseButton::Left,
                state,
                window,
            }));
        }
    }
    events
}

/// Types `text` into the focused widget, one key event a character.
fn type_text(keys: &mut MessageWriter<KeyboardInput>, window: Entity, text: &str) {
    for c in text.chars() {
        let text = c.to_string();
        let logical_key = if c == ' ' {
            Key::Space
        } else {
            Key::Character(text.as_str().into())
        };
        keys.write(KeyboardInput {
            key_code: KeyCode::Unidentified(bevy::input::keyboard::NativeKeyCode::Unidentified),
            logical_key,
            state: ButtonState::Pressed,
            text: Some(text.as_str().into()),
            repeat: false,
            window,
        });
    }
}

/// Drives the edit, one input every 3 frames: click hero's "Edit…", press on the picture's
/// first pixel of the region, drag to its last, release, click the prompt, type, click "Apply
/// edit"; then waits for revision 3 and compares it with the picture before, pixel by pixel.
fn edit_input(
    stage: u32,
    at_frame: u64,
    before: Option<Rgba>,
    scenario: &mut Scenario,
    ctx: &mut Ctx,
) -> Result<Step, String> {
    let frame = ctx.frames.n;
    let Some(before) = before.or_else(|| ctx.pixels("hero")) else {
        return Err("the hero is not loaded before the edit".into());
    };
    let revision = |ctx: &Ctx| ctx.sprites.loaded.get("hero").and_then(|l| l.revision);
    let before_revision = 2;
    if stage >= 16 {
        if let Some(job) = ctx
            .sprite_gen
            .jobs()
            .into_iter()
            .rev()
            .find(|j| j.name == "hero")
        {
            if job.state == JobState::Failed {
                return Err(format!("the edit failed: {:?}", job.error));
            }
        }
        if revision(ctx) != Some(before_revision + 1) {
            return Ok(Step::Edit {
                stage,
                at_frame,
                before: Some(before),
            });
        }
        let after = ctx.pixels("hero").ok_or("the edited hero has no pixels")?;
        if (after.width, after.height) != (before.width, before.height) {
            return Err(format!(
                "the edit changed the hero's size: {}×{} → {}×{}",
                before.width, before.height, after.width, after.height
            ));
        }
        let (mx, my, mw, mh) = EDIT_MASK;
        let (mut inside, mut outside) = (0u32, 0u32);
        for y in 0..after.height {
            for x in 0..after.width {
                let i = ((y * after.width + x) * 4) as usize;
                if before.data[i..i + 4] != after.data[i..i + 4] {
                    if x >= mx && x < mx + mw && y >= my && y < my + mh {
                        inside += 1;
                    } else {
                        outside += 1;
                    }
                }
            }
        }
        scenario.edit = Some(json!({
            "mask": [mx, my, mw, mh],
            "changed_inside": inside,
            "changed_outside": outside,
        }));
        if outside > 0 || inside == 0 {
            return Err(format!(
                "the edit changed {outside} pixels outside the dragged region and {inside} inside (want 0 and > 0)"
            ));
        }
        return Ok(Step::Measure {
            i: 0,
            phase: Phase::Deploy { before: None },
        });
    }
    let wait = Step::Edit {
        stage,
        at_frame,
        before: Some(before.clone()),
    };
    if frame < at_frame + 3 {
        return Ok(wait);
    }
    let window = ctx.window.single().map_err(|e| format!("no window: {e}"))?;
    let layout = ctx
        .layout
        .as_deref()
        .cloned()
        .ok_or("no editor panel (SpriteGenEditorPlugin missing)")?;
    let move_to = |to: Vec2| {
        WindowEvent::CursorMoved(CursorMoved {
            window,
            position: to,
            delta: None,
        })
    };
    let button = |state| {
        WindowEvent::MouseButtonInput(MouseButtonInput {
            button: MouseButton::Left,
            state,
            window,
        })
    };
    // the centre of sprite pixel (x, y) on the edit window's picture
    let on_picture = |picture: Rect, (x, y): (u32, u32)| {
        let zoom = picture.width() / before.width as f32;
        picture.min + Vec2::new((x as f32 + 0.5) * zoom, (y as f32 + 0.5) * zoom)
    };
    let (mx, my, mw, mh) = EDIT_MASK;
    let hero_button = layout
        .edit_buttons
        .iter()
        .find(|(name, _)| name == "hero")
        .map(|(_, rect)| *rect);
    let mut events = Vec::new();
    match (
        stage,
        hero_button,
        layout.edit_picture,
        layout.edit_prompt,
        layout.edit_apply,
    ) {
        (0..=2, Some(edit), ..) => events.extend(click_events(window, edit, stage)),
        (3, _, Some(picture), ..) => {
            events.push(move_to(on_picture(picture, (mx, my))));
            events.push(button(ButtonState::Pressed));
        }
        (4..=5, _, Some(picture), ..) => {
            let last = (mx + mw - 1, my + mh - 1);
            let halfway = (mx + mw / 2, my + mh / 2);
            events.push(move_to(on_picture(
                picture,
                if stage == 4 { halfway } else { last },
            )));
        }
        (6, _, Some(picture), ..) => {
            events.push(move_to(on_picture(picture, (mx + mw - 1, my + mh - 1))));
            events.push(button(ButtonState::Released));
        }
        (7..=9, _, _, Some(prompt), _) => events.extend(click_events(window, prompt, stage - 7)),
        (10, _, _, Some(_), _) => type_text(&mut ctx.keys, window, EDIT_PROMPT),
        (11..=12, _, _, _, Some(apply)) => {
            if stage == 11 {
                // the edit window with the dragged region and the typed prompt (key 1)
                let path = ctx.test.out.join("edit.png");
                request_shot(&mut ctx.commands, &ctx.shots, 1, Some(path));
            }
            events.extend(click_events(window, apply, stage - 11));
        }
        (13..=15, ..) => {} // Apply closed the window; the edit runs
        _ => {
            if frame > at_frame + 180 {
                return Err(format!(
                    "edit stage {stage}: the editor widget it needs is not on screen: {layout:?}"
                ));
            }
            return Ok(wait);
        }
    }
    for e in events {
        ctx.window_events.write(e);
    }
    Ok(Step::Edit {
        stage: stage + 1,
        at_frame: frame,
        before: Some(before),
    })
}

/// One latency sample pair: deploy variant `i` as `probe` through the daemon, wait until it is
/// on screen; then overwrite `baseline.png` with it, wait until Bevy's watcher shows it.
fn measure(i: usize, phase: Phase, scenario: &mut Scenario, ctx: &mut Ctx) -> Result<Step, String> {
    let frame = ctx.frames.n;
    let variant_path = ctx.test.inputs.join(format!("variant_{i}.png"));
    let variant = std::fs::read(&variant_path)
        .map_err(|e| format!("{}: {e}", variant_path.display()))
        .and_then(|b| Rgba::from_png(&b))?;
    let step = |phase| Ok(Step::Measure { i, phase });
    let probe_hash = || {
        ctx.sprite_gen
            .entry("probe")
            .and_then(|e| e.hash.clone())
            .unwrap_or_default()
    };
    match phase {
        Phase::Deploy { before: None } => {
            let Some(client) = ctx.service.0.client() else {
                return step(phase);
            };
            let result = scenario.deploy_result.clone();
            *result.lock().unwrap() = None;
            let assets = ctx.test.assets.clone();
            let manifest = assets.join("asset_manifest.json");
            std::thread::spawn(move || {
                let outcome = client
                    .call_tool(
                        "deploy_to_bevy",
                        json!({
                            "sprite_path": variant_path.to_string_lossy(),
                            "bevy_assets_dir": assets.to_string_lossy(),
                            "sprite_name": "probe",
                        }),
                        &RequestOptions::timeout(Duration::from_secs(30)),
                    )
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        std::fs::metadata(&manifest)
                            .and_then(|m| m.modified())
                            .map_err(|e| e.to_string())
                    });
                *result.lock().unwrap() = Some(outcome);
            });
            step(Phase::Deploy {
                before: Some(probe_hash()),
            })
        }
        Phase::Deploy {
            before: Some(before),
        } => {
            let outcome = scenario.deploy_result.lock().unwrap().clone();
            let written = match outcome {
                None => {
                    return step(Phase::Deploy {
                        before: Some(before),
                    })
                }
                Some(Err(e)) => return Err(format!("deploy_to_bevy: {e}")),
                Some(Ok(t)) => t,
            };
            // The frame in which the plugin saw the new manifest (it updates in PreUpdate).
            if probe_hash() == before {
                return step(Phase::Deploy {
                    before: Some(before),
                });
            }
            ctx.shot();
            step(Phase::WaitProbe {
                manifest_frame: frame,
                written,
            })
        }
        Phase::WaitProbe {
            manifest_frame,
            written,
        } => {
            ctx.shot();
            let Some((shown_frame, captured, _)) =
                ctx.first_showing(&variant, placement_of(crate::PROBE_AT, 16))
            else {
                return step(phase);
            };
            scenario
                .ours_after_event
                .push(shown_frame.saturating_sub(manifest_frame));
            let write_frame = frame_at(&ctx.frames, written).unwrap_or(manifest_frame);
            scenario.ours.push(Sample {
                frames: shown_frame.saturating_sub(write_frame),
                ms: ms_between(written, captured),
            });
            ctx.clear_shots();
            step(Phase::Overwrite)
        }
        Phase::Overwrite => {
            let target = ctx.test.assets.join(crate::BASELINE_FILE);
            std::fs::read(ctx.test.inputs.join(format!("variant_{i}.png")))
                .and_then(|b| std::fs::write(&target, b))
                .map_err(|e| format!("{}: {e}", target.display()))?;
            ctx.shot();
            step(Phase::WaitBaseline {
                write_frame: frame,
                written: SystemTime::now(),
            })
        }
        Phase::WaitBaseline {
            write_frame,
            written,
        } => {
            ctx.shot();
            let Some((shown_frame, captured, _)) =
                ctx.first_showing(&variant, placement_of(crate::BASELINE_AT, 16))
            else {
                return step(phase);
            };
            scenario.baseline.push(Sample {
                frames: shown_frame.saturating_sub(write_frame),
                ms: ms_between(written, captured),
            });
            ctx.clear_shots();
            Ok(Step::Measure {
                i: i + 1,
                phase: Phase::Deploy { before: None },
            })
        }
    }
}

/// Generates the walker's character set, then walks it east with an injected → key.
fn character(
    job: Option<JobId>,
    stage: u32,
    at_frame: u64,
    scenario: &mut Scenario,
    ctx: &mut Ctx,
) -> Result<Step, String> {
    let frame = ctx.frames.n;
    let Some(job) = job else {
        let job = ctx.sprite_gen.generate(
            GenerateRequest::character(crate::WALKER, "a knight in a red tabard", 4)
                .size(32, 32)
                .animation("walk", 4),
        );
        return Ok(Step::Character {
            job: Some(job),
            stage,
            at_frame: frame,
        });
    };
    if let Some(err) = job_error(&ctx.sprite_gen, job) {
        return Err(format!("generate_character: {err}"));
    }
    let wait = Step::Character {
        job: Some(job),
        stage,
        at_frame,
    };
    let tags: Vec<String> = ctx
        .sprite_gen
        .tags(crate::WALKER)
        .iter()
        .map(|t| t.name.clone())
        .collect();
    if tags.is_empty() || frame < at_frame + 3 {
        return Ok(wait);
    }
    let window = ctx.window.single().map_err(|e| format!("no window: {e}"))?;
    let key = |state| KeyboardInput {
        key_code: KeyCode::ArrowRight,
        logical_key: Key::ArrowRight,
        state,
        text: None,
        repeat: false,
        window,
    };
    let walker = ctx
        .walker
        .single()
        .map_err(|e| format!("no walker entity: {e}"))?;
    let (play, generated) = (walker.0.tag.clone(), walker.1.frame);
    let next = |stage| {
        Ok(Step::Character {
            job: Some(job),
            stage,
            at_frame: frame,
        })
    };
    match stage {
        0 => {
            for want in [
                "south",
                "east",
                "south_walk",
                "east_walk",
                "north_walk",
                "west_walk",
            ] {
                if !tags.iter().any(|t| t == want) {
                    return Err(format!("the walker's atlas has no tag {want}: {tags:?}"));
                }
            }
            scenario.character_tags = tags;
            ctx.keys.write(key(ButtonState::Pressed));
            next(1)
        }
        // Held for a while: the walker plays east_walk through its frames.
        1..=20 => {
            let range = ctx
                .sprite_gen
                .tag_frames(crate::WALKER, "east_walk")
                .ok_or("no east_walk frames")?;
            if play != "east_walk" || !range.contains(&generated) {
                return Err(format!(
                    "holding → shows tag {play} frame {generated}, expected east_walk {range:?}"
                ));
            }
            scenario.walk_frames.insert(generated);
            if stage == 20 {
                ctx.keys.write(key(ButtonState::Released));
            }
            next(stage + 1)
        }
        _ => {
            if scenario.walk_frames.len() < 2 {
                return Err(format!(
                    "east_walk never changed frame: {:?}",
                    scenario.walk_frames
                ));
            }
            if play != "east" {
                return Err(format!(
                    "after releasing →, the walker plays {play}, expected east"
                ));
            }
            Ok(Step::Done)
        }
    }
}

fn ms_between(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from).unwrap_or_default().as_secs_f64() * 1000.0
}

/// The first frame that started after `t`.
fn frame_at(frames: &Frames, t: SystemTime) -> Option<u64> {
    frames
        .started
        .iter()
        .filter(|(_, start)| **start >= t)
        .map(|(n, _)| *n)
        .min()
}

fn job_error(sprite_gen: &SpriteGen, job: JobId) -> Option<String> {
    let snapshot = sprite_gen.job(job)?;
    match snapshot.state {
        JobState::Failed => Some(snapshot.error.unwrap_or_else(|| "failed".into())),
        JobState::Cancelled => Some("cancelled".into()),
        _ => None,
    }
}

fn step_name(step: &Step) -> &'static str {
    match step {
        Step::WaitReady => "wait for the daemon",
        Step::FirstHero { .. } => "first hero on screen",
        Step::NewHero { .. } => "new hero revision on screen",
        Step::Editor { .. } => "editor input",
        Step::EditorJob => "editor job",
        Step::Edit { .. } => "edit the hero through the editor",
        Step::Measure { .. } => "latency measurement",
        Step::Character { .. } => "character set walking",
        Step::Done => "done",
    }
}
