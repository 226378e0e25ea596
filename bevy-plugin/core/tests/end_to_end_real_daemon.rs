//! End to end against the real TypeScript daemon (`node daemon/dist/cli.js serve`) and the
//! embedded procedural worker (`node daemon/dist/cli.js worker`) on free loopback ports:
//! handshake, tools/list, a generation with progress that deploys a PNG of the right size,
//! the manifest entry reported by the watcher, a cancel mid-job that writes nothing, and a
//! shutdown within 2 s.
//!
//! Needs `npm run build` at the repository root (or DGX_PIXELS_DAEMON_CLI pointing at
//! cli.js). A missing build FAILS this test — it never skips silently. Only an explicit
//! `DGX_PIXELS_E2E=skip` skips it, and says so.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::thread;
use std::time::{Duration, Instant};

use bevy_plugin_core::mcp::SUPPORTED_PROTOCOL_VERSIONS;
use bevy_plugin_core::testing::{daemon_cli_or_skip, expect_event, EmbeddedWorker};
use bevy_plugin_core::{DaemonStatus, Event, GenerateRequest, JobOptions, Service, ServiceConfig};

fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a valid PNG");
    let info = reader.info();
    (info.width, info.height)
}

fn pngs_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(pngs_under(&path));
        } else if path.extension().is_some_and(|e| e == "png") {
            out.push(path);
        }
    }
    out
}

#[test]
fn generates_deploys_reports_cancels_and_shuts_down_against_the_real_daemon() {
    let Some(cli) = daemon_cli_or_skip("end-to-end test") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let assets = tmp.path().join("assets");
    let state = tmp.path().join("state");
    let worker = EmbeddedWorker::start(&cli, &tmp.path().join("worker-out"), 60);

    let daemon = worker.daemon(&cli, &state);
    let mut config = ServiceConfig::new(daemon, &assets);
    config.jobs = JobOptions {
        poll_wait_s: 2.0,
        ..JobOptions::default()
    };
    let svc = Service::start(config);

    // 1. initialize + tools/list
    let client = svc
        .wait_ready(Duration::from_secs(30))
        .expect("daemon ready");
    let DaemonStatus::Ready {
        protocol_version,
        tools,
        server,
        ..
    } = svc.status()
    else {
        panic!("not ready: {:?}", svc.status())
    };
    assert!(
        SUPPORTED_PROTOCOL_VERSIONS.contains(&protocol_version.as_str()),
        "{protocol_version}"
    );
    for tool in [
        "generate_sprite",
        "get_job",
        "wait_job",
        "cancel_job",
        "deploy_to_bevy",
    ] {
        assert!(
            tools.iter().any(|t| t == tool),
            "{tool} missing from tools/list of {server}: {tools:?}"
        );
    }
    let listed = client
        .list_tools(Duration::from_secs(10))
        .expect("tools/list");
    assert!(listed
        .iter()
        .any(|t| t.name == "generate_sprite" && t.output_schema.is_some()));

    // list_styles feeds the editor's pickers.
    assert!(svc.refresh_catalog());
    let deadline = Instant::now() + Duration::from_secs(10);
    let catalog = loop {
        if let Some(c) = svc.catalog() {
            break c;
        }
        assert!(Instant::now() < deadline, "list_styles never answered");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(
        !catalog.styles.is_empty() && !catalog.palettes.is_empty(),
        "{catalog:?}"
    );

    // 2. generate with progress; the PNG exists with the right size; the watcher reports it.
    let job = svc.submit(
        GenerateRequest::sprite("slime", "a green slime blob")
            .size(32, 32)
            .seed(7),
    );
    let mut progress = 0;
    let mut manifest_diff = None;
    let end = expect_event(&svc, "the slime job to end", Duration::from_secs(90), |e| {
        match e {
            Event::Progress { .. } => progress += 1,
            Event::Manifest(d) if d.added_or_changed().any(|x| x.name == "slime") => {
                manifest_diff = Some(d.clone())
            }
            _ => {}
        }
        matches!(
            e,
            Event::Finished { .. } | Event::Failed { .. } | Event::Cancelled { .. }
        )
    });
    assert!(
        matches!(&end, Event::Finished { job: j, name, .. } if *j == job && name == "slime"),
        "{end:?}"
    );
    assert!(progress >= 1, "at least one progress notification");
    let diff = match manifest_diff {
        Some(d) => d,
        None => match expect_event(
            &svc,
            "the manifest entry for slime",
            Duration::from_secs(5),
            |e| matches!(e, Event::Manifest(d) if d.added_or_changed().any(|x| x.name == "slime")),
        ) {
            Event::Manifest(d) => d,
            _ => unreachable!(),
        },
    };
    let entry = diff
        .manifest
        .get("slime")
        .expect("slime in the manifest")
        .clone();
    let png = assets.join(&entry.path);
    assert_eq!(png_size(&png), (32, 32), "PNG at {}", png.display());
    assert_eq!((entry.width, entry.height), (Some(32), Some(32)));
    assert_eq!(entry.revision, Some(1));
    assert_eq!(entry.hash.as_deref().map(str::len), Some(64));

    // 3. cancel mid-job: nothing new is written into the assets.
    let before = pngs_under(&assets);
    let ghost = svc.submit(
        GenerateRequest::sprite("ghost", "a pale ghost")
            .size(32, 32)
            .seed(8),
    );
    expect_event(
        &svc,
        "progress of the ghost job",
        Duration::from_secs(30),
        |e| matches!(e, Event::Progress { job, .. } if *job == ghost),
    );
    assert!(svc.cancel(ghost));
    let end = expect_event(&svc, "the ghost job to end", Duration::from_secs(15), |e| {
        matches!(
            e,
            Event::Finished { .. } | Event::Failed { .. } | Event::Cancelled { .. }
        )
    });
    assert!(
        matches!(end, Event::Cancelled { job, .. } if job == ghost),
        "{end:?}"
    );
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        pngs_under(&assets),
        before,
        "a cancelled job deploys nothing"
    );
    assert!(svc.manifest().expect("manifest").get("ghost").is_none());

    // 4. shutdown within 2 s.
    let started = Instant::now();
    svc.shutdown();
    let took = started.elapsed();
    eprintln!("shutdown took {took:?}");
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    assert_eq!(svc.status(), DaemonStatus::Stopped);
    drop(worker);
}

