//! A tiny game using the plugin, the editor panel and BRP.
//!
//! From bevy-plugin/: `cargo run -p dgx-pixels-example-game` with the daemon built
//! (`npm run build` at the repository root) and a worker reachable (e.g.
//! `node ../daemon/dist/cli.js worker` in another terminal). The game starts the daemon of
//! this repository unless `DGX_PIXELS_DAEMON` says otherwise. Sprites deploy into
//! bevy-plugin/example-game/assets/ (or `GAME_ASSETS_DIR`).
//!
//! BRP listens on 127.0.0.1:15702 (or `GAME_BRP_PORT`): `dgx_pixels/generate`,
//! `dgx_pixels/status`, `dgx_pixels/jobs` beside Bevy's own methods.
//!
//! With `GAME_TEST_OUT=DIR` the game runs its self-test (see `autotest.rs`).

mod autotest;
mod screen;

use std::path::PathBuf;
use std::time::Duration;

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy::remote::http::RemoteHttpPlugin;
use bevy::remote::RemotePlugin;
use bevy::window::{PresentMode, WindowResolution};
use dgx_pixels_bevy::prelude::*;
use dgx_pixels_bevy::DaemonConfig;

use crate::screen::Placement;

/// Window size in pixels (scale factor forced to 1, so logical = physical).
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 600;
/// Sprites are drawn at this integer scale with nearest sampling.
pub const SCALE: u32 = 4;
/// The background: pixel art on a flat colour, nothing post-processed.
pub const CLEAR: [u8; 3] = [24, 26, 33];
/// World positions (centre) of the sprites the game shows.
pub const HERO_AT: (i32, i32) = (200, 40);
pub const PROBE_AT: (i32, i32) = (136, -140);
pub const BASELINE_AT: (i32, i32) = (264, -140);
pub const WALKER_AT: (i32, i32) = (40, 60);
/// The character set the arrow keys walk around: 4 facings, a 4-frame walk.
pub const WALKER: &str = "walker";
/// A plain asset (not in the manifest) that Bevy's own file watcher reloads: the baseline.
pub const BASELINE_FILE: &str = "baseline.png";

/// Top-left screen pixel of a `size`-pixel square sprite centred at `at`, drawn at `SCALE`.
pub fn placement_of(at: (i32, i32), size: u32) -> Placement {
    let half = (size * SCALE / 2) as i32;
    Placement {
        x: (WIDTH as i32 / 2 + at.0 - half) as u32,
        y: (HEIGHT as i32 / 2 - at.1 - half) as u32,
        scale: SCALE,
    }
}

/// The sprites this game shows; the prompts are used only when a sprite is missing.
const WANTED: &[(&str, &str, u32)] = &[
    ("slime", "a green slime blob, pixel art, game sprite", 1),
    (
        "knight_walk",
        "a small knight walking, side view, pixel art",
        4,
    ),
];

