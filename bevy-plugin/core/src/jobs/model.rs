//! Job ids, states and the snapshot UIs show.

use std::fmt;
use std::time::Duration;

/// Our id for a job, handed out by `submit` before the daemon has seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job-{}", self.0)
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for the daemon to be ready.
    Waiting,
    /// `generate_sprite` sent, no daemon job id yet.
    Submitted,
    /// The daemon accepted it (`daemon_job_id` is set).
    Running,
    Finished,
    Failed,
    Cancelled,
}

impl JobState {
    /// Still going (can be cancelled).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            JobState::Waiting | JobState::Submitted | JobState::Running
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            JobState::Waiting => "waiting for daemon",
            JobState::Submitted => "submitted",
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// A copy of one job's state.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSnapshot {
    pub id: JobId,
    pub name: String,
    pub prompt: String,
    pub state: JobState,
    /// 0..=1 when known.
    pub progress: Option<f64>,
    pub message: Option<String>,
    pub daemon_job_id: Option<String>,
    /// Relative to the assets root when deployed, else the daemon's output file.
    pub path: Option<String>,
    pub error: Option<String>,
    /// Since submit, or submit to end for ended jobs.
    pub elapsed: Duration,
}

/// Job layer settings.
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// `wait_s` of `generate_sprite`: how long the submit call may block (default 0: answer
    /// with the job id at once).
    pub submit_wait_s: f64,
    /// `timeout_s` of each `wait_job` poll (default 10 s); progress flows meanwhile.
    pub poll_wait_s: f64,
    /// How long a job waits for the daemon to become ready (default 60 s).
    pub ready_timeout: Duration,
    /// How long a job waits for a crashed daemon to come back (default 30 s).
    pub recover_timeout: Duration,
    /// Time-out of `cancel_job` (default 5 s); the job ends cancelled either way.
    pub cancel_timeout: Duration,
    /// A job still running after this long is cancelled and failed (default 30 min), so a
    /// daemon that reports "running" forever cannot hold a job open.
    pub max_duration: Duration,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            submit_wait_s: 0.0,
            poll_wait_s: 10.0,
            ready_timeout: Duration::from_secs(60),
            recover_timeout: Duration::from_secs(30),
            cancel_timeout: Duration::from_secs(5),
            max_duration: Duration::from_secs(30 * 60),
        }
    }
}
