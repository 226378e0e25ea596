//! `SpriteGenPlugin`: starts the core service and pumps its events into Bevy each frame.

use bevy::asset::io::file::FileAssetReader;
use std::path::Path;

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy_plugin_core::{DaemonConfig, Event, JobOptions, Service, ServiceConfig};

use crate::messages::*;
use crate::sprite::{
    apply_manifest, play_tags, promote_loaded, sync_generated_sprites, GeneratedSprites,
};

/// Configuration. `Default` starts `dgx-pixels serve` (or `DGX_PIXELS_DAEMON`), watches
/// `asset_manifest.json` in the game's assets folder and starts the daemon right away.
///
/// The assets folder is the one `AssetPlugin::file_path` names (default `assets`), so
/// manifest paths always resolve the way `AssetServer::load` resolves them.
#[derive(Clone, Debug)]
pub struct SpriteGenPlugin {
    /// How to start the daemon (`DaemonConfig::node_package(..)`, `::command(..)`, `::from_env()`).
    pub daemon: DaemonConfig,
    /// Manifest file name inside the assets folder.
    pub manifest_file: String,
    /// Start the daemon at startup (else `SpriteGen::start_daemon`).
    pub autostart: bool,
    pub jobs: JobOptions,
}

impl Default for SpriteGenPlugin {
    fn default() -> Self {
        Self {
            daemon: DaemonConfig::from_env(),
            manifest_file: "asset_manifest.json".into(),
            autostart: true,
            jobs: JobOptions::default(),
        }
    }
}

/// The running core service (Send + Sync: a plain resource).
#[derive(Resource)]
pub struct SpriteGenService(pub Service);

/// Ordering: `Pump` moves core events into messages and starts loads, `Promote` swaps in
/// images that arrived, `Animate` steps `PlayTag`s, `Apply` updates sprites. All run in `PreUpdate`, so game systems in
/// `Update` see the results the same frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SpriteGenSystems {
    Pump,
    Promote,
    /// `PlayTag` animations pick their frame.
    Animate,
    Apply,
}

impl Plugin for SpriteGenPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<GeneratedSprites>()
            .add_message::<SpriteJobProgress>()
            .add_message::<SpriteJobFinished>()
            .add_message::<SpriteJobFailed>()
            .add_message::<SpriteJobCancelled>()
            .add_message::<SpriteAssetChanged>()
            .add_message::<SpriteAssetFailed>()
            .add_message::<SpriteAssetRemoved>()
            .add_message::<DaemonStatusChanged>()
            .configure_sets(
                PreUpdate,
                (
                    SpriteGenSystems::Pump,
                    SpriteGenSystems::Promote,
                    SpriteGenSystems::Animate,
                    SpriteGenSystems::Apply,
                )
                    .chain(),
            )
            .add_systems(
                PreUpdate,
                (
                    pump_events.in_set(SpriteGenSystems::Pump),
                    promote_loaded.in_set(SpriteGenSystems::Promote),
                    play_tags.in_set(SpriteGenSystems::Animate),
                    sync_generated_sprites.in_set(SpriteGenSystems::Apply),
                ),
            )
            .add_systems(Last, stop_daemon.run_if(on_message::<AppExit>));
    }

    /// Runs once every plugin is built, so `AssetPlugin` and `SpritePlugin` are known.
    fn finish(&self, app: &mut App) {
        let file_path = app
            .get_added_plugins::<AssetPlugin>()
            .first()
            .map(|p| p.file_path.clone())
            .expect(
                "SpriteGenPlugin needs Bevy's AssetPlugin (add DefaultPlugins, or AssetPlugin + ImagePlugin, before it)",
            );
        // Sheets need atlas layouts; SpritePlugin registers them, a headless app may not.
        if !app
            .world()
            .contains_resource::<Assets<TextureAtlasLayout>>()
        {
            app.init_asset::<TextureAtlasLayout>();
        }
        let assets_dir = FileAssetReader::get_base_path().join(file_path);
        let mut config = ServiceConfig::new(self.daemon.clone(), assets_dir);
        config.manifest_file = self.manifest_file.clone();
        config.autostart = self.autostart;
        config.jobs = self.jobs.clone();
        // Only spawns threads: the daemon and the manifest watcher start in the background.
        app.insert_resource(SpriteGenService(Service::start(config)));
        #[cfg(feature = "remote")]
        crate::remote::register_methods(app);
    }
}

#[derive(bevy::ecs::system::SystemParam)]
struct JobWriters<'w> {
    progress: MessageWriter<'w, SpriteJobProgress>,
    finished: MessageWriter<'w, SpriteJobFinished>,
    failed: MessageWriter<'w, SpriteJobFailed>,
    cancelled: MessageWriter<'w, SpriteJobCancelled>,
    status: MessageWriter<'w, DaemonStatusChanged>,
}

/// Drains the core's channel without blocking and turns each event into a message; manifest
/// changes start (re)loading images.
fn pump_events(
    service: Res<SpriteGenService>,
    mut sprites: ResMut<GeneratedSprites>,
    server: Res<AssetServer>,
    mut jobs: JobWriters,
    mut removed: MessageWriter<SpriteAssetRemoved>,
) {
    for event in service.0.events().try_iter() {
        match event {
            Event::Status(status) => {
                jobs.status.write(DaemonStatusChanged(status));
            }
            Event::Progress {
                job,
                fraction,
                message,
            } => {
                jobs.progress.write(SpriteJobProgress {
                    job,
                    fraction,
                    message,
                });
            }
            Event::Finished {
                job, name, path, ..
            } => {
                sprites.ended_jobs.insert(job);
                jobs.finished.write(SpriteJobFinished { job, name, path });
            }
            Event::Failed { job, error } => {
                warn!("sprite {job} failed: {error}");
                sprites.ended_jobs.insert(job);
                jobs.failed.write(SpriteJobFailed { job, error });
            }
            Event::Cancelled { job, note } => {
                sprites.ended_jobs.insert(job);
                jobs.cancelled.write(SpriteJobCancelled { job, note });
            }
            Event::Manifest(diff) => {
                let assets_dir = service.0.manifest_path().parent().unwrap_or(Path::new("."));
                removed.write_batch(apply_manifest(&diff, &mut sprites, &server, assets_dir));
            }
            Event::ManifestError { path, message } => {
                warn!("{}: {message}", path.display());
            }
        }
    }
}

fn stop_daemon(service: Res<SpriteGenService>) {
    service.0.shutdown();
}
