//! Keeps one daemon running: start on request, restart with exponential backoff after a
//! crash, report every status change, stop cleanly.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::config::DaemonConfig;
use super::error::DaemonError;
use super::process::{describe_exit, DaemonProcess};
use crate::mcp::McpClient;

/// Where the daemon is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum DaemonStatus {
    Stopped,
    /// Spawned (or about to be); `attempt` counts consecutive failures before it.
    Starting {
        attempt: u32,
    },
    Ready {
        server: String,
        version: String,
        protocol_version: String,
        tools: Vec<String>,
        pid: u32,
    },
    /// Exited or failed to start. `restart_in` is `None` once the supervisor gave up.
    Crashed {
        reason: String,
        stderr_tail: Vec<String>,
        restart_in: Option<Duration>,
    },
}

impl DaemonStatus {
    pub fn is_ready(&self) -> bool {
        matches!(self, DaemonStatus::Ready { .. })
    }

    /// One short line for UIs and logs.
    pub fn label(&self) -> String {
        match self {
            DaemonStatus::Stopped => "stopped".into(),
            DaemonStatus::Starting { attempt: 0 } => "starting".into(),
            DaemonStatus::Starting { attempt } => format!("starting (retry {attempt})"),
            DaemonStatus::Ready {
                server, version, ..
            } => format!("ready ({server} {version})"),
            DaemonStatus::Crashed {
                reason,
                restart_in: Some(d),
                ..
            } => {
                format!("crashed: {reason}; restarting in {} ms", d.as_millis())
            }
            DaemonStatus::Crashed {
                reason,
                restart_in: None,
                ..
            } => format!("crashed: {reason}; gave up"),
        }
    }
}

/// Receives every status change (called on the supervisor thread).
pub type StatusSink = Box<dyn Fn(&DaemonStatus) + Send + Sync>;

struct State {
    status: DaemonStatus,
    client: Option<McpClient>,
    /// Increases with every successful start, so a caller can wait for a *new* daemon.
    generation: u64,
    want_running: bool,
    shut_down: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    sink: StatusSink,
    config: DaemonConfig,
}

