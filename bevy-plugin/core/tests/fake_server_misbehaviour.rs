//! The core against a scripted MCP server that misbehaves: garbage on stdout, slow replies,
//! crashes mid-job (with and without job recovery after the restart), ignored cancels, tool
//! errors, an unsupported protocol version, a server that ignores stdin EOF.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy_plugin_core::daemon::{DaemonStatus, Supervisor};
use bevy_plugin_core::testing::expect_event;
use bevy_plugin_core::{
    DaemonConfig, Event, GenerateRequest, JobOptions, JobState, McpError, Service, ServiceConfig,
};

fn fake(args: &[&str]) -> DaemonConfig {
    let mut config =
        DaemonConfig::command(env!("CARGO_BIN_EXE_fake_mcp_server"), args.iter().copied());
    config.restart.initial_backoff = Duration::from_millis(100);
    config.startup_timeout = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(3);
    config
}

fn service(args: &[&str], assets: &Path) -> Service {
    let mut config = ServiceConfig::new(fake(args), assets);
    config.jobs = JobOptions {
        poll_wait_s: 0.3,
        recover_timeout: Duration::from_secs(10),
        cancel_timeout: Duration::from_millis(500),
        ..JobOptions::default()
    };
    Service::start(config)
}

fn job_end(event: &Event) -> bool {
    matches!(
        event,
        Event::Finished { .. } | Event::Failed { .. } | Event::Cancelled { .. }
    )
}

#[test]
fn a_job_survives_garbage_on_stdout_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(&["--garbage", "--job-ms", "500"], dir.path());
    let job = svc.submit(GenerateRequest::sprite("slime", "green slime"));
    let mut progress = 0;
    let end = expect_event(&svc, "job end", Duration::from_secs(15), |e| {
        if matches!(e, Event::Progress { .. }) {
            progress += 1;
        }
        job_end(e)
    });
    match end {
        Event::Finished {
            job: j, name, path, ..
        } => {
            assert_eq!(
                (j, name.as_str(), path.as_deref()),
                (job, "slime", Some("sprites/slime.png"))
            );
        }
        other => panic!("expected Finished, got {other:?}"),
    }
    assert!(
        progress >= 2,
        "progress notifications arrive through the garbage ({progress})"
    );
    assert!(
        svc.client().unwrap().skipped_lines() >= 3,
        "garbage lines were skipped, not fatal"
    );
    assert_eq!(svc.job(job).unwrap().state, JobState::Finished);
}

#[test]
fn slow_replies_time_out_then_the_connection_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(&["--slow-ms", "400"], dir.path());
    let client = svc.wait_ready(Duration::from_secs(10)).expect("ready");
    let err = client
        .request("tools/list", None, Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(err, McpError::Timeout { .. }), "got {err:?}");
    let tools = client
        .list_tools(Duration::from_secs(5))
        .expect("a patient request succeeds");
    assert!(tools.iter().any(|t| t.name == "generate_sprite"));
}

#[test]
fn a_crash_mid_job_restarts_the_daemon_and_recovers_the_job_with_get_job() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("jobs.json");
    let marker = dir.path().join("crashed");
    // Messages: initialize, initialized, tools/list, generate_sprite, wait_job#1, wait_job#2 → crash.
    let args = [
        "--crash-after",
        "6",
        "--crash-once",
        marker.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--job-ms",
        "1500",
    ];
    let svc = service(&args, dir.path());
    let job = svc.submit(GenerateRequest::sprite("knight", "a knight"));
    let crashed = expect_event(&svc, "a crash", Duration::from_secs(10), |e| {
        matches!(e, Event::Status(DaemonStatus::Crashed { .. }))
    });
    let Event::Status(DaemonStatus::Crashed {
        reason,
        stderr_tail,
        restart_in,
    }) = crashed
    else {
        unreachable!()
    };
    assert_eq!(reason, "daemon exited (exit code 3)");
    assert!(
        stderr_tail
            .iter()
            .any(|l| l.contains("fake: crashing on purpose")),
        "tail: {stderr_tail:?}"
    );
    assert_eq!(restart_in, Some(Duration::from_millis(100)));
    let end = expect_event(&svc, "job end", Duration::from_secs(15), job_end);
    assert!(
        matches!(end, Event::Finished { job: j, .. } if j == job),
        "recovered and finished: {end:?}"
    );
    assert!(svc.status().is_ready(), "restarted: {:?}", svc.status());
}

