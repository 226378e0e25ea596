//! A tiny game using the plugin and the editor panel.
//!
//! From bevy-plugin/: `cargo run -p dgx-pixels-example-game` with the daemon built
//! (`npm run build` at the repository root) and a worker reachable (e.g.
//! `node ../daemon/dist/cli.js worker` in another terminal). The game starts the daemon of
//! this repository unless `DGX_PIXELS_DAEMON` says otherwise. Sprites deploy into
//! bevy-plugin/example-game/assets/.

use std::time::Duration;

use bevy::prelude::*;
use dgx_pixels_bevy::prelude::*;
use dgx_pixels_bevy::DaemonConfig;

/// The sprites this game shows; the prompts are used only when a sprite is missing.
const WANTED: &[(&str, &str, u32)] = &[
    ("slime", "a green slime blob, pixel art, game sprite", 1),
    (
        "knight_walk",
        "a small knight walking, side view, pixel art",
        4,
    ),
];

fn main() {
    let package = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let daemon = match std::env::var_os("DGX_PIXELS_DAEMON") {
        Some(_) => DaemonConfig::from_env(),
        None => DaemonConfig::node_package(package),
    };
    App::new()
        .add_plugins((
            DefaultPlugins.set(ImagePlugin::default_nearest()),
            SpriteGenPlugin {
                daemon,
                ..default()
            },
            SpriteGenEditorPlugin,
        ))
        .add_systems(Startup, setup)
        .add_systems(Update, (request_missing_sprites, animate_sheets, log_jobs))
        .run();
}

#[derive(Component)]
struct Animated(Timer);

fn setup(mut commands: Commands) {
    commands.spawn(Camera2d);
    for (i, (name, _, frames)) in WANTED.iter().enumerate() {
        let mut entity = commands.spawn((
            GeneratedSprite::new(*name),
            Transform::from_xyz(-120.0 + 240.0 * i as f32, 0.0, 0.0).with_scale(Vec3::splat(4.0)),
        ));
        if *frames > 1 {
            entity.insert(Animated(Timer::new(
                Duration::from_millis(150),
                TimerMode::Repeating,
            )));
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
