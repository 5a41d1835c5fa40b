//! `serialstation daemon`: runs the line.
//!
//! One process per station: it holds an exclusive lock on the store, connects the
//! printer, camera and PLC, settles any batch a previous run left unfinished
//! ([`startup`]), serves the local control socket ([`server`], [`requests`]) and
//! reports status ([`status`]); in the background the uploader sends the outbox to
//! the site servers and the replenisher tops up the pools of active batches from
//! remote serial sources ([`replenish`]). Logs go to stderr and a log file
//! ([`logging`]).
//!
//! Crash-only: every state change is durable before anything acts on it, so a
//! daemon killed at any instant loses nothing; the next start recovers. A store
//! failure stops the line and ends the process (exit 1) for the same reason.

pub mod access;
pub mod logging;
pub mod page_check;
pub mod replenish;
pub mod requests;
pub mod server;
pub mod startup;
pub mod status;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::config::StationConfig;
use crate::control::protocol::{CallerView, Request, Response};
use crate::line::{BatchState, OperatorCommand};
use crate::station::runtime::Wake;
use crate::station::{Station, StationError};
use crate::store::{Actor, Store};

use requests::{After, BatchPolicy};
use server::{ControlCall, SocketGuard};
use startup::PendingRecovery;
use status::LiveView;

/// Page cache of the station's store connection, KiB.
const STATION_PAGE_CACHE_KIB: u32 = 16 * 1024;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub db: PathBuf,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub log_file: PathBuf,
    pub auto_resume: bool,
    /// Run the uploader (send the outbox to the clients' site servers).
    pub upload: bool,
}

/// Runs the daemon until it is told to stop; returns the exit code.
pub fn run(options: &DaemonOptions) -> ExitCode {
    if let Err(e) = logging::init(&options.log_file) {
        eprintln!("serialstation daemon: {e}");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => {
            tracing::info!("station daemon stopped");
            ExitCode::SUCCESS
        }
        Err(message) => {
            tracing::error!("station daemon stopped: {message}");
            ExitCode::from(1)
        }
    }
}

