//! What the daemon does with each control request: batch start, pause, resume, stop,
//! close, status, item decommission and shutdown, each answered with one line that
//! says what happened or what to do.

use crate::access::Action;
use crate::control::protocol::{Request, Response};
use crate::daemon::access::{Caller, ResumeKind, Standing};
use crate::daemon::status::LiveView;
use crate::gs1::Gtin;
use crate::line::{BatchState, OperatorCommand};
use crate::station::{BatchRequest, Station, StationError};
use crate::store::decommission::DecommissionReason;
use crate::store::{Actor, BatchId, SerialState};

/// What the loop must do after a request.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    Continue,
    Shutdown,
}

/// The daemon's per-batch policy.
#[derive(Debug, Clone)]
pub struct BatchPolicy {
    /// Resume by itself after a hold once devices and PLC alarms are back (simulated
    /// lines and demos; a real line waits for the operator).
    pub auto_resume: bool,
}

/// The action the rules of [`crate::access`] know `request` as, given the station's
/// state (`None`: reading only, open to every caller).
fn action_of(station: &Station, request: &Request) -> Option<Action> {
    Some(match request {
        Request::Status | Request::Whoami => return None,
        Request::BatchStart { .. } => Action::StartBatch,
        Request::BatchPause { .. } => Action::PauseBatch,
        Request::BatchResume { .. } => match resume_kind(station) {
            ResumeKind::Plain => Action::ResumeBatch,
            ResumeKind::AfterRejectStop => Action::ResumeAfterRejectStop,
            ResumeKind::OverrideChallenge => Action::OverrideChallenge,
        },
        Request::BatchStop { .. } => Action::StopBatch,
        Request::BatchClose { reason, .. } => {
            if reason.is_some() {
                Action::CloseUnbalancedBatch
            } else {
                Action::CloseBalancedBatch
            }
        }
        Request::ItemDecommission { .. } => Action::Decommission,
        Request::BatchRelease { .. } => Action::ReleaseBatch,
        Request::AlarmAck { .. } => Action::AcknowledgeAlarm,
        Request::Shutdown => Action::StopDaemon,
    })
}

/// What a resume of the active batch would be.
fn resume_kind(station: &Station) -> ResumeKind {
    ResumeKind::of(station.batch_status().as_ref())
}

/// Applies the rules: the caller's role must allow the action, and an action that
/// needs a signature must carry a granted one.
fn authorize(station: &Station, request: &Request, caller: &Caller) -> Result<(), String> {
    let Some(action) = action_of(station, request) else {
        return Ok(());
    };
    let role = match caller.standing {
        Standing::Unrestricted if action == Action::OverrideChallenge => {
            return Err(
                "a failed challenge test is overridden only with an electronic signature, and no user \
                 is enrolled at this station: close this batch and start again after checking the reject \
                 station, or enrol users (README: \"Users, roles and signatures\")"
                    .to_string(),
            );
        }
        Standing::Unrestricted => return Ok(()),
        Standing::Enrolled(role) => role,
        Standing::Reader => {
            return Err(format!(
                "{} is not enrolled at this station: ask an administrator",
                caller.actor.as_str()
            ));
        }
    };
    crate::access::permit(role, action)?;
    if let Some(meaning) = action.rule().signature
        && caller.signed.is_none()
    {
        return Err(format!(
            "to {} takes your electronic signature (\"{meaning}\"): give it again with --sign, \
             which asks for your password",
            action.rule().describe
        ));
    }
    Ok(())
}

/// Whether `request` is answered while start-up recovery runs: it changes nothing
/// the recovery depends on (a look at the status, who the caller is, a shutdown).
/// Every other request is refused meanwhile ([`still_recovering`]), and held back
/// while the store's pages are being checked.
pub fn allowed_while_recovering(request: &Request) -> bool {
    matches!(
        request,
        Request::Status | Request::Whoami | Request::Shutdown
    )
}

/// The refusal of a request that must wait for start-up recovery (`what`: what is
/// being recovered, as the status shows it).
pub fn still_recovering(what: &str) -> Response {
    Response::refused(format!(
        "the station is still recovering ({what}); wait, `serialstation batch status` shows progress"
    ))
}