/// Send + Sync; one thread per supervisor.
pub struct Supervisor {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

const MONITOR_TICK: Duration = Duration::from_millis(25);

impl Supervisor {
    /// Starts the supervisor thread; the daemon itself starts when `autostart` or after
    /// [`Supervisor::start_daemon`].
    pub fn new(config: DaemonConfig, autostart: bool, sink: StatusSink) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                status: DaemonStatus::Stopped,
                client: None,
                generation: 0,
                want_running: autostart,
                shut_down: false,
            }),
            changed: Condvar::new(),
            sink,
            config,
        });
        let thread = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("daemon-supervisor".into())
                .spawn(move || run(&shared))
                .expect("spawning the supervisor thread")
        };
        Self {
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Asks for the daemon to run (no-op when it does).
    pub fn start_daemon(&self) {
        self.lock().want_running = true;
        self.shared.changed.notify_all();
    }

    /// Stops the daemon but keeps the supervisor (start it again with `start_daemon`).
    pub fn stop_daemon(&self) {
        self.lock().want_running = false;
        self.shared.changed.notify_all();
    }

    pub fn status(&self) -> DaemonStatus {
        self.lock().status.clone()
    }

    /// The connected client and its generation while Ready.
    pub fn client(&self) -> Option<(McpClient, u64)> {
        let state = self.lock();
        state.client.clone().map(|c| (c, state.generation))
    }

    /// Waits until a daemon newer than `after_generation` is Ready (use 0 for any).
    /// `keep_waiting` is polled every 25 ms; returning false stops the wait early.
    pub fn wait_ready(
        &self,
        after_generation: u64,
        timeout: Duration,
        keep_waiting: &dyn Fn() -> bool,
    ) -> Result<(McpClient, u64), DaemonError> {
        let started = Instant::now();
        let mut state = self.lock();
        loop {
            if state.shut_down {
                return Err(DaemonError::ShutDown);
            }
            if let Some(client) = &state.client {
                if state.generation > after_generation && !client.is_closed() {
                    return Ok((client.clone(), state.generation));
                }
            }
            let waited = started.elapsed();
            if waited >= timeout || !keep_waiting() {
                return Err(DaemonError::NotReady {
                    status: state.status.label(),
                    waited,
                });
            }
            let slice = (timeout - waited).min(MONITOR_TICK);
            state = self
                .shared
                .changed
                .wait_timeout(state, slice)
                .expect("state lock")
                .0;
        }
    }

    /// Stops the daemon cleanly (within its `shutdown_grace`) and ends the supervisor thread.
    /// Idempotent.
    pub fn shutdown(&self) {
        self.lock().shut_down = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.lock().expect("thread lock").take() {
            let _ = thread.join();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().expect("state lock")
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn set_status(shared: &Shared, status: DaemonStatus, client: Option<McpClient>) {
    {
        let mut state = shared.state.lock().expect("state lock");
        if client.is_some() {
            state.generation += 1;
        }
        state.client = client;
        state.status = status.clone();
    }
    shared.changed.notify_all();
    log::info!("dgx-pixels daemon: {}", status.label());
    (shared.sink)(&status);
}

/// Sleeps up to `d`; true when asked to stop (shutdown or stop_daemon) meanwhile.
fn pause(shared: &Shared, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    let mut state = shared.state.lock().expect("state lock");
    loop {
        if state.shut_down || !state.want_running {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        state = shared
            .changed
            .wait_timeout(state, deadline - now)
            .expect("state lock")
            .0;
    }
}

fn run(shared: &Shared) {
    let policy = &shared.config.restart;
    let mut failures: u32 = 0;
    loop {
        {
            // Idle until asked to run or to end.
            let mut state = shared.state.lock().expect("state lock");
            while !state.want_running && !state.shut_down {
                state = shared.changed.wait(state).expect("state lock");
            }
            if state.shut_down {
                break;
            }
        }
        set_status(shared, DaemonStatus::Starting { attempt: failures }, None);
        let (reason, stderr_tail, was_stable) = match DaemonProcess::spawn(&shared.config) {
            Ok(process) => match supervise(shared, process) {
                Outcome::Stopped => {
                    failures = 0;
                    set_status(shared, DaemonStatus::Stopped, None);
                    continue;
                }
                Outcome::Crashed {
                    reason,
                    stderr_tail,
                    uptime,
                } => (reason, stderr_tail, uptime >= policy.stable_after),
            },
            Err(e) => {
                let tail = match &e {
                    DaemonError::Handshake { stderr_tail, .. } => stderr_tail.clone(),
                    _ => Vec::new(),
                };
                (e.to_string(), tail, false)
            }
        };
        failures = if was_stable { 1 } else { failures + 1 };
        let gave_up = policy.max_restarts.is_some_and(|max| failures > max);
        let backoff = policy
            .initial_backoff
            .saturating_mul(1 << (failures - 1).min(16))
            .min(policy.max_backoff);
        let restart_in = (!gave_up).then_some(backoff);
        log::warn!("dgx-pixels daemon crashed: {reason}; stderr tail: {stderr_tail:?}");
        set_status(
            shared,
            DaemonStatus::Crashed {
                reason,
                stderr_tail,
                restart_in,
            },
            None,
        );
        if gave_up {
            // Stay crashed until stopped or asked to start again.
            shared.state.lock().expect("state lock").want_running = false;
            failures = 0;
            continue;
        }
        if pause(shared, backoff) {
            let shut_down = shared.state.lock().expect("state lock").shut_down;
            if !shut_down {
                set_status(shared, DaemonStatus::Stopped, None);
            }
        }
    }
    let state = shared.state.lock().expect("state lock");
    let already = state.status == DaemonStatus::Stopped;
    drop(state);
    if !already {
        set_status(shared, DaemonStatus::Stopped, None);
    }
}

enum Outcome {
    Stopped,
    Crashed {
        reason: String,
        stderr_tail: Vec<String>,
        uptime: Duration,
    },
}

fn supervise(shared: &Shared, mut process: DaemonProcess) -> Outcome {
    let started = Instant::now();
    let tools = process
        .client
        .list_tools(shared.config.request_timeout)
        .map(|tools| tools.into_iter().map(|t| t.name).collect())
        .unwrap_or_else(|e| {
            log::warn!("tools/list failed after start: {e}");
            Vec::new()
        });
    let ready = DaemonStatus::Ready {
        server: process.init.server_name.clone(),
        version: process.init.server_version.clone(),
        protocol_version: process.init.protocol_version.clone(),
        tools,
        pid: process.pid(),
    };
    set_status(shared, ready, Some(process.client.clone()));
    loop {
        if pause(shared, MONITOR_TICK) {
            // Drop the client from the state first so no new request starts on it.
            shared.state.lock().expect("state lock").client = None;
            let how = process.shutdown(shared.config.shutdown_grace);
            log::info!("dgx-pixels daemon stopped: {how}");
            return Outcome::Stopped;
        }
        let mut exited = process.try_wait();
        if exited.is_none() && process.client.is_closed() {
            // stdout closes a moment before the exit status is reapable: give the exit a
            // chance to show so the report names it (signal, code) instead of a lost pipe.
            let deadline = Instant::now() + Duration::from_millis(300);
            while exited.is_none() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
                exited = process.try_wait();
            }
        }
        if exited.is_some() || process.client.is_closed() {
            let reason = match exited {
                Some(status) => format!("daemon exited ({})", describe_exit(status)),
                None => {
                    let why = process.client.close_reason().unwrap_or_default();
                    format!("daemon connection lost ({why}); process killed")
                }
            };
            shared.state.lock().expect("state lock").client = None;
            let tail = process.stderr.clone();
            if exited.is_some() {
                process.drain_stderr();
            }
            // Make sure it is gone (a closed stdout with a live process is a hung daemon).
            let _ = process.shutdown(Duration::from_millis(200));
            let stderr_tail = tail.lines();
            return Outcome::Crashed {
                reason,
                stderr_tail,
                uptime: started.elapsed(),
            };
        }
    }
}
