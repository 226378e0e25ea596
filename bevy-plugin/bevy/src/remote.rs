//! Bevy Remote Protocol methods (feature `remote`), so an agent that drives the running game
//! over BRP (JSON-RPC on 127.0.0.1:15702 with `RemoteHttpPlugin`) can ask for a sprite and
//! follow it:
//!
//! - `dgx_pixels/generate` `{name, prompt, style?, width?, height?, palette?, frames?, seed?,
//!   deploy?}` → `{job}` at once (the sprite appears when the daemon deploys it)
//! - `dgx_pixels/status` → `{daemon, ready, pid, sprites: [{name, path, revision, loaded, loading}]}`
//! - `dgx_pixels/jobs` `{job?}` → `{jobs: [{job, name, state, progress, error, path}]}`
//!
//! Add Bevy's `RemotePlugin` (and `RemoteHttpPlugin`) yourself; these methods are registered
//! once every plugin is built, whichever order they were added in.

use bevy::prelude::*;
use bevy::remote::{
    error_codes, BrpError, BrpResult, RemoteMethodSystemId, RemoteMethods, RemotePlugin,
};
use bevy_plugin_core::{DaemonStatus, GenerateRequest, JobSnapshot};
use serde_json::{json, Map, Value};

use crate::param::SpriteGen;
use crate::sprite::GeneratedSprites;

pub const GENERATE_METHOD: &str = "dgx_pixels/generate";
pub const STATUS_METHOD: &str = "dgx_pixels/status";
pub const JOBS_METHOD: &str = "dgx_pixels/jobs";

/// Called from `SpriteGenPlugin::finish`: after `RemotePlugin::build` made `RemoteMethods`.
pub(crate) fn register_methods(app: &mut App) {
    if !app.is_plugin_added::<RemotePlugin>() {
        return;
    }
    let world = app.world_mut();
    let generate = world.register_system(brp_generate);
    let status = world.register_system(brp_status);
    let jobs = world.register_system(brp_jobs);
    let mut methods = world.resource_mut::<RemoteMethods>();
    methods.insert(GENERATE_METHOD, RemoteMethodSystemId::Instant(generate));
    methods.insert(STATUS_METHOD, RemoteMethodSystemId::Instant(status));
    methods.insert(JOBS_METHOD, RemoteMethodSystemId::Instant(jobs));
}

fn invalid(field: &str, fix: &str) -> BrpError {
    BrpError {
        code: error_codes::INVALID_PARAMS,
        message: format!("{field}: {fix}"),
        data: None,
    }
}

fn string_field(params: &Map<String, Value>, key: &str) -> BrpResult<Option<String>> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(key, &format!("expected a string, got {other}"))),
    }
}

fn u64_field(params: &Map<String, Value>, key: &str) -> BrpResult<Option<u64>> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(key, &format!("expected a whole number ≥ 0, got {v}"))),
    }
}

fn u32_field(params: &Map<String, Value>, key: &str) -> BrpResult<Option<u32>> {
    u64_field(params, key)?
        .map(|v| u32::try_from(v).map_err(|_| invalid(key, "too large")))
        .transpose()
}

/// Parses `dgx_pixels/generate` params into a request. Only shape is checked here; the
/// daemon validates values and its answer arrives as the job's error.
fn generate_request(params: Option<Value>) -> BrpResult<GenerateRequest> {
    let Some(Value::Object(params)) = params else {
        return Err(invalid(
            "params",
            "expected an object such as {\"name\": \"slime\", \"prompt\": \"a green slime\"}",
        ));
    };
    let name = string_field(&params, "name")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            invalid(
                "name",
                "required: the sprite's manifest name, e.g. \"slime\"",
            )
        })?;
    let prompt = string_field(&params, "prompt")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("prompt", "required: what to draw, e.g. \"a green slime\""))?;
    let mut request = GenerateRequest::sprite(name, prompt);
    if let Some(style) = string_field(&params, "style")? {
        request = request.style(style);
    }
    if let Some(palette) = string_field(&params, "palette")? {
        request = request.palette(palette);
    }
    match (u32_field(&params, "width")?, u32_field(&params, "height")?) {
        (Some(w), Some(h)) => request = request.size(w, h),
        (Some(s), None) | (None, Some(s)) => request = request.size(s, s),
        (None, None) => {}
    }
    if let Some(frames) = u32_field(&params, "frames")? {
        request = request.frames(frames);
    }
    if let Some(seed) = u64_field(&params, "seed")? {
        request = request.seed(seed);
    }
    match params.get("deploy") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(deploy)) => request.deploy = *deploy,
        Some(other) => {
            return Err(invalid(
                "deploy",
                &format!("expected true or false, got {other}"),
            ))
        }
    }
    Ok(request)
}

fn brp_generate(In(params): In<Option<Value>>, sprite_gen: SpriteGen) -> BrpResult {
    let request = generate_request(params)?;
    let name = request.name.clone();
    let job = sprite_gen.generate(request);
    Ok(json!({ "job": job.to_string(), "name": name }))
}

fn brp_status(
    In(_): In<Option<Value>>,
    sprite_gen: SpriteGen,
    sprites: Res<GeneratedSprites>,
) -> BrpResult {
    let status = sprite_gen.status();
    let listed: Vec<Value> = sprite_gen
        .entries()
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "path": e.path,
                "revision": e.revision,
                "loaded": sprites.loaded.contains_key(&e.name),
                "loading": sprites.is_loading(&e.name),
            })
        })
        .collect();
    let pid = match status {
        DaemonStatus::Ready { pid, .. } => Some(pid),
        _ => None,
    };
    Ok(json!({
        "daemon": status.label(),
        "ready": status.is_ready(),
        "pid": pid,
        "sprites": listed,
    }))
}

fn job_json(job: &JobSnapshot) -> Value {
    json!({
        "job": job.id.to_string(),
        "name": job.name,
        "state": job.state.label(),
        "progress": job.progress,
        "error": job.error,
        "path": job.path,
    })
}

fn brp_jobs(In(params): In<Option<Value>>, sprite_gen: SpriteGen) -> BrpResult {
    let wanted = match &params {
        Some(Value::Object(p)) => string_field(p, "job")?,
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(invalid(
                "params",
                "expected an object like {\"job\": \"3\"} or nothing",
            ))
        }
    };
    let jobs: Vec<Value> = sprite_gen
        .jobs()
        .iter()
        .filter(|j| wanted.as_deref().is_none_or(|w| j.id.to_string() == w))
        .map(job_json)
        .collect();
    if let Some(w) = wanted {
        if jobs.is_empty() {
            return Err(invalid(
                "job",
                &format!("no job {w} in this run; list them with {JOBS_METHOD} and no params"),
            ));
        }
    }
    Ok(json!({ "jobs": jobs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_params_name_the_bad_field() {
        let err = generate_request(Some(json!({"prompt": "x"}))).unwrap_err();
        assert!(err.message.starts_with("name:"), "{}", err.message);
        let err =
            generate_request(Some(json!({"name": "a", "prompt": "x", "width": -3}))).unwrap_err();
        assert!(err.message.starts_with("width:"), "{}", err.message);
        let err = generate_request(None).unwrap_err();
        assert_eq!(err.code, error_codes::INVALID_PARAMS);
        let ok = generate_request(Some(
            json!({"name": "a", "prompt": "x", "width": 16, "frames": 4, "deploy": false}),
        ))
        .unwrap();
        assert_eq!(ok.size, Some((16, 16)));
        assert_eq!(ok.animation_frames, Some(4));
        assert!(!ok.deploy);
    }
}