/// Handles one request. `recovering` is set while start-up recovery is not done.
pub async fn handle(
    station: &mut Station,
    request: Request,
    caller: &Caller,
    policy: &BatchPolicy,
    recovering: Option<&str>,
    live: &mut LiveView,
) -> (Response, After) {
    if let Err(refusal) = authorize(station, &request, caller) {
        return (Response::refused(refusal), After::Continue);
    }
    let actor = &caller.actor;
    if let Some(what) = recovering
        && !allowed_while_recovering(&request)
    {
        return (still_recovering(what), After::Continue);
    }
    match request {
        Request::Status => (Response::ok("status"), After::Continue),
        Request::Whoami => (
            Response::ok(format!(
                "{} ({})",
                caller.actor.as_str(),
                caller.role_name()
            )),
            After::Continue,
        ),
        Request::AlarmAck { id } => (acknowledge(station, live, id, actor), After::Continue),
        Request::BatchRelease { batch, comment, .. } => (
            release(station, batch, comment.as_deref(), caller),
            After::Continue,
        ),
        Request::BatchStart {
            gtin,
            lot,
            expiry,
            quantity,
            client,
            challenge,
        } => (
            start(
                station,
                &gtin,
                (lot, expiry, quantity, challenge),
                client,
                actor,
                policy,
            )
            .await,
            After::Continue,
        ),
        Request::BatchPause { batch } => (
            operator(station, batch, OperatorCommand::Pause, actor, "paused").await,
            After::Continue,
        ),
        Request::BatchResume { batch, .. }
            if resume_kind(station) == ResumeKind::OverrideChallenge =>
        {
            (override_challenge(station, batch, actor).await, After::Continue)
        }
        Request::BatchResume { batch, .. } => (
            operator(station, batch, OperatorCommand::Resume, actor, "resumed").await,
            After::Continue,
        ),
        Request::BatchStop {
            batch,
            abandon_in_flight,
        } => (
            operator(
                station,
                batch,
                OperatorCommand::Stop { abandon_in_flight },
                actor,
                "stopping: no more prints, the items on the belt finish; close it with `serialstation batch close` once it is stopped",
            )
            .await,
            After::Continue,
        ),
        Request::BatchClose { batch, reason, .. } => {
            (close(station, batch, reason).await, After::Continue)
        }
        Request::ItemDecommission {
            serial,
            gtin,
            reason,
            ..
        } => (
            decommission(station, &serial, gtin.as_deref(), &reason, actor),
            After::Continue,
        ),
        Request::Shutdown => match station.batch_status() {
            Some(status) if !matches!(status.state, BatchState::Stopped | BatchState::ChallengeFailed) => (
                Response::refused(format!(
                    "batch {} is {}: stop it first (`serialstation batch stop`); a killed daemon recovers, but a clean stop is better",
                    status.batch,
                    status.state.as_str()
                )),
                After::Continue,
            ),
            _ => (Response::ok("the station daemon stops"), After::Shutdown),
        },
    }
}

async fn start(
    station: &mut Station,
    gtin: &str,
    (lot, expiry, quantity, challenge): (String, String, u32, u32),
    client: Option<String>,
    actor: &Actor,
    policy: &BatchPolicy,
) -> Response {
    if let Err(e) = crate::limits::check_batch_start(u64::from(quantity), u64::from(challenge)) {
        return Response::refused(e);
    }
    let gtin = match Gtin::parse(gtin) {
        Ok(gtin) => gtin,
        Err(e) => {
            return Response::refused(format!(
                "GTIN {gtin:?} is not valid ({e}): give the 14-digit GTIN of a product in `serialstation product list`"
            ));
        }
    };
    if let Some(client) = &client {
        match station.store().product(&gtin) {
            Ok(Some(product)) if &product.client_id != client => {
                return Response::refused(format!(
                    "GTIN {gtin} belongs to client {}, not {client}: check --client and --product",
                    product.client_id
                ));
            }
            Ok(_) => {}
            Err(e) => return Response::refused(e.to_string()),
        }
    }
    let request = BatchRequest {
        gtin: gtin.clone(),
        lot: lot.clone(),
        expiry,
        quantity,
        actor: actor.clone(),
        auto_resume: policy.auto_resume,
        stall_timeout: None,
    };
    match station
        .start_batch_with_challenge(&request, challenge)
        .await
    {
        Ok(batch) => {
            tracing::info!(batch = batch.0, %gtin, lot, quantity, operator = actor.as_str(), "batch started");
            Response::ok(format!(
                "batch {} started: {quantity} items of GTIN {gtin}, lot {lot}{}; watch it with `serialstation batch status --watch`",
                batch.0,
                if challenge > 0 {
                    format!(", after a challenge test of {challenge} known-bad items")
                } else {
                    String::new()
                }
            ))
            .with_batch(batch.0)
        }
        Err(e) => refused(e),
    }
}