#[test]
fn a_crash_mid_job_fails_the_job_clearly_when_the_new_daemon_does_not_know_it() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("crashed");
    let args = [
        "--crash-after",
        "6",
        "--crash-once",
        marker.to_str().unwrap(),
        "--job-ms",
        "3000",
    ];
    let svc = service(&args, dir.path());
    let job = svc.submit(GenerateRequest::sprite("knight", "a knight"));
    match expect_event(&svc, "job end", Duration::from_secs(15), job_end) {
        Event::Failed { job: j, error } => {
            assert_eq!(j, job);
            assert!(
                error.starts_with("the daemon crashed while job fj-"),
                "{error}"
            );
            assert!(error.contains("after the restart it cannot report the job (tool 'get_job' failed: Job not found: fj-"), "{error}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn an_ignored_cancel_still_ends_the_job_cancelled_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(&["--ignore-cancel", "--job-ms", "20000"], dir.path());
    let job = svc.submit(GenerateRequest::sprite("slow", "slow sprite"));
    expect_event(&svc, "progress", Duration::from_secs(10), |e| {
        matches!(e, Event::Progress { .. })
    });
    let asked = Instant::now();
    assert!(svc.cancel(job));
    match expect_event(&svc, "job end", Duration::from_secs(5), job_end) {
        Event::Cancelled { job: j, note } => {
            assert_eq!(j, job);
            let note = note.expect("a note says the daemon did not confirm");
            assert!(
                note.starts_with("the daemon did not confirm the cancel of job fj-"),
                "{note}"
            );
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "cancel took {:?}",
        asked.elapsed()
    );
    assert!(!svc.cancel(job), "an ended job cannot be cancelled again");
}

#[test]
fn a_confirmed_cancel_ends_the_job_cancelled_without_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(&["--job-ms", "20000"], dir.path());
    let job = svc.submit(GenerateRequest::sprite("slow", "slow sprite"));
    expect_event(&svc, "progress", Duration::from_secs(10), |e| {
        matches!(e, Event::Progress { .. })
    });
    svc.cancel(job);
    let end = expect_event(&svc, "job end", Duration::from_secs(5), job_end);
    assert!(
        matches!(end, Event::Cancelled { note: None, .. }),
        "{end:?}"
    );
}

#[test]
fn a_tool_error_fails_the_job_with_the_daemon_message() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(&[], dir.path());
    svc.submit(GenerateRequest::sprite("blank", "  "));
    match expect_event(&svc, "job end", Duration::from_secs(10), job_end) {
        Event::Failed { error, .. } => {
            assert_eq!(
                error,
                "Validation error in prompt: Prompt must not be empty"
            )
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn an_unsupported_protocol_version_is_a_crash_and_the_supervisor_gives_up() {
    let mut config = fake(&["--protocol", "1999-01-01"]);
    config.restart.max_restarts = Some(1);
    let (tx, rx) = crossbeam_channel::unbounded();
    let sup = Supervisor::new(
        config,
        true,
        Box::new(move |s: &DaemonStatus| {
            let _ = tx.send(s.clone());
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut crashes = Vec::new();
    while let Ok(status) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let DaemonStatus::Crashed {
            reason, restart_in, ..
        } = status
        {
            crashes.push((reason, restart_in));
            if crashes.last().unwrap().1.is_none() {
                break;
            }
        }
    }
    assert_eq!(
        crashes.len(),
        2,
        "one restart, then it gives up: {crashes:?}"
    );
    assert!(
        crashes[0].0.contains(
            "MCP server offered protocol version '1999-01-01'; this client supports 2025-11-25"
        ),
        "{}",
        crashes[0].0
    );
    assert_eq!(crashes[0].1, Some(Duration::from_millis(100)));
    assert!(!sup.status().is_ready());
}

#[test]
fn shutdown_kills_a_daemon_that_ignores_stdin_eof_within_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(&["--ignore-eof"], dir.path());
    svc.wait_ready(Duration::from_secs(10)).expect("ready");
    let DaemonStatus::Ready { pid, .. } = svc.status() else {
        panic!("not ready")
    };
    let started = Instant::now();
    svc.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "shutdown took {took:?}");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists() || is_zombie_or_gone(pid),
        "daemon pid {pid} still alive"
    );
    assert_eq!(svc.status(), DaemonStatus::Stopped);
}

fn is_zombie_or_gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split_whitespace().nth(2) == Some("Z"))
        .unwrap_or(true)
}

#[test]
fn a_job_that_never_ends_is_cancelled_and_failed_after_max_duration() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServiceConfig::new(fake(&["--job-ms", "60000"]), dir.path());
    config.jobs = JobOptions {
        poll_wait_s: 0.2,
        max_duration: Duration::from_secs(1),
        ..JobOptions::default()
    };
    let svc = Service::start(config);
    let job = svc.submit(GenerateRequest::sprite("stuck", "never ends"));
    match expect_event(&svc, "job end", Duration::from_secs(10), job_end) {
        Event::Failed { job: j, error } => {
            assert_eq!(j, job);
            assert!(error.starts_with("daemon job fj-"), "{error}");
            assert!(
                error.ends_with(
                    "was still running after 1 s (JobOptions::max_duration); it was cancelled"
                ),
                "{error}"
            );
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn without_autostart_jobs_wait_for_start_daemon_and_stop_start_cycles_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServiceConfig::new(fake(&["--job-ms", "200"]), dir.path());
    config.autostart = false;
    let svc = Service::start(config);
    let job = svc.submit(GenerateRequest::sprite("later", "waits for the daemon"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(svc.status(), DaemonStatus::Stopped);
    assert_eq!(svc.job(job).unwrap().state, JobState::Waiting);
    svc.start_daemon();
    let end = expect_event(&svc, "job end", Duration::from_secs(10), job_end);
    assert!(matches!(end, Event::Finished { .. }), "{end:?}");
    let DaemonStatus::Ready { pid: first, .. } = svc.status() else {
        panic!("not ready")
    };
    svc.stop_daemon();
    expect_event(&svc, "Stopped", Duration::from_secs(5), |e| {
        matches!(e, Event::Status(DaemonStatus::Stopped))
    });
    svc.start_daemon();
    svc.wait_ready(Duration::from_secs(10))
        .expect("ready again");
    let DaemonStatus::Ready { pid: second, .. } = svc.status() else {
        panic!("not ready")
    };
    assert_ne!(first, second, "a fresh daemon process");
}
