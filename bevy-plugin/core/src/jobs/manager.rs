//! The job table and one thread per job driving it through the daemon's tools:
//! `generate_sprite` (wait_s small → job id), then `wait_job` polls with progress, `cancel_job`
//! on cancel, and `get_job` to recover a job after a daemon restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use serde_json::{json, Value};

use super::model::{JobId, JobOptions, JobSnapshot, JobState};
use super::report::{interpret, result_path, Reported};
use super::request::GenerateRequest;
use crate::daemon::{DaemonStatus, Supervisor};
use crate::events::Event;
use crate::mcp::{CancelToken, McpClient, McpError, Progress, ProgressHandler, RequestOptions};

struct Record {
    snapshot: JobSnapshot,
    cancel: CancelToken,
    started: Instant,
}

/// All jobs of one service.
pub struct JobManager {
    table: Mutex<BTreeMap<JobId, Record>>,
    next_id: AtomicU64,
    events: Sender<Event>,
    supervisor: Arc<Supervisor>,
    opts: JobOptions,
    request_timeout: Duration,
}

enum Outcome {
    Finished(Value),
    Failed(String),
    Cancelled(Option<String>),
}

impl JobManager {
    pub fn new(
        supervisor: Arc<Supervisor>,
        events: Sender<Event>,
        opts: JobOptions,
        request_timeout: Duration,
    ) -> Self {
        Self {
            table: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            events,
            supervisor,
            opts,
            request_timeout,
        }
    }

    /// Registers the job and starts it on its own thread; returns at once.
    pub fn submit(self: &Arc<Self>, request: GenerateRequest) -> JobId {
        let id = JobId(self.next_id.fetch_add(1, Ordering::SeqCst));
        let cancel = CancelToken::new();
        let snapshot = JobSnapshot {
            id,
            name: request.name.clone(),
            prompt: request.prompt.clone(),
            state: JobState::Waiting,
            progress: None,
            message: None,
            daemon_job_id: None,
            path: None,
            error: None,
            elapsed: Duration::ZERO,
        };
        let record = Record {
            snapshot,
            cancel: cancel.clone(),
            started: Instant::now(),
        };
        self.table.lock().expect("jobs lock").insert(id, record);
        let jobs = Arc::clone(self);
        thread::Builder::new()
            .name(format!("sprite-{id}"))
            .spawn(move || {
                let outcome = jobs.drive(id, &request, &cancel);
                jobs.finish(id, &request, outcome);
            })
            .expect("spawning a job thread");
        id
    }

