//! `SpriteGenPlugin`: starts the core service and pumps its events into Bevy each frame.

use bevy::asset::io::file::FileAssetReader;
use bevy::prelude::*;
use bevy_plugin_core::{DaemonConfig, Event, JobOptions, Service, ServiceConfig};

use crate::messages::*;
use crate::sprite::{apply_manifest, sync_generated_sprites, GeneratedSprites};

/// Configuration. `Default` starts `dgx-pixels serve` (or `DGX_PIXELS_DAEMON`), watches
/// `assets/asset_manifest.json` and starts the daemon right away.
#[derive(Clone, Debug)]
pub struct SpriteGenPlugin {
    /// How to start the daemon (`DaemonConfig::node_package(..)`, `::command(..)`, `::from_env()`).
    pub daemon: DaemonConfig,
    /// The assets folder under the Bevy base path; must match `AssetPlugin::file_path`
    /// (default "assets"), since manifest paths are relative to it.
    pub assets_subdir: String,
    /// Manifest file name inside the assets folder.
    pub manifest_file: String,
    /// Start the daemon at startup (else `SpriteGenService::start_daemon`).
    pub autostart: bool,
    pub jobs: JobOptions,
}

impl Default for SpriteGenPlugin {
    fn default() -> Self {
        Self {
            daemon: DaemonConfig::from_env(),
            assets_subdir: "assets".into(),
            manifest_file: "asset_manifest.json".into(),
            autostart: true,
            jobs: JobOptions::default(),
        }
    }
}

/// The running core service (Send + Sync: a plain resource).
#[derive(Resource)]
pub struct SpriteGenService(pub Service);

/// Ordering: `Pump` moves core events into messages and assets, `Apply` updates sprites.
/// Both run in `PreUpdate`, so game systems in `Update` see the results the same frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SpriteGenSystems {
    Pump,
    Apply,
}

impl Plugin for SpriteGenPlugin {
    fn build(&self, app: &mut App) {
        let assets_dir = FileAssetReader::get_base_path().join(&self.assets_subdir);
        let mut config = ServiceConfig::new(self.daemon.clone(), assets_dir);
        config.manifest_file = self.manifest_file.clone();
        config.autostart = self.autostart;
        config.jobs = self.jobs.clone();
        // Only spawns threads: the daemon and the manifest watcher start in the background.
        let service = Service::start(config);
        app.insert_resource(SpriteGenService(service))
            .init_resource::<GeneratedSprites>()
            .add_message::<SpriteJobProgress>()
            .add_message::<SpriteJobFinished>()
            .add_message::<SpriteJobFailed>()
            .add_message::<SpriteJobCancelled>()
            .add_message::<SpriteAssetChanged>()
            .add_message::<SpriteAssetRemoved>()
            .add_message::<DaemonStatusChanged>()
            .configure_sets(
                PreUpdate,
                (SpriteGenSystems::Pump, SpriteGenSystems::Apply).chain(),
            )
            .add_systems(
                PreUpdate,
                (
                    pump_events.in_set(SpriteGenSystems::Pump),
                    sync_generated_sprites.in_set(SpriteGenSystems::Apply),
                ),
            )
            .add_systems(Last, stop_daemon.run_if(on_message::<AppExit>));
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
/// changes (re)load images and atlas layouts.
fn pump_events(
    service: Res<SpriteGenService>,
    mut sprites: ResMut<GeneratedSprites>,
    server: Res<AssetServer>,
    mut layouts: ResMut<Assets<TextureAtlasLayout>>,
    mut jobs: JobWriters,
    mut changed: MessageWriter<SpriteAssetChanged>,
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
                jobs.finished.write(SpriteJobFinished { job, name, path });
            }
            Event::Failed { job, error } => {
                warn!("sprite {job} failed: {error}");
                jobs.failed.write(SpriteJobFailed { job, error });
            }
            Event::Cancelled { job, note } => {
                jobs.cancelled.write(SpriteJobCancelled { job, note });
            }
            Event::Manifest(diff) => {
                let (updated, gone) = apply_manifest(&diff, &mut sprites, &server, &mut layouts);
                changed.write_batch(updated);
                removed.write_batch(gone);
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