#[test]
fn a_daemon_killed_mid_job_is_restarted_and_the_job_ends_with_a_clear_outcome() {
    let Some(cli) = daemon_cli_or_skip("end-to-end test") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let worker = EmbeddedWorker::start(&cli, &tmp.path().join("worker-out"), 60);
    let mut daemon = worker.daemon(&cli, &tmp.path().join("state"));
    daemon.restart.initial_backoff = Duration::from_millis(200);
    let mut config = ServiceConfig::new(daemon, tmp.path().join("assets"));
    config.jobs = JobOptions {
        poll_wait_s: 1.0,
        ..JobOptions::default()
    };
    let svc = Service::start(config);
    svc.wait_ready(Duration::from_secs(30))
        .expect("daemon ready");
    let DaemonStatus::Ready { pid, .. } = svc.status() else {
        panic!("not ready")
    };

    let job = svc.submit(
        GenerateRequest::sprite("bat", "a purple bat")
            .size(32, 32)
            .seed(3),
    );
    // Kill it once the daemon has accepted the job (we hold its job id), mid-generation.
    let deadline = Instant::now() + Duration::from_secs(30);
    while svc.job(job).and_then(|s| s.daemon_job_id).is_none() {
        assert!(
            Instant::now() < deadline,
            "the daemon never accepted the job: {:?}",
            svc.job(job)
        );
        thread::sleep(Duration::from_millis(10));
    }
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let (mut crash_reason, mut end) = (None, None);
    expect_event(
        &svc,
        "the crash and the job's end",
        Duration::from_secs(60),
        |e| {
            match e {
                Event::Status(DaemonStatus::Crashed { reason, .. }) => {
                    crash_reason = Some(reason.clone())
                }
                Event::Finished { .. } | Event::Failed { .. } | Event::Cancelled { .. } => {
                    end = Some(e.clone())
                }
                _ => {}
            }
            crash_reason.is_some() && end.is_some()
        },
    );
    assert_eq!(
        crash_reason.as_deref(),
        Some("daemon exited (killed by signal 9)")
    );
    match end.unwrap() {
        // Recovered through get_job on the restarted daemon and finished there.
        Event::Finished { job: j, .. } => assert_eq!(j, job),
        // Or failed, saying exactly what happened.
        Event::Failed { job: j, error } => {
            assert_eq!(j, job);
            assert!(
                error.starts_with("the daemon crashed while job "),
                "unclear failure: {error}"
            );
        }
        other => panic!("unexpected end {other:?}"),
    }
    svc.wait_ready(Duration::from_secs(30))
        .expect("restarted daemon ready");
    let DaemonStatus::Ready { pid: new_pid, .. } = svc.status() else {
        panic!("not ready")
    };
    assert_ne!(pid, new_pid, "a new daemon process");
    eprintln!(
        "crash outcome: {:?}",
        svc.job(job).map(|s| (s.state, s.error))
    );
    svc.shutdown();
    drop(worker);
}
