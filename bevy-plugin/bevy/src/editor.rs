//! `SpriteGenEditorPlugin` (feature `egui`): a window to generate sprites, follow and cancel
//! jobs, and browse/regenerate what is deployed. An `egui::Window` works unchanged across
//! bevy_egui 0.40–0.42.

use std::collections::HashSet;

use bevy::prelude::*;
use bevy_egui::{egui, EguiContexts, EguiPlugin, EguiPrimaryContextPass, EguiTextureHandle};
use bevy_plugin_core::{regenerate_request, Catalog, DaemonStatus, GenerateRequest, JobState};

use crate::param::SpriteGen;

/// Adds the panel (and `EguiPlugin` when the app has none yet).
pub struct SpriteGenEditorPlugin;

impl Plugin for SpriteGenEditorPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        app.init_resource::<EditorForm>()
            .init_resource::<SpriteGenEditorLayout>()
            .add_systems(EguiPrimaryContextPass, sprite_gen_panel);
    }
}

/// Where the panel's main widgets were drawn last frame, in logical window pixels (egui
/// points × zoom 1). For tutorials that point at them and for tests that click them.
#[derive(Resource, Default, Debug, Clone)]
pub struct SpriteGenEditorLayout {
    pub prompt: Option<Rect>,
    pub name: Option<Rect>,
    pub generate: Option<Rect>,
    /// The panel itself.
    pub window: Option<Rect>,
}

fn to_rect(r: egui::Rect) -> Rect {
    Rect::new(r.min.x, r.min.y, r.max.x, r.max.y)
}

/// What the user typed; kept between frames.
#[derive(Resource)]
struct EditorForm {
    name: String,
    prompt: String,
    style: String,
    palette: String,
    size: u32,
    frames: u32,
}

impl Default for EditorForm {
    fn default() -> Self {
        Self {
            name: "new_sprite".into(),
            prompt: String::new(),
            style: "pixel_art".into(),
            palette: String::new(),
            size: 32,
            frames: 1,
        }
    }
}

impl EditorForm {
    fn request(&self) -> GenerateRequest {
        let mut request = GenerateRequest::sprite(self.name.trim(), self.prompt.trim())
            .style(self.style.trim())
            .size(self.size, self.size);
        if !self.palette.trim().is_empty() {
            request = request.palette(self.palette.trim());
        }
        if self.frames > 1 {
            request = request.frames(self.frames);
        }
        request
    }
}

const THUMB: f32 = 48.0;

