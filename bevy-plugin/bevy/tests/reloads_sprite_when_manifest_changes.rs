//! Headless App (MinimalPlugins + assets): a manifest written into the assets folder shows up
//! as `SpriteAssetChanged`, in `GeneratedSprites`, and on a `GeneratedSprite`'s `Sprite`; a
//! new revision at the same path keeps the same image handle. Needs crates.io (Bevy), so it
//! runs only where the adapter builds, not on the offline CI machine.

use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::image::ImagePlugin;
use bevy::prelude::*;
use dgx_pixels_bevy::{
    DaemonConfig, GeneratedSprite, GeneratedSprites, SpriteAssetChanged, SpriteGenPlugin,
};

#[derive(Resource, Default)]
struct Seen(Vec<(String, Option<u64>)>);

fn record(mut changed: MessageReader<SpriteAssetChanged>, mut seen: ResMut<Seen>) {
    seen.0
        .extend(changed.read().map(|c| (c.name.clone(), c.revision)));
}

fn write_manifest(assets: &std::path::Path, revision: u64) {
    let png = assets.join("sprites/slime.png");
    std::fs::create_dir_all(png.parent().unwrap()).unwrap();
    // 1×1 transparent PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    std::fs::write(&png, PNG).unwrap();
    let manifest = format!(
        r#"{{"version":1,"updated_at":"t","sprites":[{{"name":"slime","path":"sprites/slime.png","deployed_at":"t","kind":"sprite","width":1,"height":1,"hash":"{:064x}","revision":{revision}}}]}}"#,
        revision
    );
    let tmp = assets.join("../manifest.tmp");
    std::fs::write(&tmp, manifest).unwrap();
    std::fs::rename(&tmp, assets.join("asset_manifest.json")).unwrap();
}

/// Runs frames until `done` or a 10 s watchdog fires.
fn run_until(app: &mut App, what: &str, mut done: impl FnMut(&mut App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(app) {
        assert!(Instant::now() < deadline, "watchdog: no {what} within 10 s");
        app.update();
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_deployed_sprite_reaches_the_component_and_a_new_revision_keeps_its_handle() {
    let root = tempfile::tempdir().unwrap();
    let assets = root.path().join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: assets.to_string_lossy().into_owned(),
            ..default()
        },
        ImagePlugin::default_nearest(),
        SpriteGenPlugin {
            // Never started: this test is about the manifest side.
            daemon: DaemonConfig::command("false", Vec::<String>::new()),
            assets_subdir: assets.to_string_lossy().into_owned(),
            autostart: false,
            ..default()
        },
    ))
    .init_resource::<Seen>()
    .add_systems(Update, record);
    let entity = app.world_mut().spawn(GeneratedSprite::new("slime")).id();

    write_manifest(&assets, 1);
    run_until(&mut app, "revision 1", |app| {
        app.world()
            .resource::<Seen>()
            .0
            .contains(&("slime".into(), Some(1)))
    });
    let first = app.world().resource::<GeneratedSprites>().loaded["slime"]
        .image
        .clone();
    assert_eq!(app.world().get::<Sprite>(entity).unwrap().image, first);

    write_manifest(&assets, 2);
    run_until(&mut app, "revision 2", |app| {
        app.world()
            .resource::<Seen>()
            .0
            .contains(&("slime".into(), Some(2)))
    });
    let second = app.world().resource::<GeneratedSprites>().loaded["slime"]
        .image
        .clone();
    assert_eq!(first, second, "same path: reloaded into the same handle");
}
