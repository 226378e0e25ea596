//! Headless App (MinimalPlugins + assets): a manifest written into the assets folder shows up
//! as `SpriteAssetChanged`, in `GeneratedSprites`, and on a `GeneratedSprite`'s `Sprite`; a
//! new revision at the same path keeps the same image handle. No daemon: another writer (a
//! rebuild, the CLI) changes the manifest.

use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::image::{CompressedImageFormats, ImageLoader, ImagePlugin};
use bevy::prelude::*;
use dgx_pixels_bevy::{
    DaemonConfig, GeneratedSprite, GeneratedSprites, SpriteAssetChanged, SpriteAssetFailed,
    SpriteGenPlugin,
};

#[derive(Resource, Default)]
struct Seen(Vec<(String, Option<u64>)>);

#[derive(Resource, Default)]
struct Failed(Vec<String>);

fn record(
    mut changed: MessageReader<SpriteAssetChanged>,
    mut failed_loads: MessageReader<SpriteAssetFailed>,
    mut seen: ResMut<Seen>,
    mut failed: ResMut<Failed>,
) {
    seen.0
        .extend(changed.read().map(|c| (c.name.clone(), c.revision)));
    failed.0.extend(failed_loads.read().map(|f| f.name.clone()));
}

fn write_manifest(assets: &std::path::Path, revision: u64) {
    write_manifest_at(assets, revision, "sprites/slime.png", true);
}

/// Writes the PNG (valid, or cut off after its header) at `path`, then the manifest naming it.
fn write_manifest_at(assets: &std::path::Path, revision: u64, path: &str, valid: bool) {
    let png = assets.join(path);
    std::fs::create_dir_all(png.parent().unwrap()).unwrap();
    // 1×1 opaque red PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0xF8,
        0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x56, 0xC7, 0x2F, 0x0D, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    std::fs::write(&png, if valid { PNG } else { &PNG[..33] }).unwrap();
    let manifest = format!(
        r#"{{"version":1,"updated_at":"t","sprites":[{{"name":"slime","path":"{path}","deployed_at":"t","kind":"sprite","width":1,"height":1,"hash":"{:064x}","revision":{revision}}}]}}"#,
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
    let root = dgx_pixels_bevy::sprite_core::testing::TempDir::new();
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
            autostart: false,
            ..default()
        },
    ))
    .register_asset_loader(ImageLoader::new(CompressedImageFormats::NONE))
    .init_resource::<Seen>()
    .init_resource::<Failed>()
    .add_systems(Update, record);
    app.finish();
    app.cleanup();
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

    // Revision 3 names a new path whose PNG is broken: the game is told, and keeps showing 2.
    write_manifest_at(&assets, 3, "sprites/slime_v3.png", false);
    run_until(&mut app, "the failed load", |app| {
        !app.world().resource::<Failed>().0.is_empty()
    });
    assert_eq!(app.world().resource::<Failed>().0, vec!["slime".to_owned()]);
    assert_eq!(app.world().get::<Sprite>(entity).unwrap().image, first);
    assert!(!app
        .world()
        .resource::<Seen>()
        .0
        .contains(&("slime".into(), Some(3))));
}