fn sprite_gen_panel(
    mut contexts: EguiContexts,
    mut form: ResMut<EditorForm>,
    mut layout: ResMut<SpriteGenEditorLayout>,
    mut registered: Local<HashSet<AssetId<Image>>>,
    sprite_gen: SpriteGen,
) -> Result {
    // Thumbnails must be registered before borrowing the context. Weak ids: the gallery never
    // keeps an image alive, and ids of sprites that left are released below.
    let thumbs: Vec<(String, Option<egui::TextureId>)> = sprite_gen
        .entries()
        .iter()
        .map(|e| {
            let id = sprite_gen
                .sprite(&e.name)
                .map(|s| contexts.add_image(EguiTextureHandle::Weak(s.image.id())));
            (e.name.clone(), id)
        })
        .collect();
    let shown: HashSet<AssetId<Image>> = sprite_gen
        .entries()
        .iter()
        .filter_map(|e| sprite_gen.sprite(&e.name).map(|s| s.image.id()))
        .collect();
    for gone in registered.difference(&shown) {
        contexts.remove_image(*gone);
    }
    *registered = shown;
    let catalog = sprite_gen.catalog();
    let ctx = contexts.ctx_mut()?;
    let window = egui::Window::new("AI sprites")
        .default_pos([8.0, 8.0])
        .default_width(320.0)
        .show(ctx, |ui| {
            let status = sprite_gen.status();
            ui.label(format!("daemon: {}", status.label()));
            let stopped = matches!(
                status,
                DaemonStatus::Stopped
                    | DaemonStatus::Crashed {
                        restart_in: None,
                        ..
                    }
            );
            if stopped && ui.button("Start daemon").clicked() {
                sprite_gen.start_daemon();
            }
            if let DaemonStatus::Crashed { stderr_tail, .. } = &status {
                ui.collapsing("daemon log (last lines)", |ui| {
                    for line in stderr_tail.iter().rev().take(8).rev() {
                        ui.monospace(line);
                    }
                });
            }
            ui.separator();
            let fields = form_ui(ui, &mut form, catalog.as_ref());
            layout.name = Some(to_rect(fields.name));
            layout.prompt = Some(to_rect(fields.prompt));
            let ready = status.is_ready();
            let valid = !form.prompt.trim().is_empty() && !form.name.trim().is_empty();
            let generate = ui.add_enabled(ready && valid, egui::Button::new("Generate"));
            layout.generate = Some(to_rect(generate.rect));
            if generate.clicked() {
                sprite_gen.generate(form.request());
            }
            ui.separator();
            ui.heading("Jobs");
            egui::ScrollArea::vertical()
                .id_salt("jobs")
                .max_height(160.0)
                .show(ui, |ui| {
                    for job in sprite_gen.jobs().iter().rev() {
                        ui.horizontal(|ui| {
                            ui.label(format!("{} · {}", job.name, job.state.label()));
                            if job.state.is_active() {
                                let p = job.progress.unwrap_or(0.0) as f32;
                                ui.add(
                                    egui::ProgressBar::new(p)
                                        .desired_width(100.0)
                                        .show_percentage(),
                                );
                                if ui.small_button("Cancel").clicked() {
                                    sprite_gen.cancel(job.id);
                                }
                            }
                        });
                        if job.state == JobState::Failed {
                            if let Some(error) = &job.error {
                                ui.colored_label(egui::Color32::LIGHT_RED, error);
                            }
                        }
                    }
                });
            ui.separator();
            ui.heading("Deployed");
            egui::ScrollArea::vertical()
                .id_salt("gallery")
                .max_height(260.0)
                .show(ui, |ui| {
                    for (entry, (_, thumb)) in sprite_gen.entries().iter().zip(&thumbs) {
                        ui.horizontal(|ui| {
                            if let Some(id) = thumb {
                                ui.add(egui::Image::new(egui::load::SizedTexture::new(
                                    *id,
                                    [THUMB, THUMB],
                                )));
                            }
                            ui.vertical(|ui| {
                                ui.label(format!(
                                    "{} (rev {})",
                                    entry.name,
                                    entry.revision.unwrap_or(0)
                                ));
                                ui.small(&entry.path);
                                let again = regenerate_request(entry);
                                if ui
                                    .add_enabled(
                                        ready && again.is_some(),
                                        egui::Button::new("Regenerate"),
                                    )
                                    .clicked()
                                {
                                    if let Some(request) = again {
                                        sprite_gen.generate(request);
                                    }
                                }
                            });
                        });
                    }
                });
        });
    layout.window = window.map(|w| to_rect(w.response.rect));
    Ok(())
}

/// Where the form's text fields were drawn.
struct FormRects {
    name: egui::Rect,
    prompt: egui::Rect,
}

fn form_ui(ui: &mut egui::Ui, form: &mut EditorForm, catalog: Option<&Catalog>) -> FormRects {
    let mut name = egui::Rect::NOTHING;
    egui::Grid::new("sprite_form")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Name");
            name = ui.text_edit_singleline(&mut form.name).rect;
            ui.end_row();
            ui.label("Style");
            picker(
                ui,
                "style",
                &mut form.style,
                catalog.map(|c| c.styles.as_slice()),
                false,
            );
            ui.end_row();
            ui.label("Palette");
            picker(
                ui,
                "palette",
                &mut form.palette,
                catalog.map(|c| c.palettes.as_slice()),
                true,
            );
            ui.end_row();
            ui.label("Size (px)");
            ui.add(egui::Slider::new(&mut form.size, 8..=256));
            ui.end_row();
            ui.label("Frames");
            ui.add(egui::Slider::new(&mut form.frames, 1..=16));
            ui.end_row();
        });
    ui.label("Prompt");
    let prompt = ui.text_edit_multiline(&mut form.prompt).rect;
    FormRects { name, prompt }
}

/// A combo box over the daemon's names, or a text field until they are known.
fn picker(
    ui: &mut egui::Ui,
    id: &str,
    value: &mut String,
    names: Option<&[String]>,
    optional: bool,
) {
    let Some(names) = names.filter(|n| !n.is_empty()) else {
        ui.text_edit_singleline(value);
        return;
    };
    let shown = if value.is_empty() {
        "(none)"
    } else {
        value.as_str()
    };
    egui::ComboBox::from_id_salt(id)
        .selected_text(shown.to_owned())
        .show_ui(ui, |ui| {
            if optional {
                ui.selectable_value(value, String::new(), "(none)");
            }
            for name in names {
                ui.selectable_value(value, name.clone(), name.as_str());
            }
        });
}
