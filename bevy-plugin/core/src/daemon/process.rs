//! One run of the daemon child process: spawn, handshake, stderr tail, clean shutdown.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::config::DaemonConfig;
use super::error::DaemonError;
use crate::mcp::{InitializeResult, McpClient};

const STDERR_TAIL_LINES: usize = 40;

/// The last lines the daemon wrote to stderr (its log), for crash reports.
#[derive(Clone, Default)]
pub struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().expect("stderr tail lock");
        if lines.len() == STDERR_TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// A copy of the buffered lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("stderr tail lock")
            .iter()
            .cloned()
            .collect()
    }
}

/// A running, initialised daemon.
pub struct DaemonProcess {
    child: Child,
    pub client: McpClient,
    pub init: InitializeResult,
    pub stderr: StderrTail,
    stderr_thread: Option<thread::JoinHandle<()>>,
}

impl DaemonProcess {
    /// Spawns the command and performs the MCP handshake within `config.startup_timeout`.
    pub fn spawn(config: &DaemonConfig) -> Result<DaemonProcess, DaemonError> {
        let mut command = Command::new(&config.program);
        command
            .args(&config.args)
            .envs(config.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cwd) = &config.cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn().map_err(|source| DaemonError::Spawn {
            program: PathBuf::from(&config.program),
            args: config.args.clone(),
            source,
        })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let tail = StderrTail::default();
        let stderr_thread = {
            let tail = tail.clone();
            thread::Builder::new()
                .name("daemon-stderr".into())
                .spawn(move || {
                    for line in BufReader::new(stderr).lines() {
                        let Ok(line) = line else { break };
                        log::debug!(target: "dgx_pixels_daemon", "{line}");
                        tail.push(line);
                    }
                })
                .expect("spawning the daemon stderr thread")
        };
        match McpClient::connect(stdout, stdin, &config.client, config.startup_timeout) {
            Ok((client, init)) => Ok(DaemonProcess {
                child,
                client,
                init,
                stderr: tail,
                stderr_thread: Some(stderr_thread),
            }),
            Err(source) => {
                let _ = child.kill();
                let status = child.wait().ok();
                let _ = stderr_thread.join();
                Err(DaemonError::Handshake {
                    program: PathBuf::from(&config.program),
                    exit: status.map(describe_exit),
                    source: Box::new(source),
                    stderr_tail: tail.lines(),
                })
            }
        }
    }

    /// The child's OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the child has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits (≤ 1 s) for the stderr reader to drain after an exit, so the tail is complete.
    pub fn drain_stderr(&mut self) {
        let Some(handle) = self.stderr_thread.take() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        while !handle.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        if handle.is_finished() {
            let _ = handle.join();
        }
    }

    /// Clean stop, bounded by `grace`: close stdin (the daemon exits on EOF), wait; then
    /// SIGTERM and wait a little; then SIGKILL. Returns how it ended.
    pub fn shutdown(mut self, grace: Duration) -> String {
        let started = Instant::now();
        self.client.close();
        if let Some(status) = wait_until(&mut self.child, started + grace.mul_f32(0.7)) {
            return format!("exited after stdin closed ({})", describe_exit(status));
        }
        terminate(&self.child);
        if let Some(status) = wait_until(&mut self.child, started + grace) {
            return format!("exited after SIGTERM ({})", describe_exit(status));
        }
        let _ = self.child.kill();
        let status = self.child.wait();
        format!(
            "killed after {} ms ({:?})",
            started.elapsed().as_millis(),
            status.ok()
        )
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        // Never leave an orphan daemon behind: a DaemonProcess dropped without shutdown() is
        // killed at once.
        if self.try_wait().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(unix)]
fn terminate(child: &Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    #[expect(unsafe_code, reason = "kill(2) has no safe std wrapper for SIGTERM")]
    // SAFETY: kill() with a pid we own and a valid signal number has no memory effects.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {}

/// "exit code 3" / "killed by signal 9".
pub fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "unknown exit".into(),
    }
}