/// Takes the store's daemon lock, so that two daemons never drive one store.
fn lock_store(db: &Path) -> Result<File, String> {
    let path = db.with_extension("lock");
    let file = File::create(&path)
        .map_err(|e| format!("cannot create the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another station daemon is running on the store {}: stop it first",
            db.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// How often the running daemon writes the audit trail's head to the anchor file:
/// rows cut off the end of the trail after the last anchor cannot be seen, so this is
/// the window of that blind spot. An anchor costs one small append and sync.
const ANCHOR_INTERVAL: Duration = Duration::from_secs(5);

async fn serve(options: &DaemonOptions) -> Result<(), String> {
    // Before anything can be asked of the daemon, so a stop signal is never lost.
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    tracing::info!(pid = std::process::id(), "station daemon starting");
    let config = StationConfig::load(&options.config).map_err(|e| e.to_string())?;
    let _lock = lock_store(&options.db)?;
    let store = Store::open_checking_pages_aside(&options.db).map_err(|e| e.to_string())?;
    // The pages are checked beside the start (`page_check`): until the answer, the
    // daemon answers its socket and connects the devices, and writes nothing.
    let mut pages_unchecked = Some(page_check::spawn(options.db.clone())?);
    let mut awaiting_pages: Vec<ControlCall> = Vec::new();
    // The line's connection touches recent rows only: a small page cache keeps the
    // daemon's memory flat however large the store grows.
    store
        .set_page_cache_kib(STATION_PAGE_CACHE_KIB)
        .map_err(|e| e.to_string())?;
    let listener = server::bind(&options.socket)?;
    let _socket = SocketGuard(options.socket.clone());
    let (calls_tx, mut calls) = mpsc::channel(32);
    let resume_kind = access::SharedResumeKind::default();
    let access = access::Access::open(options.db.clone(), resume_kind.clone())?;
    tokio::spawn(server::accept_loop(listener, calls_tx, access));
    let (stop_uploader, uploader_stopped) = watch::channel(false);
    // The uploader and the replenisher start once the pages are sound.
    let mut helpers = Vec::new();

    let mut station = Station::connect(config, store);
    let mut recovery = PendingRecovery::find(station.store()).map_err(|e| e.to_string())?;
    let policy = BatchPolicy {
        auto_resume: options.auto_resume,
    };
    let store_shown = options.db.display().to_string();
    let mut live = LiveView::default();
    let mut last_anchor = Instant::now();
    tracing::info!(
        socket = %options.socket.display(),
        store = %store_shown,
        pid = std::process::id(),
        "station daemon ready"
    );
    if let Some(pending) = &recovery {
        tracing::warn!("{}", pending.describe());
    }
    let result = loop {
        tokio::select! {
            wake = station.wait() => {
                let wake = match wake {
                    Ok(wake) => wake,
                    Err(e) => break Err(fatal(&mut station, e).await),
                };
                let polled = matches!(wake, Wake::Poll);
                if let Err(e) = station.handle(wake).await {
                    break Err(fatal(&mut station, e).await);
                }
                // At every poll (the attempt notes what it waits for), and at once
                // when a device report makes it due (the last device came online).
                if pages_unchecked.is_none()
                    && let Some(pending) = recovery.as_mut()
                    && (polled || pending.is_due(&station))
                {
                    let attempt = recover_answering_status(
                        &mut station,
                        pending,
                        &mut calls,
                        &live,
                        &store_shown,
                    )
                    .await;
                    match attempt.outcome {
                        Ok(true) => recovery = None,
                        Ok(false) => {}
                        Err(e) => break Err(fatal(&mut station, e).await),
                    }
                    // The calls recovery lets through that came in meanwhile, in order.
                    let describing = recovery.as_ref().map(|r| r.describe());
                    if answer_in_order(&mut station, attempt.deferred, &policy, describing, &mut live, &store_shown)
                        .await
                    {
                        break Ok(());
                    }
                }
                let kind = live.observe(&station, Instant::now());
                *resume_kind.lock().unwrap_or_else(|p| p.into_inner()) = kind;
                if polled && last_anchor.elapsed() >= ANCHOR_INTERVAL {
                    last_anchor = Instant::now();
                    if let Err(e) = station.store_mut().anchor_audit() {
                        tracing::warn!("{e}");
                    }
                }
            }
            checked = async {
                match pages_unchecked.as_mut() {
                    Some(answer) => answer.await,
                    None => std::future::pending().await,
                }
            }, if pages_unchecked.is_some() =>
            {
                pages_unchecked = None;
                // Recovery may be due now: the next poll comes at once, not a poll
                // interval later.
                station.poll_at_once();
                match checked {
                    Ok(Ok(())) => tracing::info!("the store's pages are sound"),
                    Ok(Err(e)) => break Err(fatal(&mut station, StationError::Store(e)).await),
                    Err(_) => {
                        let lost = "the store's page check ended without an answer".to_string();
                        break Err(fatal(&mut station, StationError::Refused(lost)).await);
                    }
                }
                match start_helpers(options, &uploader_stopped) {
                    Ok(started) => helpers = started,
                    Err(e) => break Err(e),
                }
                let describing = recovery.as_ref().map(|r| r.describe());
                if answer_in_order(
                    &mut station,
                    std::mem::take(&mut awaiting_pages),
                    &policy,
                    describing,
                    &mut live,
                    &store_shown,
                )
                .await
                {
                    break Ok(());
                }
            }
            call = calls.recv() => {
                let Some(call) = call else { break Ok(()) };
                // While the pages are checked, what could change something waits,
                // in order (during recovery it is refused as "still recovering").
                if pages_unchecked.is_some()
                    && recovery.is_none()
                    && (!awaiting_pages.is_empty() || !requests::allowed_while_recovering(&call.request))
                {
                    awaiting_pages.push(call);
                    continue;
                }
                let describing = recovery.as_ref().map(|r| r.describe());
                if answer(&mut station, call, &policy, describing, &mut live, &store_shown).await
                    == After::Shutdown
                {
                    break Ok(());
                }
            }
            _ = sigterm.recv() => break Ok(()),
            _ = sigint.recv() => break Ok(()),
        }
    };
    if result.is_ok() {
        pause_for_shutdown(&mut station).await;
    }
    let _ = stop_uploader.send(true);
    let deadline = Instant::now() + Duration::from_secs(5);
    while helpers.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    result
}

/// Starts the replenisher and, unless told not to, the uploader: each on its own
/// thread and store connection, until `stop`.
fn start_helpers(
    options: &DaemonOptions,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<std::thread::JoinHandle<()>>, String> {
    let mut helpers = vec![replenish::spawn(options.db.clone(), stop.clone())?];
    if options.upload {
        helpers.push(startup::spawn_uploader(options.db.clone(), stop.clone())?);
    }
    Ok(helpers)
}

/// Answers calls that waited (for a recovery attempt or the page check) in order of
/// arrival. A call that could change something is dropped when its caller has
/// stopped waiting (it would act for nobody); after a shutdown the rest are
/// refused. Returns whether a shutdown was asked.
async fn answer_in_order(
    station: &mut Station,
    calls: Vec<ControlCall>,
    policy: &BatchPolicy,
    recovering: Option<String>,
    live: &mut LiveView,
    store_shown: &str,
) -> bool {
    let mut shutdown = false;
    for call in calls {
        if shutdown {
            let _ = call.reply.send(Response::refused(
                "the station daemon is stopping: ask again once it has started",
            ));
            continue;
        }
        if call.reply.is_closed() && !requests::allowed_while_recovering(&call.request) {
            tracing::warn!(
                operator = call.caller.actor.as_str(),
                "a request that waited was dropped: its caller stopped waiting for the answer"
            );
            continue;
        }
        shutdown = answer(station, call, policy, recovering.clone(), live, store_shown).await
            == After::Shutdown;
    }
    shutdown
}

/// Answers one control call; `recovering` describes a start-up recovery not yet done.
async fn answer(
    station: &mut Station,
    call: ControlCall,
    policy: &BatchPolicy,
    recovering: Option<String>,
    live: &mut LiveView,
    store_shown: &str,
) -> After {
    let wants_status = matches!(call.request, Request::Status);
    let caller_view = caller_view(&call);
    let (mut response, after) = requests::handle(
        station,
        call.request,
        &call.caller,
        policy,
        recovering.as_deref(),
        live,
    )
    .await;
    if wants_status {
        response.status = Some(status::report(
            station,
            live,
            store_shown,
            recovering,
            Some(caller_view),
        ));
    }
    let _ = call.reply.send(response);
    after
}

fn caller_view(call: &ControlCall) -> CallerView {
    CallerView {
        user: call.caller.actor.as_str().to_string(),
        role: call.caller.role_name(),
    }
}

/// What one recovery attempt came to, and the calls it left for afterwards.
struct RecoveryAttempt {
    outcome: Result<bool, StationError>,
    deferred: Vec<ControlCall>,
}

/// Runs one start-up recovery attempt while still answering the control socket: a
/// recovery can take as long as the line needs to carry the items in flight to the
/// gate, and an operator's `batch status` must not hang meanwhile. A status call is
/// answered at once from the state taken just before the attempt (the batch is
/// not the engine's yet; the answer says what is being recovered); a request that
/// recovery refuses is refused at once, as it would be before or after the attempt;
/// the rest (who am I, shutdown) wait for the attempt and are answered after it, in
/// order of arrival.
async fn recover_answering_status(
    station: &mut Station,
    pending: &mut PendingRecovery,
    calls: &mut mpsc::Receiver<ControlCall>,
    live: &LiveView,
    store_shown: &str,
) -> RecoveryAttempt {
    let mut deferred = Vec::new();
    if !pending.is_due(station) {
        return RecoveryAttempt {
            outcome: pending.attempt(station).await,
            deferred,
        };
    }
    let described = pending.describe();
    let before = status::report(station, live, store_shown, Some(described.clone()), None);
    let attempt = pending.attempt(station);
    tokio::pin!(attempt);
    let outcome = loop {
        tokio::select! {
            outcome = &mut attempt => break outcome,
            Some(call) = calls.recv() => {
                if matches!(call.request, Request::Status) {
                    let mut response = Response::ok("status");
                    let mut report = before.clone();
                    report.caller = Some(caller_view(&call));
                    response.status = Some(report);
                    let _ = call.reply.send(response);
                } else if requests::allowed_while_recovering(&call.request) {
                    deferred.push(call);
                } else {
                    let _ = call.reply.send(requests::still_recovering(&described));
                }
            }
        }
    };
    RecoveryAttempt { outcome, deferred }
}

/// A clean stop while a batch runs: pause it (recorded), so the next start takes it
/// over held.
async fn pause_for_shutdown(station: &mut Station) {
    let running = station.batch_status().is_some_and(|s| {
        s.hold.is_none() && !matches!(s.state, BatchState::Stopped | BatchState::ChallengeFailed)
    });
    if running {
        let actor = Actor::new("daemon-shutdown");
        if let Err(e) = station.operator(OperatorCommand::Pause, &actor).await {
            tracing::warn!("pausing the batch for shutdown failed: {e}");
        }
    }
}

/// Stops the line after an error the station cannot go on from.
async fn fatal(station: &mut Station, error: StationError) -> String {
    station.stop_line(&format!("station error: {error}")).await;
    format!(
        "{error}; the line was stopped. Fix the cause and start the daemon again: it recovers the batch"
    )
}
