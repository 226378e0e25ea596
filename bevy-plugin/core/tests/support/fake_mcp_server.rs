//! A scripted MCP server over stdio for misbehaviour tests. It speaks just enough of the
//! dgx-pixels daemon's tools (generate_sprite, wait_job, get_job, cancel_job) with jobs that
//! progress on a timer, and misbehaves on request:
//!
//!   --crash-after N        exit(3) after reading N messages (a torn line on stdout first)
//!   --crash-once MARKER    only crash when MARKER does not exist yet (then create it)
//!   --state FILE           keep jobs in FILE so a restarted server still knows them
//!   --garbage              surround every reply with non-JSON lines, CRLF, a 200 KB line
//!   --slow-ms N            delay every reply by N ms
//!   --ignore-cancel        ignore notifications/cancelled and never answer cancel_job
//!   --ignore-eof           keep running after stdin closes (until killed)
//!   --protocol V           answer initialize with version V
//!   --job-ms N             a job takes N ms (default 600)

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

#[derive(Default, Clone)]
struct Opts {
    crash_after: Option<usize>,
    crash_once: Option<String>,
    state: Option<String>,
    garbage: bool,
    slow_ms: u64,
    ignore_cancel: bool,
    ignore_eof: bool,
    protocol: Option<String>,
    job_ms: u64,
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        job_ms: 600,
        ..Default::default()
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let next = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--crash-after" => {
                o.crash_after = next().parse().ok();
                i += 1
            }
            "--crash-once" => {
                o.crash_once = Some(next());
                i += 1
            }
            "--state" => {
                o.state = Some(next());
                i += 1
            }
            "--garbage" => o.garbage = true,
            "--slow-ms" => {
                o.slow_ms = next().parse().unwrap_or(0);
                i += 1
            }
            "--ignore-cancel" => o.ignore_cancel = true,
            "--ignore-eof" => o.ignore_eof = true,
            "--protocol" => {
                o.protocol = Some(next());
                i += 1
            }
            "--job-ms" => {
                o.job_ms = next().parse().unwrap_or(600);
                i += 1
            }
            other => eprintln!("fake: unknown argument {other}"),
        }
        i += 1;
    }
    o
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

