//! A headless Bevy App (MinimalPlugins + AssetPlugin on a temp assets dir + ImagePlugin + the
//! PNG loader + SpriteGenPlugin) against the real daemon (`node daemon/dist/cli.js serve`,
//! started by the plugin as a game would) and the embedded procedural worker. No window, no
//! GPU. Systems ask for sprites through the `SpriteGen` param; assertions read what a game
//! sees: messages, `AssetEvent<Image>`, `Assets<Image>`, atlas layouts, `Sprite` components.
//!
//! Needs `npm run build` at the repository root; a missing build fails (see
//! `bevy_plugin_core::testing::daemon_cli_or_skip`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::image::{CompressedImageFormats, ImageLoader, ImagePlugin, TRANSPARENT_IMAGE_HANDLE};
use bevy::prelude::*;
use dgx_pixels_bevy::sprite_core::testing::{daemon_cli_or_skip, EmbeddedWorker};
use dgx_pixels_bevy::{
    DaemonStatus, GenerateRequest, GeneratedSprite, GeneratedSprites, JobId, PlayTag,
    SpriteAssetChanged, SpriteAssetRemoved, SpriteGen, SpriteGenPlugin, SpriteJobCancelled,
    SpriteJobFailed, SpriteJobFinished, SpriteJobProgress,
};

/// What the game saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Progress(JobId),
    Finished(JobId, String),
    Failed(JobId, String),
    Cancelled(JobId),
    Changed(String, Option<u64>),
    Removed(String),
    ImageLoaded(AssetId<Image>),
    ImageModified(AssetId<Image>),
}

#[derive(Resource, Default)]
struct Log(Vec<Seen>);

/// Requests a system hands to `SpriteGen` next frame, and the job ids it got back.
#[derive(Resource, Default)]
struct Asks {
    generate: Vec<GenerateRequest>,
    cancel: Vec<JobId>,
    submitted: Vec<JobId>,
}

fn ask(mut asks: ResMut<Asks>, sprite_gen: SpriteGen) {
    for request in std::mem::take(&mut asks.generate) {
        let job = sprite_gen.generate(request);
        asks.submitted.push(job);
    }
    for job in std::mem::take(&mut asks.cancel) {
        sprite_gen.cancel(job);
    }
}

#[expect(clippy::too_many_arguments, reason = "one reader per message type")]
fn record(
    mut log: ResMut<Log>,
    mut progress: MessageReader<SpriteJobProgress>,
    mut finished: MessageReader<SpriteJobFinished>,
    mut failed: MessageReader<SpriteJobFailed>,
    mut cancelled: MessageReader<SpriteJobCancelled>,
    mut changed: MessageReader<SpriteAssetChanged>,
    mut removed: MessageReader<SpriteAssetRemoved>,
    mut images: MessageReader<AssetEvent<Image>>,
) {
    // Same-frame order of the plugin: job messages (Pump) before swaps (Promote).
    log.0.extend(progress.read().map(|p| Seen::Progress(p.job)));
    log.0.extend(
        finished
            .read()
            .map(|f| Seen::Finished(f.job, f.name.clone())),
    );
    log.0
        .extend(failed.read().map(|f| Seen::Failed(f.job, f.error.clone())));
    log.0
        .extend(cancelled.read().map(|c| Seen::Cancelled(c.job)));
    log.0.extend(images.read().filter_map(|e| match e {
        AssetEvent::LoadedWithDependencies { id } => Some(Seen::ImageLoaded(*id)),
        AssetEvent::Modified { id } => Some(Seen::ImageModified(*id)),
        _ => None,
    }));
    log.0.extend(
        changed
            .read()
            .map(|c| Seen::Changed(c.name.clone(), c.revision)),
    );
    log.0
        .extend(removed.read().map(|r| Seen::Removed(r.name.clone())));
}

struct Game {
    app: App,
    assets: PathBuf,
    _worker: EmbeddedWorker,
    _tmp: dgx_pixels_bevy::sprite_core::testing::TempDir,
}