fn main() -> AppExit {
    // `cargo run` sets CARGO_MANIFEST_DIR at run time too; the compiled-in value is the
    // fallback (it names the checkout that built the binary, which a shared target dir can
    // carry over to another checkout).
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let daemon = match std::env::var_os("DGX_PIXELS_DAEMON") {
        Some(_) => DaemonConfig::from_env(),
        None => DaemonConfig::node_package(manifest_dir.join("../..")),
    };
    let assets = std::env::var_os("GAME_ASSETS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir.join("assets"));
    let brp_port = std::env::var("GAME_BRP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(bevy::remote::http::DEFAULT_PORT);
    let autotest = autotest::Autotest::from_env(&assets);

    let mut app = App::new();
    app.insert_resource(ClearColor(Color::srgb_u8(CLEAR[0], CLEAR[1], CLEAR[2])))
        .add_plugins((
            DefaultPlugins
                .set(ImagePlugin::default_nearest())
                .set(AssetPlugin {
                    file_path: assets.to_string_lossy().into_owned(),
                    ..default()
                })
                .set(WindowPlugin {
                    primary_window: Some(Window {
                        title: "dgx-pixels example".into(),
                        resolution: WindowResolution::new(WIDTH, HEIGHT)
                            .with_scale_factor_override(1.0),
                        resizable: false,
                        present_mode: if autotest.is_some() {
                            PresentMode::AutoNoVsync
                        } else {
                            PresentMode::AutoVsync
                        },
                        ..default()
                    }),
                    ..default()
                }),
            SpriteGenPlugin {
                daemon,
                ..default()
            },
            SpriteGenEditorPlugin,
            RemotePlugin::default(),
            RemoteHttpPlugin::default().with_port(brp_port),
        ))
        .add_systems(Startup, setup)
        .add_systems(Update, (animate_sheets, walk_with_arrow_keys, log_jobs));
    match autotest {
        Some(test) => {
            if assets.join(BASELINE_FILE).exists() {
                app.add_systems(Startup, spawn_baseline);
            }
            app.add_plugins(autotest::AutotestPlugin(test));
        }
        None => {
            app.add_systems(Update, request_missing_sprites);
        }
    }
    app.run()
}

#[derive(Component)]
struct Animated(Timer);

fn at(pos: (i32, i32)) -> Transform {
    Transform::from_xyz(pos.0 as f32, pos.1 as f32, 0.0).with_scale(Vec3::splat(SCALE as f32))
}

fn setup(mut commands: Commands) {
    // Pixel art: no MSAA (tonemapping and deband dithering are already off for Camera2d).
    commands.spawn((Camera2d, Msaa::Off));
    commands.spawn((GeneratedSprite::new("hero"), at(HERO_AT)));
    commands.spawn((GeneratedSprite::new("probe"), at(PROBE_AT)));
    commands.spawn((
        GeneratedSprite::new(WALKER),
        PlayTag::new("south"),
        Walker,
        at(WALKER_AT),
    ));
    commands.spawn((GeneratedSprite::new("slime"), at((-40, 120))));
    commands.spawn((
        GeneratedSprite::new("knight_walk"),
        at((-40, -120)),
        Animated(Timer::new(Duration::from_millis(150), TimerMode::Repeating)),
    ));
}

fn spawn_baseline(mut commands: Commands, server: Res<AssetServer>) {
    commands.spawn((
        Sprite::from_image(server.load(BASELINE_FILE)),
        at(BASELINE_AT),
    ));
}

/// The character the arrow keys move.
#[derive(Component)]
pub struct Walker;

/// Arrow keys: face and walk that way (`east_walk` …); no key: stand still facing the same
/// way (`east`). The tags come from the character sheet's atlas.
pub fn walk_with_arrow_keys(
    keys: Res<ButtonInput<KeyCode>>,
    time: Res<Time>,
    mut walkers: Query<(&mut PlayTag, &mut Transform), With<Walker>>,
) {
    let pressed = [
        (KeyCode::ArrowDown, "south", Vec2::NEG_Y),
        (KeyCode::ArrowLeft, "west", Vec2::NEG_X),
        (KeyCode::ArrowRight, "east", Vec2::X),
        (KeyCode::ArrowUp, "north", Vec2::Y),
    ]
    .into_iter()
    .find(|(key, ..)| keys.pressed(*key));
    for (mut play, mut transform) in &mut walkers {
        let facing = play.tag.trim_end_matches("_walk").to_owned();
        match pressed {
            Some((_, toward, step)) => {
                play.set(&format!("{toward}_walk"));
                transform.translation += (step * 48.0 * time.delta_secs()).extend(0.0);
            }
            None => play.set(&facing),
        }
    }
}

/// Once the daemon is ready and the manifest has been read, ask for what is missing.
fn request_missing_sprites(sprite_gen: SpriteGen, mut asked: Local<bool>) {
    if *asked || !sprite_gen.status().is_ready() {
        return;
    }
    *asked = true;
    for (name, prompt, frames) in WANTED {
        if sprite_gen.entry(name).is_none() {
            let mut request = GenerateRequest::sprite(*name, *prompt).size(32, 32);
            if *frames > 1 {
                request = request.frames(*frames);
            }
            let job = sprite_gen.generate(request);
            info!("asked for {name}: {job}");
        }
    }
    if sprite_gen.entry(WALKER).is_none() {
        sprite_gen.generate(
            GenerateRequest::character(WALKER, "a knight in a red tabard", 4)
                .size(32, 32)
                .animation("walk", 4),
        );
    }
}

fn animate_sheets(
    time: Res<Time>,
    sprite_gen: SpriteGen,
    mut q: Query<(&mut GeneratedSprite, &mut Animated)>,
) {
    for (mut sprite, mut anim) in &mut q {
        if !anim.0.tick(time.delta()).just_finished() {
            continue;
        }
        let frames = sprite_gen
            .entry(&sprite.name)
            .and_then(|e| e.grid.as_ref())
            .map(|g| g.frames() as usize)
            .unwrap_or(1);
        sprite.frame = (sprite.frame + 1) % frames.max(1);
    }
}

fn log_jobs(
    mut finished: MessageReader<SpriteJobFinished>,
    mut failed: MessageReader<SpriteJobFailed>,
    mut changed: MessageReader<SpriteAssetChanged>,
) {
    for f in finished.read() {
        info!("{} finished: {:?}", f.name, f.path);
    }
    for f in failed.read() {
        warn!("{} failed: {}", f.job, f.error);
    }
    for c in changed.read() {
        info!("{} is now revision {:?}", c.name, c.revision);
    }
}