/// Checks that `batch`, when given, is the active batch; else says what is wrong.
fn active_batch(station: &Station, batch: Option<i64>) -> Result<BatchId, String> {
    let Some(active) = station.active_batch().map(|line| line.batch) else {
        return Err(
            "no batch is active: start one with `serialstation batch start` (`batch list` shows earlier ones)"
                .to_string(),
        );
    };
    match batch {
        Some(asked) if asked != active.0 => Err(format!(
            "batch {asked} is not the active batch; the active batch is {}",
            active.0
        )),
        _ => Ok(active),
    }
}

async fn operator(
    station: &mut Station,
    batch: Option<i64>,
    command: OperatorCommand,
    actor: &Actor,
    done: &str,
) -> Response {
    let active = match active_batch(station, batch) {
        Ok(active) => active,
        Err(message) => return Response::refused(message),
    };
    match station.operator(command, actor).await {
        Ok(()) => {
            tracing::info!(
                batch = active.0,
                operator = actor.as_str(),
                "operator: batch {} {done}",
                active.0
            );
            Response::ok(format!("batch {} {done}", active.0)).with_batch(active.0)
        }
        Err(e) => refused(e),
    }
}

fn acknowledge(
    station: &mut Station,
    live: &mut LiveView,
    id: Option<u64>,
    actor: &Actor,
) -> Response {
    match live.acknowledge(id) {
        Err(message) => Response::refused(message),
        Ok(done) if done.is_empty() => Response::ok("nothing to acknowledge"),
        Ok(done) => {
            let ids: Vec<String> = done.iter().map(|a| a.id.to_string()).collect();
            let details = serde_json::json!({
                "alarms": done.iter().map(|a| serde_json::json!({"id": a.id, "text": a.text, "raised_at": a.at})).collect::<Vec<_>>(),
            });
            let subject = live_subject(station);
            if let Err(e) =
                station
                    .store_mut()
                    .record_action(actor, "alarm.acknowledge", &subject, details)
            {
                return Response::refused(e.to_string());
            }
            Response::ok(format!("acknowledged alarm {}", ids.join(", ")))
        }
    }
}

/// A failed challenge test overridden (the signature is already granted), then
/// the batch resumed.
async fn override_challenge(station: &mut Station, batch: Option<i64>, actor: &Actor) -> Response {
    let overridden = operator(
        station,
        batch,
        OperatorCommand::OverrideChallenge,
        actor,
        "overrides its failed challenge test",
    )
    .await;
    if !overridden.ok {
        return overridden;
    }
    let resumed = operator(station, batch, OperatorCommand::Resume, actor, "resumed").await;
    let message = if resumed.ok {
        format!(
            "{}: its failed challenge test is overridden (signed)",
            resumed.message
        )
    } else {
        format!(
            "the failed challenge test is overridden (signed) and the batch is paused; it did not resume: {}",
            resumed.message
        )
    };
    Response { message, ..resumed }
}

fn live_subject(station: &Station) -> String {
    station.active_batch().map_or_else(
        || "station".to_string(),
        |line| format!("batch {}", line.batch.0),
    )
}

