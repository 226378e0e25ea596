//! `SpriteGenEditorPlugin` (feature `egui`): a window to generate sprites, follow and cancel
//! jobs, and browse/regenerate what is deployed. An `egui::Window` works unchanged across
//! bevy_egui 0.40–0.42.

use std::collections::HashSet;

use bevy::prelude::*;
use bevy_egui::{egui, EguiContexts, EguiPlugin, EguiPrimaryContextPass, EguiTextureHandle};
use bevy_plugin_core::{
    regenerate_request, Catalog, DaemonStatus, GenerateRequest, JobState, SpriteKind,
};

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
    /// The gallery's "Edit…" buttons one can click now (enabled, not scrolled away), by name.
    pub edit_buttons: Vec<(String, Rect)>,
    /// The edit window's picture (drag on it to choose the region to repaint), its prompt
    /// field and its "Apply edit" button, while an edit window is open.
    pub edit_picture: Option<Rect>,
    pub edit_prompt: Option<Rect>,
    pub edit_apply: Option<Rect>,
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
    /// The open edit window, if any.
    edit: Option<EditForm>,
}

/// An edit of one deployed sprite (`edit_sprite`): a prompt, the region to repaint (sprite
/// pixels, dragged on the picture; none = the whole sprite), and how much may change.
struct EditForm {
    name: String,
    prompt: String,
    strength: f32,
    /// Drag start, in sprite pixels.
    anchor: Option<(u32, u32)>,
    /// x, y, width, height in sprite pixels.
    mask: Option<(u32, u32, u32, u32)>,
}

impl EditForm {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            prompt: String::new(),
            strength: 0.8,
            anchor: None,
            mask: None,
        }
    }

    fn request(&self) -> GenerateRequest {
        let request = GenerateRequest::edit(self.name.as_str(), self.prompt.trim())
            .strength(f64::from(self.strength));
        match self.mask {
            Some((x, y, w, h)) => request.mask(x, y, w, h),
            None => request,
        }
    }
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
            edit: None,
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
/// The edit window's picture is at most this many points on its longer side.
const EDIT_PICTURE: f32 = 192.0;

fn sprite_gen_panel(
    mut contexts: EguiContexts,
    mut form: ResMut<EditorForm>,
    mut layout: ResMut<SpriteGenEditorLayout>,
    mut registered: Local<HashSet<AssetId<Image>>>,
    images: Res<Assets<Image>>,
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
    let edit_texture = form.edit.as_ref().and_then(|edit| {
        let sprite = sprite_gen.sprite(&edit.name)?;
        let image = images.get(&sprite.image)?;
        let size = image.size();
        Some((
            contexts.add_image(EguiTextureHandle::Weak(sprite.image.id())),
            size,
        ))
    });
    layout.edit_buttons.clear();
    let ctx = contexts.ctx_mut()?;
    let window = egui::Window::new("AI sprites")
        .default_pos([8.0, 8.0])
        .default_width(320.0)
        .resizable(false)
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
                .max_height(100.0)
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
                                ))
                                .on_hover_text(&entry.path);
                                ui.horizontal(|ui| {
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
                                    // an edit repaints part of one picture; sheets are left out
                                    let single = thumb.is_some()
                                        && matches!(entry.kind, None | Some(SpriteKind::Sprite));
                                    let enabled = ready && single;
                                    let edit = ui.add_enabled(enabled, egui::Button::new("Edit…"));
                                    // only a button one can click: enabled and not scrolled away
                                    if enabled && ui.clip_rect().contains_rect(edit.rect) {
                                        layout
                                            .edit_buttons
                                            .push((entry.name.clone(), to_rect(edit.rect)));
                                    }
                                    if edit.clicked() {
                                        form.edit = Some(EditForm::new(&entry.name));
                                    }
                                });
                            });
                        });
                    }
                });
        });
    layout.window = window.map(|w| to_rect(w.response.rect));
    layout.edit_picture = None;
    layout.edit_prompt = None;
    layout.edit_apply = None;
    if let (Some(edit), Some((texture, size))) = (form.edit.as_mut(), edit_texture) {
        let mut open = true;
        let mut apply = false;
        egui::Window::new(format!("Edit {}", edit.name))
            .id(egui::Id::new("sprite_gen_edit"))
            .default_pos([340.0, 8.0])
            .open(&mut open)
            .show(ctx, |ui| {
                let fields = edit_ui(ui, edit, texture, size);
                layout.edit_picture = Some(to_rect(fields.picture));
                layout.edit_prompt = Some(to_rect(fields.prompt));
                let ready = sprite_gen.status().is_ready() && !edit.prompt.trim().is_empty();
                let button = ui.add_enabled(ready, egui::Button::new("Apply edit"));
                layout.edit_apply = Some(to_rect(button.rect));
                apply = button.clicked();
            });
        if apply {
            sprite_gen.generate(edit.request());
            open = false;
        }
        if !open {
            form.edit = None;
        }
    } else if form
        .edit
        .as_ref()
        .is_some_and(|e| sprite_gen.entry(&e.name).is_none())
    {
        form.edit = None; // the sprite left the manifest
    }
    Ok(())
}