struct Server {
    opts: Opts,
    out: Mutex<std::io::Stdout>,
    /// job id → {start_ms, total_ms, cancelled, name}
    jobs: Mutex<HashMap<String, Value>>,
    cancelled_requests: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl Server {
    fn send(&self, message: Value) {
        if self.opts.slow_ms > 0 {
            thread::sleep(Duration::from_millis(self.opts.slow_ms));
        }
        let mut out = self.out.lock().unwrap();
        if self.opts.garbage {
            let _ = out.write_all(b"fake: this is not JSON\r\n\r\n[1,2,3]\n");
            let _ = out.write_all(&vec![b'z'; 200_000]);
            let _ = out.write_all(b"\n");
        }
        let _ = out.write_all(format!("{message}\r\n").as_bytes());
        let _ = out.flush();
    }

    fn save(&self) {
        if let Some(path) = &self.opts.state {
            let jobs = self.jobs.lock().unwrap();
            let _ = std::fs::write(path, serde_json::to_vec(&*jobs).unwrap());
        }
    }

    fn job_view(&self, id: &str) -> Option<Value> {
        let jobs = self.jobs.lock().unwrap();
        let job = jobs.get(id)?;
        let elapsed = now_ms().saturating_sub(job["start_ms"].as_u64().unwrap());
        let total = job["total_ms"].as_u64().unwrap().max(1);
        let percent = (elapsed * 100 / total).min(100);
        let name = job["name"].as_str().unwrap_or("sprite");
        Some(if job["cancelled"].as_bool() == Some(true) {
            json!({"status": "cancelled", "job_id": id, "output_path": null, "generation_time": null, "error": null})
        } else if percent >= 100 {
            json!({"status": "success", "job_id": id, "output_path": format!("/tmp/fake/{id}.png"),
                   "generation_time": total as f64 / 1000.0, "error": null,
                   "deployed_path": format!("sprites/{name}.png"), "manifest_updated": true})
        } else {
            json!({"status": "running", "job_id": id, "output_path": null, "generation_time": null,
                   "error": null, "progress": percent, "message": format!("step {percent}%")})
        })
    }

    /// Waits up to `wait_ms` for the job to end, sending progress for `token`.
    fn wait(
        &self,
        id: &str,
        wait_ms: u64,
        token: &Option<Value>,
        cancelled: &AtomicBool,
    ) -> Option<Value> {
        let deadline = now_ms() + wait_ms;
        let mut last = -1i64;
        loop {
            let view = self.job_view(id)?;
            let progress = view["progress"].as_i64().unwrap_or(100);
            if let Some(token) = token {
                if progress > last {
                    last = progress;
                    self.send(json!({"jsonrpc": "2.0", "method": "notifications/progress",
                        "params": {"progressToken": token, "progress": progress, "total": 100,
                                   "message": format!("{}: step {progress}", view["status"].as_str().unwrap())}}));
                }
            }
            if view["status"] != "running"
                || now_ms() >= deadline
                || cancelled.load(Ordering::SeqCst)
            {
                return Some(view);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn call_tool(
        &self,
        name: &str,
        args: &Value,
        token: Option<Value>,
        cancelled: &AtomicBool,
    ) -> Value {
        let err =
            |text: String| json!({"isError": true, "content": [{"type": "text", "text": text}]});
        let ok = |v: Value| json!({"content": [{"type": "text", "text": v.to_string()}], "structuredContent": v});
        let job_id = args["job_id"].as_str().unwrap_or("").to_owned();
        match name {
            "generate_sprite" => {
                let prompt = args["prompt"].as_str().unwrap_or("");
                if prompt.trim().is_empty() {
                    return err("Validation error in prompt: Prompt must not be empty".into());
                }
                let id = format!(
                    "fj-{}-{}",
                    std::process::id(),
                    self.jobs.lock().unwrap().len() + 1
                );
                let name = args["name"].as_str().unwrap_or("sprite").to_owned();
                self.jobs.lock().unwrap().insert(id.clone(), json!({"start_ms": now_ms(), "total_ms": self.opts.job_ms, "cancelled": false, "name": name}));
                self.save();
                let wait_ms = (args["wait_s"].as_f64().unwrap_or(0.0) * 1000.0) as u64;
                let view = self.wait(&id, wait_ms, &token, cancelled).unwrap();
                if cancelled.load(Ordering::SeqCst) && !self.opts.ignore_cancel {
                    self.cancel(&id);
                }
                ok(view)
            }
            "wait_job" => {
                let wait_ms = (args["timeout_s"].as_f64().unwrap_or(0.0) * 1000.0) as u64;
                match self.wait(&job_id, wait_ms, &token, cancelled) {
                    Some(view) => ok(view),
                    None => err(format!("Job not found: {job_id}")),
                }
            }
            "get_job" => match self.job_view(&job_id) {
                Some(view) => ok(view),
                None => err(format!("Job not found: {job_id}")),
            },
            "cancel_job" => {
                self.cancel(&job_id);
                match self.job_view(&job_id) {
                    Some(view) => ok(view),
                    None => err(format!("Job not found: {job_id}")),
                }
            }
            other => err(format!("MCP error -32602: Tool {other} not found")),
        }
    }

    fn cancel(&self, id: &str) {
        if let Some(job) = self.jobs.lock().unwrap().get_mut(id) {
            if job["status"] != "success" {
                job["cancelled"] = json!(true);
            }
        }
        self.save();
    }
}

fn main() {
    let opts = parse_opts();
    let jobs: HashMap<String, Value> = opts
        .state
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let crash_armed = match &opts.crash_once {
        Some(marker) => !std::path::Path::new(marker).exists(),
        None => true,
    };
    eprintln!(
        "fake: started pid {} with {} known jobs",
        std::process::id(),
        jobs.len()
    );
    let server = Arc::new(Server {
        opts: opts.clone(),
        out: Mutex::new(std::io::stdout()),
        jobs: Mutex::new(jobs),
        cancelled_requests: Mutex::new(HashMap::new()),
    });
    let stdin = std::io::stdin();
    let mut seen = 0usize;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        seen += 1;
        if crash_armed && opts.crash_after == Some(seen) {
            if let Some(marker) = &opts.crash_once {
                let _ = std::fs::write(marker, b"crashed");
            }
            eprintln!("fake: crashing on purpose after {seen} messages");
            let mut out = server.out.lock().unwrap();
            let _ = out.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":");
            let _ = out.flush();
            std::process::exit(3);
        }
        let method = msg["method"].as_str().unwrap_or("").to_owned();
        let id = msg.get("id").cloned();
        match (method.as_str(), id) {
            ("initialize", Some(id)) => {
                let asked = msg["params"]["protocolVersion"]
                    .as_str()
                    .unwrap_or("2025-11-25");
                let version = opts.protocol.clone().unwrap_or_else(|| asked.to_owned());
                server.send(json!({"jsonrpc": "2.0", "id": id, "result": {"protocolVersion": version,
                    "capabilities": {"tools": {}}, "serverInfo": {"name": "fake-dgx-pixels", "version": "0.0.1"}}}));
            }
            ("tools/list", Some(id)) => {
                let tools: Vec<Value> = ["generate_sprite", "wait_job", "get_job", "cancel_job"]
                    .iter()
                    .map(|n| json!({"name": n, "inputSchema": {"type": "object"}}))
                    .collect();
                server.send(json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools}}));
            }
            ("tools/call", Some(id)) => {
                let name = msg["params"]["name"].as_str().unwrap_or("").to_owned();
                if name == "cancel_job" && opts.ignore_cancel {
                    continue;
                }
                let flag = Arc::new(AtomicBool::new(false));
                server
                    .cancelled_requests
                    .lock()
                    .unwrap()
                    .insert(id.to_string(), Arc::clone(&flag));
                let server = Arc::clone(&server);
                thread::spawn(move || {
                    let args = msg["params"]["arguments"].clone();
                    let token = msg["params"]["_meta"]["progressToken"].clone();
                    let token = (!token.is_null()).then_some(token);
                    let result = server.call_tool(&name, &args, token, &flag);
                    if !flag.load(Ordering::SeqCst) || server.opts.ignore_cancel {
                        server.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
                    }
                });
            }
            ("notifications/cancelled", None) if !opts.ignore_cancel => {
                let key = msg["params"]["requestId"].to_string();
                if let Some(flag) = server.cancelled_requests.lock().unwrap().get(&key) {
                    flag.store(true, Ordering::SeqCst);
                }
            }
            (_, Some(id)) => server.send(json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": format!("Method not found: {method}")}})),
            _ => {}
        }
    }
    eprintln!("fake: stdin closed");
    if opts.ignore_eof {
        loop {
            thread::sleep(Duration::from_secs(1));
        }
    }
}