/// QA's release of a closed batch: recorded with the signature already granted.
fn release(station: &mut Station, batch: i64, comment: Option<&str>, caller: &Caller) -> Response {
    match station.store_mut().release_batch(
        BatchId(batch),
        comment,
        &caller.actor,
        caller.signed.as_ref(),
    ) {
        Ok(()) => Response::ok(format!(
            "batch {batch} released by {} ({}); the record: `serialstation batch report {batch} --html -o batch-{batch}.html`",
            caller.actor.as_str(),
            caller.role_name()
        ))
        .with_batch(batch),
        Err(e) => Response::refused(e.to_string()),
    }
}

async fn close(station: &mut Station, batch: Option<i64>, reason: Option<String>) -> Response {
    let active = match active_batch(station, batch) {
        Ok(active) => active,
        Err(message) => return Response::refused(message),
    };
    if let Some(reason) = &reason
        && reason.trim().is_empty()
    {
        return Response::refused("the reason is empty: say why the batch is closed unbalanced");
    }
    match station.close_batch(active, reason).await {
        Ok(outcome) => {
            tracing::info!(
                batch = active.0,
                "batch closed: {}",
                outcome.counts.describe()
            );
            Response::ok(format!(
                "batch {} closed: {}; the report: `serialstation batch report {}`",
                active.0,
                outcome.counts.describe(),
                active.0
            ))
            .with_batch(active.0)
        }
        Err(e) => refused(e),
    }
}

fn decommission(
    station: &mut Station,
    serial: &str,
    gtin: Option<&str>,
    reason: &str,
    actor: &Actor,
) -> Response {
    let reason = match DecommissionReason::parse(reason) {
        Ok(reason) => reason,
        Err(message) => return Response::refused(message),
    };
    let gtin = match gtin {
        Some(text) => match Gtin::parse(text) {
            Ok(gtin) => gtin,
            Err(e) => return Response::refused(format!("GTIN {text:?} is not valid: {e}")),
        },
        None => match station.store().gtins_with_serial(serial) {
            Ok(found) if found.len() == 1 => match Gtin::parse(&found[0]) {
                Ok(gtin) => gtin,
                Err(e) => return Response::refused(e.to_string()),
            },
            Ok(found) if found.is_empty() => {
                return Response::refused(format!(
                    "serial {serial} is not in this store: check the serial (as printed after (21))"
                ));
            }
            Ok(found) => {
                return Response::refused(format!(
                    "serial {serial} exists for GTINs {}: give --gtin",
                    found.join(", ")
                ));
            }
            Err(e) => return Response::refused(e.to_string()),
        },
    };
    let done = match station
        .store_mut()
        .decommission_serial(&gtin, serial, &reason, actor)
    {
        Ok(done) => done,
        Err(e) => return Response::refused(e.to_string()),
    };
    let active = station.active_batch().map(|line| line.batch);
    if done.to == SerialState::Sampled
        && active == Some(done.batch)
        && let Err(e) = station.note_sampled(serial)
    {
        tracing::warn!("the engine did not take the sample into account: {e}");
    }
    tracing::info!(%gtin, serial, reason = reason.as_str(), operator = actor.as_str(), "item decommissioned");
    Response::ok(format!(
        "serial {serial} of GTIN {gtin} (batch {}) is now {}; the site server will be told",
        done.batch.0, done.to
    ))
    .with_batch(done.batch.0)
}

fn refused(error: StationError) -> Response {
    Response::refused(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_looks_who_am_i_and_shutdown_pass_while_recovering() {
        let start = Request::BatchStart {
            gtin: "09506000134352".to_string(),
            lot: "L1".to_string(),
            expiry: "391231".to_string(),
            quantity: 1,
            client: None,
            challenge: 0,
        };
        let resume = Request::BatchResume {
            batch: None,
            signature: None,
        };
        assert!(allowed_while_recovering(&Request::Status));
        assert!(allowed_while_recovering(&Request::Whoami));
        assert!(allowed_while_recovering(&Request::Shutdown));
        assert!(!allowed_while_recovering(&start));
        assert!(!allowed_while_recovering(&resume));
        let refusal = still_recovering("recovering batch 3");
        assert!(!refusal.ok);
        assert!(
            refusal.message.contains("recovering batch 3"),
            "{}",
            refusal.message
        );
        assert!(
            refusal.message.contains("batch status"),
            "{}",
            refusal.message
        );
    }
}