/// Where the edit window's picture and prompt were drawn.
struct EditRects {
    picture: egui::Rect,
    prompt: egui::Rect,
}

/// The sprite at an integer zoom; a drag on it selects the region to repaint (sprite pixels).
fn edit_ui(
    ui: &mut egui::Ui,
    edit: &mut EditForm,
    texture: egui::TextureId,
    size: UVec2,
) -> EditRects {
    let longer = size.x.max(size.y).max(1) as f32;
    let zoom = (EDIT_PICTURE / longer).floor().max(1.0);
    let shown = egui::vec2(size.x as f32 * zoom, size.y as f32 * zoom);
    let picture = ui.add(
        egui::Image::new(egui::load::SizedTexture::new(texture, shown)).sense(egui::Sense::drag()),
    );
    let to_pixel = |p: egui::Pos2| {
        let x = ((p.x - picture.rect.min.x) / zoom).clamp(0.0, size.x as f32 - 1.0);
        let y = ((p.y - picture.rect.min.y) / zoom).clamp(0.0, size.y as f32 - 1.0);
        (x as u32, y as u32)
    };
    if let Some(pos) = picture.interact_pointer_pos() {
        let here = to_pixel(pos);
        if picture.drag_started() || edit.anchor.is_none() {
            edit.anchor = Some(here);
        }
        if let Some((ax, ay)) = edit.anchor {
            let (x0, y0) = (ax.min(here.0), ay.min(here.1));
            edit.mask = Some((x0, y0, ax.max(here.0) - x0 + 1, ay.max(here.1) - y0 + 1));
        }
    }
    if picture.drag_stopped() {
        edit.anchor = None;
    }
    if let Some((x, y, w, h)) = edit.mask {
        let min = picture.rect.min + egui::vec2(x as f32 * zoom, y as f32 * zoom);
        let rect = egui::Rect::from_min_size(min, egui::vec2(w as f32 * zoom, h as f32 * zoom));
        let stroke = egui::Stroke::new(1.5, egui::Color32::YELLOW);
        ui.painter()
            .rect_stroke(rect, 0.0, stroke, egui::StrokeKind::Inside);
        ui.label(format!("repaint x {x}, y {y}, {w}×{h} px (drag to change)"));
    } else {
        ui.label("drag on the picture to choose what to repaint (none: the whole sprite)");
    }
    ui.add(egui::Slider::new(&mut edit.strength, 0.1..=1.0).text("strength"));
    ui.label("What to paint there");
    let prompt = ui.text_edit_multiline(&mut edit.prompt).rect;
    EditRects {
        picture: picture.rect,
        prompt,
    }
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