impl Game {
    /// `None` only when `DGX_PIXELS_E2E=skip`.
    fn start(step_ms: u32) -> Option<Game> {
        let cli = daemon_cli_or_skip("headless Bevy end-to-end test")?;
        let tmp = dgx_pixels_bevy::sprite_core::testing::TempDir::new();
        let assets = tmp.path().join("assets");
        std::fs::create_dir_all(&assets).unwrap();
        let worker = EmbeddedWorker::start(&cli, &tmp.path().join("worker-out"), step_ms);
        let mut daemon = worker.daemon(&cli, &tmp.path().join("state"));
        daemon.restart.initial_backoff = Duration::from_millis(200);
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            AssetPlugin {
                file_path: assets.to_string_lossy().into_owned(),
                ..default()
            },
            ImagePlugin::default_nearest(),
            SpriteGenPlugin {
                daemon,
                ..default()
            },
        ))
        // Without bevy_render, ImagePlugin only pre-registers the PNG loader.
        .register_asset_loader(ImageLoader::new(CompressedImageFormats::NONE))
        .init_resource::<Log>()
        .init_resource::<Asks>()
        .add_systems(Update, (ask, record).chain());
        // What `App::run` does before the first frame: plugins' `finish` starts the service.
        app.finish();
        app.cleanup();
        let mut game = Game {
            app,
            assets,
            _worker: worker,
            _tmp: tmp,
        };
        game.run_until("the daemon to be ready", 60, |app| {
            app.world()
                .resource::<dgx_pixels_bevy::SpriteGenService>()
                .0
                .status()
                .is_ready()
        });
        Some(game)
    }

    /// Runs frames (about 200 per second) until `done`, or panics with the log after `secs`.
    fn run_until(&mut self, what: &str, secs: u64, mut done: impl FnMut(&mut App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(&mut self.app) {
            if Instant::now() > deadline {
                let log = &self.app.world().resource::<Log>().0;
                panic!("no {what} within {secs} s; the game saw:\n{log:#?}");
            }
            self.app.update();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn generate(&mut self, request: GenerateRequest) -> JobId {
        self.app
            .world_mut()
            .resource_mut::<Asks>()
            .generate
            .push(request);
        let before = self.app.world().resource::<Asks>().submitted.len();
        self.app.update();
        let asks = self.app.world().resource::<Asks>();
        assert_eq!(asks.submitted.len(), before + 1);
        *asks.submitted.last().unwrap()
    }

    fn log(&self) -> &[Seen] {
        &self.app.world().resource::<Log>().0
    }

    fn saw(&self, seen: &Seen) -> bool {
        self.log().contains(seen)
    }

    fn position(&self, what: impl Fn(&Seen) -> bool) -> Option<usize> {
        self.log().iter().position(what)
    }

    fn image_of(&self, name: &str) -> Handle<Image> {
        self.app.world().resource::<GeneratedSprites>().loaded[name]
            .image
            .clone()
    }

    fn image_size(&self, id: AssetId<Image>) -> UVec2 {
        self.app
            .world()
            .resource::<Assets<Image>>()
            .get(id)
            .expect("image in Assets<Image>")
            .size()
    }
}

fn job_ended(job: JobId) -> impl Fn(&Seen) -> bool {
    move |s| matches!(s, Seen::Finished(j, _) | Seen::Failed(j, _) | Seen::Cancelled(j) if *j == job)
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // IHDR: width and height are the big-endian u32s at bytes 16..24.
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn a_sprite_generated_from_a_system_arrives_loaded_then_a_new_revision_modifies_the_same_image() {
    let Some(mut game) = Game::start(20) else {
        return;
    };
    let entity = game
        .app
        .world_mut()
        .spawn(GeneratedSprite::new("slime"))
        .id();

    // Revision 1: progress → finished → loaded → changed, and the entity shows it.
    let first = game.generate(
        GenerateRequest::sprite("slime", "a green slime blob")
            .size(32, 32)
            .seed(1),
    );
    game.run_until("revision 1 on screen", 90, |app| {
        app.world()
            .resource::<Log>()
            .0
            .contains(&Seen::Changed("slime".into(), Some(1)))
    });
    assert!(
        !game.log().iter().any(|s| matches!(s, Seen::Failed(..))),
        "{:#?}",
        game.log()
    );
    let image = game.image_of("slime");
    let progress = game
        .position(|s| *s == Seen::Progress(first))
        .expect("progress messages before the end");
    let finished = game
        .position(|s| matches!(s, Seen::Finished(j, n) if *j == first && n == "slime"))
        .expect("a finished message");
    let loaded = game
        .position(|s| *s == Seen::ImageLoaded(image.id()))
        .expect("AssetEvent::LoadedWithDependencies for the sprite's image");
    let changed = game
        .position(|s| *s == Seen::Changed("slime".into(), Some(1)))
        .unwrap();
    assert!(
        progress < finished && finished < changed && loaded < changed,
        "order progress < finished < (loaded, changed): {:#?}",
        game.log()
    );
    assert_eq!(game.image_size(image.id()), UVec2::new(32, 32));
    assert_eq!(png_size(&game.assets.join("sprites/slime.png")), (32, 32));
    assert_eq!(
        game.app.world().get::<Sprite>(entity).unwrap().image,
        image,
        "the GeneratedSprite entity shows the new image"
    );

    // Revision 2 at the same path, another size: Modified for the same id, new size.
    let second = game.generate(
        GenerateRequest::sprite("slime", "a blue slime blob")
            .size(48, 48)
            .seed(2),
    );
    game.run_until("revision 2 on screen", 90, |app| {
        app.world()
            .resource::<Log>()
            .0
            .contains(&Seen::Changed("slime".into(), Some(2)))
    });
    let finished2 = game
        .position(|s| matches!(s, Seen::Finished(j, _) if *j == second))
        .expect("a finished message for revision 2");
    let modified = game
        .position(|s| *s == Seen::ImageModified(image.id()))
        .expect("AssetEvent::Modified for the same image id");
    let changed2 = game
        .position(|s| *s == Seen::Changed("slime".into(), Some(2)))
        .unwrap();
    assert!(loaded < finished2 && finished2 < changed2 && modified < changed2);
    assert_eq!(game.image_of("slime"), image, "same path: same handle");
    assert_eq!(game.image_size(image.id()), UVec2::new(48, 48));
    assert_eq!(game.app.world().get::<Sprite>(entity).unwrap().image, image);
}

#[test]
fn a_job_cancelled_from_a_system_ends_cancelled_and_deploys_nothing() {
    // 40 ms a step × 30 steps: over a second of generation to cancel into.
    let Some(mut game) = Game::start(40) else {
        return;
    };
    let job = game.generate(GenerateRequest::sprite("ghost", "a pale ghost").size(32, 32));
    game.run_until("progress", 60, |app| {
        app.world()
            .resource::<Log>()
            .0
            .contains(&Seen::Progress(job))
    });
    game.app.world_mut().resource_mut::<Asks>().cancel.push(job);
    game.run_until("the job's end", 30, |app| {
        app.world().resource::<Log>().0.iter().any(job_ended(job))
    });
    assert!(game.saw(&Seen::Cancelled(job)), "{:#?}", game.log());
    // Give a stray deploy time to show up, then check nothing arrived.
    let until = Instant::now() + Duration::from_millis(1500);
    game.run_until("quiet", 10, |_| Instant::now() > until);
    assert!(!game.assets.join("sprites/ghost.png").exists());
    assert!(!game
        .log()
        .iter()
        .any(|s| matches!(s, Seen::Changed(n, _) if n == "ghost")));
}

#[test]
fn an_animation_sheet_arrives_with_an_atlas_layout_of_its_grid() {
    let Some(mut game) = Game::start(10) else {
        return;
    };
    let entity = game
        .app
        .world_mut()
        .spawn(GeneratedSprite::new("bat_fly").with_frame(2))
        .id();
    let job = game.generate(
        GenerateRequest::sprite("bat_fly", "a purple bat flapping")
            .size(32, 32)
            .frames(4),
    );
    game.run_until("the sheet on screen", 120, |app| {
        app.world()
            .resource::<Log>()
            .0
            .iter()
            .any(|s| matches!(s, Seen::Changed(n, _) if n == "bat_fly"))
    });
    assert!(
        game.position(|s| matches!(s, Seen::Finished(j, _) if *j == job))
            .is_some(),
        "{:#?}",
        game.log()
    );
    let world = game.app.world();
    let loaded = &world.resource::<GeneratedSprites>().loaded["bat_fly"];
    let layout = world
        .resource::<Assets<TextureAtlasLayout>>()
        .get(loaded.layout.as_ref().expect("a sheet has a layout").id())
        .expect("the layout is in Assets<TextureAtlasLayout>");
    assert_eq!(layout.textures.len(), 4, "{layout:?}");
    for frame in &layout.textures {
        assert_eq!(frame.size(), UVec2::new(32, 32), "{layout:?}");
    }
    let image_size = world
        .resource::<Assets<Image>>()
        .get(loaded.image.id())
        .unwrap()
        .size();
    assert_eq!(layout.size, image_size, "the layout covers the whole sheet");
    let sprite = world.get::<Sprite>(entity).unwrap();
    let atlas = sprite
        .texture_atlas
        .as_ref()
        .expect("the entity shows an atlas frame");
    assert_eq!(atlas.index, 2);
    assert_eq!(atlas.layout, *loaded.layout.as_ref().unwrap());

    // The sheet's Aseprite atlas names its animation; PlayTag plays it through every frame.
    let tags = &loaded
        .atlas
        .as_ref()
        .expect("the sheet's atlas was read")
        .tags;
    let tag = tags.first().expect("an animation tag").clone();
    assert_eq!(tag.frames, 0..=3, "{tags:?}");
    game.app
        .world_mut()
        .entity_mut(entity)
        .insert(PlayTag::new(tag.name.clone()));
    let mut shown = std::collections::BTreeSet::new();
    let until = Instant::now() + Duration::from_millis(1500);
    game.run_until("a full animation cycle", 10, |app| {
        if let Some(a) = &app.world().get::<Sprite>(entity).unwrap().texture_atlas {
            shown.insert(a.index);
        }
        Instant::now() > until
    });
    assert_eq!(
        shown.into_iter().collect::<Vec<_>>(),
        vec![0, 1, 2, 3],
        "PlayTag shows every frame of {}",
        tag.name
    );
}

#[test]
fn a_sprite_removed_from_the_manifest_leaves_its_entities() {
    let Some(mut game) = Game::start(5) else {
        return;
    };
    let entity = game
        .app
        .world_mut()
        .spawn(GeneratedSprite::new("coin"))
        .id();
    game.generate(GenerateRequest::sprite("coin", "a gold coin").size(16, 16));
    game.generate(GenerateRequest::sprite("gem", "a red gem").size(16, 16));
    game.run_until("both sprites", 90, |app| {
        let loaded = &app.world().resource::<GeneratedSprites>().loaded;
        loaded.contains_key("coin") && loaded.contains_key("gem")
    });
    assert_ne!(
        game.app.world().get::<Sprite>(entity).unwrap().image,
        TRANSPARENT_IMAGE_HANDLE
    );
    // Another tool (a rebuild, a hand edit) drops "coin" from the manifest, atomically.
    let manifest_path = game.assets.join("asset_manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["sprites"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["name"] != "coin");
    let tmp = game.assets.join("../manifest.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    std::fs::rename(&tmp, &manifest_path).unwrap();

    game.run_until("the removal", 30, |app| {
        app.world()
            .resource::<Log>()
            .0
            .contains(&Seen::Removed("coin".into()))
    });
    game.app.update();
    let sprite = game.app.world().get::<Sprite>(entity).unwrap();
    assert_eq!(
        sprite.image, TRANSPARENT_IMAGE_HANDLE,
        "the entity shows nothing"
    );
    let loaded = &game.app.world().resource::<GeneratedSprites>().loaded;
    assert!(!loaded.contains_key("coin") && loaded.contains_key("gem"));
}

#[test]
fn a_daemon_killed_mid_job_is_restarted_and_the_game_gets_a_clear_outcome() {
    let Some(mut game) = Game::start(60) else {
        return;
    };
    let DaemonStatus::Ready { pid, .. } = game
        .app
        .world()
        .resource::<dgx_pixels_bevy::SpriteGenService>()
        .0
        .status()
    else {
        panic!("not ready")
    };
    let job = game.generate(
        GenerateRequest::sprite("bat", "a purple bat")
            .size(32, 32)
            .seed(3),
    );
    game.run_until("the daemon to accept the job", 30, |app| {
        app.world()
            .resource::<dgx_pixels_bevy::SpriteGenService>()
            .0
            .job(job)
            .and_then(|s| s.daemon_job_id)
            .is_some()
    });
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    game.run_until("the job's end", 90, |app| {
        app.world().resource::<Log>().0.iter().any(job_ended(job))
    });
    let end = game
        .log()
        .iter()
        .find(|s| job_ended(job)(s))
        .cloned()
        .unwrap();
    match end {
        // Recovered from the restarted daemon (same state dir) and deployed.
        Seen::Finished(_, name) => {
            assert_eq!(name, "bat");
            game.run_until("the recovered sprite on screen", 30, |app| {
                app.world()
                    .resource::<GeneratedSprites>()
                    .loaded
                    .contains_key("bat")
            });
        }
        Seen::Failed(_, error) => assert!(
            error.contains("daemon") && (error.contains("restart") || error.contains("exited")),
            "a failure must say the daemon died: {error}"
        ),
        other => panic!("unexpected end {other:?}"),
    }
    // The restarted daemon is ready again, with another pid.
    game.run_until("the restarted daemon", 30, |app| {
        matches!(
            app.world().resource::<dgx_pixels_bevy::SpriteGenService>().0.status(),
            DaemonStatus::Ready { pid: p, .. } if p != pid
        )
    });
}

#[test]
fn an_edit_from_a_system_repaints_only_its_region_and_reloads_the_same_image() {
    let Some(mut game) = Game::start(10) else {
        return;
    };
    game.generate(
        GenerateRequest::sprite("crate", "a wooden crate")
            .size(32, 32)
            .seed(3),
    );
    game.run_until("revision 1 loaded", 90, |app| {
        app.world()
            .resource::<Log>()
            .0
            .contains(&Seen::Changed("crate".into(), Some(1)))
    });
    let image = game.image_of("crate");
    let pixels = |game: &Game| {
        game.app
            .world()
            .resource::<Assets<Image>>()
            .get(image.id())
            .and_then(|i| i.data.clone())
            .expect("the crate's pixels in Assets<Image>")
    };
    let before = pixels(&game);

    // The top-left 16×12 corner, repainted; everything else must stay byte for byte.
    let edit = game.generate(
        GenerateRequest::edit("crate", "a brass corner fitting")
            .mask(0, 0, 16, 12)
            .strength(1.0)
            .seed(4),
    );
    game.run_until("the edit (revision 2) loaded", 90, |app| {
        app.world().resource::<Log>().0.iter().any(|s| {
            *s == Seen::Changed("crate".into(), Some(2))
                || job_ended(edit)(s) && matches!(s, Seen::Failed(..))
        })
    });
    assert!(
        game.saw(&Seen::Changed("crate".into(), Some(2))),
        "the edit did not arrive: {:#?}",
        game.log()
    );
    assert!(
        game.saw(&Seen::ImageModified(image.id())),
        "same path: Modified"
    );
    assert_eq!(game.image_of("crate"), image, "an edit keeps the handle");
    assert_eq!(
        game.image_size(image.id()),
        UVec2::new(32, 32),
        "and the size"
    );
    let after = pixels(&game);
    let (mut inside, mut outside) = (0, 0);
    for y in 0..32usize {
        for x in 0..32usize {
            let at = (y * 32 + x) * 4;
            if before[at..at + 4] != after[at..at + 4] {
                if x < 16 && y < 12 {
                    inside += 1;
                } else {
                    outside += 1;
                }
            }
        }
    }
    assert_eq!(outside, 0, "pixels changed outside the mask");
    assert!(inside > 0, "nothing changed inside the mask");
}