    /// Asks an active job to stop; false when it is unknown or already ended.
    pub fn cancel(&self, id: JobId) -> bool {
        let table = self.table.lock().expect("jobs lock");
        match table.get(&id) {
            Some(r) if r.snapshot.state.is_active() => {
                r.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    pub fn get(&self, id: JobId) -> Option<JobSnapshot> {
        self.table
            .lock()
            .expect("jobs lock")
            .get(&id)
            .map(snapshot_of)
    }

    /// Every job, oldest first.
    pub fn snapshots(&self) -> Vec<JobSnapshot> {
        self.table
            .lock()
            .expect("jobs lock")
            .values()
            .map(snapshot_of)
            .collect()
    }

    /// Cancels every active job (used at shutdown).
    pub fn cancel_all(&self) {
        for r in self.table.lock().expect("jobs lock").values() {
            r.cancel.cancel();
        }
    }

    fn update(&self, id: JobId, f: impl FnOnce(&mut JobSnapshot)) {
        if let Some(r) = self.table.lock().expect("jobs lock").get_mut(&id) {
            f(&mut r.snapshot);
        }
    }

    fn progress_handler(self: &Arc<Self>, id: JobId) -> ProgressHandler {
        let jobs = Arc::clone(self);
        Arc::new(move |p: Progress| {
            let fraction = p.fraction();
            jobs.update(id, |s| {
                s.progress = fraction.or(s.progress);
                s.message = p.message.clone().or(s.message.take());
            });
            let _ = jobs.events.send(Event::Progress {
                job: id,
                fraction,
                message: p.message,
            });
        })
    }

    fn finish(&self, id: JobId, request: &GenerateRequest, outcome: Outcome) {
        let event = {
            let mut table = self.table.lock().expect("jobs lock");
            let Some(r) = table.get_mut(&id) else { return };
            let s = &mut r.snapshot;
            s.elapsed = r.started.elapsed();
            match outcome {
                Outcome::Finished(result) => {
                    s.state = JobState::Finished;
                    s.progress = Some(1.0);
                    s.path = result_path(&result);
                    Event::Finished {
                        job: id,
                        name: request.name.clone(),
                        path: s.path.clone(),
                        result,
                    }
                }
                Outcome::Failed(error) => {
                    s.state = JobState::Failed;
                    s.error = Some(error.clone());
                    Event::Failed { job: id, error }
                }
                Outcome::Cancelled(note) => {
                    s.state = JobState::Cancelled;
                    s.message = note.clone().or(s.message.take());
                    Event::Cancelled { job: id, note }
                }
            }
        };
        log::info!("sprite {id}: {event:?}");
        let _ = self.events.send(event);
    }

    fn drive(
        self: &Arc<Self>,
        id: JobId,
        request: &GenerateRequest,
        cancel: &CancelToken,
    ) -> Outcome {
        let keep_waiting = || !cancel.is_cancelled();
        let (mut client, mut generation) =
            match self
                .supervisor
                .wait_ready(0, self.opts.ready_timeout, &keep_waiting)
            {
                Ok(ready) => ready,
                Err(_) if cancel.is_cancelled() => return Outcome::Cancelled(None),
                Err(e) => return Outcome::Failed(format!("{id} could not start: {e}")),
            };
        self.update(id, |s| s.state = JobState::Submitted);
        let progress = self.progress_handler(id);
        let opts = |wait_s: f64| RequestOptions {
            idle_timeout: self.request_timeout + Duration::from_secs_f64(wait_s),
            total_timeout: None,
            progress: Some(Arc::clone(&progress)),
            cancel: Some(cancel.clone()),
        };
        let submitted = client.call_tool(
            request.tool,
            request.to_arguments(self.opts.submit_wait_s),
            &opts(self.opts.submit_wait_s),
        );
        let daemon_id = match submitted.map(|out| interpret(&out.structured)) {
            Ok(Ok(Reported::Running {
                daemon_job_id,
                fraction,
                message,
            })) => {
                self.running(id, &daemon_job_id, fraction, message);
                daemon_job_id
            }
            Ok(Ok(ended)) => return ended_outcome(ended),
            Ok(Err(detail)) => return Outcome::Failed(format!("{}: {detail}", request.tool)),
            Err(McpError::Cancelled { .. }) => {
                // The daemon cancels the job itself when its generate_sprite call is cancelled.
                return Outcome::Cancelled(None);
            }
            Err(McpError::Tool { message, .. }) => return Outcome::Failed(message),
            Err(e) if e.is_disconnect() => {
                return Outcome::Failed(format!(
                    "the daemon crashed before it answered generate_sprite for {id}, so the job cannot be recovered: {e}{}",
                    self.crash_detail()
                ))
            }
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let mut timeouts = 0;
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return self.cancel_remote(&client, &daemon_id);
            }
            if started.elapsed() >= self.opts.max_duration {
                let limit = self.opts.max_duration.as_secs_f64();
                return match self.cancel_remote(&client, &daemon_id) {
                    Outcome::Cancelled(_) => Outcome::Failed(format!(
                        "daemon job {daemon_id} was still running after {limit} s (JobOptions::max_duration); it was cancelled"
                    )),
                    ended => ended,
                };
            }
            let args = json!({"job_id": daemon_id, "timeout_s": self.opts.poll_wait_s});
            let polled = client.call_tool("wait_job", args, &opts(self.opts.poll_wait_s));
            let reported = match polled {
                Ok(out) => interpret(&out.structured),
                Err(McpError::Cancelled { .. }) => continue,
                Err(McpError::Tool { message, .. }) => {
                    return Outcome::Failed(format!("daemon job {daemon_id}: {message}"))
                }
                Err(McpError::Timeout { .. }) if timeouts < 2 => {
                    timeouts += 1;
                    continue;
                }
                Err(e) if e.is_disconnect() => {
                    match self.recover(id, &daemon_id, generation, cancel) {
                        Ok((c, g, reported)) => {
                            client = c;
                            generation = g;
                            Ok(reported)
                        }
                        Err(outcome) => return outcome,
                    }
                }
                Err(e) => return Outcome::Failed(format!("daemon job {daemon_id}: {e}")),
            };
            match reported {
                Ok(Reported::Running {
                    fraction, message, ..
                }) => self.running(id, &daemon_id, fraction, message),
                Ok(ended) => return ended_outcome(ended),
                Err(detail) => return Outcome::Failed(format!("wait_job: {detail}")),
            }
        }
    }

    fn running(&self, id: JobId, daemon_id: &str, fraction: Option<f64>, message: Option<String>) {
        self.update(id, |s| {
            s.state = JobState::Running;
            s.daemon_job_id = Some(daemon_id.to_owned());
            s.progress = fraction.or(s.progress);
            s.message = message.or(s.message.take());
        });
    }

    /// After a crash: wait for the restarted daemon and ask it about the job.
    fn recover(
        &self,
        id: JobId,
        daemon_id: &str,
        generation: u64,
        cancel: &CancelToken,
    ) -> Result<(McpClient, u64, Reported), Outcome> {
        let crash = self.crash_detail();
        self.update(id, |s| {
            s.message = Some("daemon restarting; recovering the job".into())
        });
        let keep_waiting = || !cancel.is_cancelled();
        let (client, generation) =
            match self.supervisor.wait_ready(generation, self.opts.recover_timeout, &keep_waiting) {
                Ok(ready) => ready,
                Err(_) if cancel.is_cancelled() => {
                    return Err(Outcome::Cancelled(Some("cancelled while the daemon was down".into())))
                }
                Err(e) => {
                    return Err(Outcome::Failed(format!(
                        "the daemon crashed while job {daemon_id} was running and did not come back: {e}{crash}"
                    )))
                }
            };
        let opts = RequestOptions::timeout(self.request_timeout);
        match client.call_tool("get_job", json!({"job_id": daemon_id}), &opts) {
            Ok(out) => match interpret(&out.structured) {
                Ok(Reported::Failed(error)) => Err(Outcome::Failed(format!(
                    "the daemon crashed while job {daemon_id} was running; after the restart it reports: {error}"
                ))),
                Ok(reported) => {
                    log::info!("{id}: recovered daemon job {daemon_id} after a restart");
                    Ok((client, generation, reported))
                }
                Err(detail) => Err(Outcome::Failed(format!("get_job after restart: {detail}"))),
            },
            Err(e) => Err(Outcome::Failed(format!(
                "the daemon crashed while job {daemon_id} was running; after the restart it cannot report the job ({e}); generate it again{crash}"
            ))),
        }
    }

    fn cancel_remote(&self, client: &McpClient, daemon_id: &str) -> Outcome {
        let opts = RequestOptions::timeout(self.opts.cancel_timeout);
        match client.call_tool("cancel_job", json!({"job_id": daemon_id}), &opts) {
            Ok(out) => match interpret(&out.structured) {
                // It ended before the cancel arrived: report what really happened.
                Ok(Reported::Finished(result)) => Outcome::Finished(result),
                Ok(Reported::Failed(error)) => Outcome::Failed(error),
                _ => Outcome::Cancelled(None),
            },
            Err(e) => Outcome::Cancelled(Some(format!(
                "the daemon did not confirm the cancel of job {daemon_id}: {e}"
            ))),
        }
    }

    fn crash_detail(&self) -> String {
        match self.supervisor.status() {
            DaemonStatus::Crashed {
                reason,
                stderr_tail,
                ..
            } => {
                let tail = stderr_tail
                    .iter()
                    .rev()
                    .take(3)
                    .rev()
                    .cloned()
                    .collect::<Vec<_>>();
                format!(" ({reason}; last stderr: {})", tail.join(" | "))
            }
            _ => String::new(),
        }
    }
}

fn snapshot_of(r: &Record) -> JobSnapshot {
    let mut s = r.snapshot.clone();
    if s.state.is_active() {
        s.elapsed = r.started.elapsed();
    }
    s
}

fn ended_outcome(reported: Reported) -> Outcome {
    match reported {
        Reported::Finished(result) => Outcome::Finished(result),
        Reported::Failed(error) => Outcome::Failed(error),
        Reported::Cancelled => Outcome::Cancelled(None),
        Reported::Running { daemon_job_id, .. } => {
            Outcome::Failed(format!("internal: job {daemon_job_id} is still running"))
        }
    }
}
