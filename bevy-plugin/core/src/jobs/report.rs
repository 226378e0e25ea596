//! Reads the daemon's job result (`structuredContent` of generate_sprite / get_job / wait_job /
//! cancel_job): `status` success | queued | running | error | cancelled.

use serde_json::Value;

/// What the daemon says about a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Reported {
    Running {
        daemon_job_id: String,
        fraction: Option<f64>,
        message: Option<String>,
    },
    Finished(Value),
    Failed(String),
    Cancelled,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Interprets one job result. Errors name what was missing.
pub fn interpret(result: &Value) -> Result<Reported, String> {
    let status = text(result, "status");
    match status.as_deref() {
        Some("success") => Ok(Reported::Finished(result.clone())),
        Some("error") => Ok(Reported::Failed(
            text(result, "error")
                .unwrap_or_else(|| "the daemon reported an error without a message".into()),
        )),
        Some("cancelled") => Ok(Reported::Cancelled),
        Some("running") | Some("queued") => {
            let daemon_job_id = text(result, "job_id")
                .ok_or_else(|| format!("status {status:?} without a job_id in {result}"))?;
            Ok(Reported::Running {
                daemon_job_id,
                fraction: result
                    .get("progress")
                    .and_then(Value::as_f64)
                    .map(|p| (p / 100.0).clamp(0.0, 1.0)),
                message: text(result, "message"),
            })
        }
        Some(other) => Err(format!(
            "unknown job status '{other}'; expected success, queued, running, error or cancelled"
        )),
        None => Err(format!(
            "job result without a status: {}",
            crate::jsonrpc::preview(result)
        )),
    }
}

/// Where the sprite went: `deployed_path` (relative to the assets root) else `output_path`.
pub fn result_path(result: &Value) -> Option<String> {
    text(result, "deployed_path").or_else(|| text(result, "output_path"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_status() {
        let cases = [
            (json!({"status":"success","job_id":"j1"}), Ok(Reported::Finished(json!({"status":"success","job_id":"j1"})))),
            (json!({"status":"error","error":"Backend connection failed: x"}), Ok(Reported::Failed("Backend connection failed: x".into()))),
            (json!({"status":"cancelled"}), Ok(Reported::Cancelled)),
            (json!({"status":"running","job_id":"j2","progress":40,"message":"step 4/10"}),
             Ok(Reported::Running { daemon_job_id: "j2".into(), fraction: Some(0.4), message: Some("step 4/10".into()) })),
            (json!({"status":"queued","job_id":"j3"}), Ok(Reported::Running { daemon_job_id: "j3".into(), fraction: None, message: None })),
            (json!({"status":"running"}), Err("status Some(\"running\") without a job_id in {\"status\":\"running\"}".into())),
            (json!({"status":"weird"}), Err("unknown job status 'weird'; expected success, queued, running, error or cancelled".into())),
            (json!({}), Err("job result without a status: {}".into())),
        ];
        for (input, expected) in cases {
            assert_eq!(interpret(&input), expected, "input {input}");
        }
    }

    #[test]
    fn prefers_the_deployed_path() {
        assert_eq!(
            result_path(&json!({"output_path":"/s/a.png","deployed_path":"sprites/a.png"}))
                .as_deref(),
            Some("sprites/a.png")
        );
        assert_eq!(
            result_path(&json!({"output_path":"/s/a.png","deployed_path":null})).as_deref(),
            Some("/s/a.png")
        );
    }
}
