//! Who is calling, and their signature: resolved on the caller's own connection task,
//! off the station loop, because checking a password (Argon2id) takes tens of
//! milliseconds that the line must not wait for. The loop then applies the rules of
//! [`crate::access`] with the station's state (`requests.rs`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::access::Role;
use crate::control::protocol::{Request, SignatureInput};
use crate::line::{BatchState, BatchStatus, HoldReason};
use crate::store::users::Signed;
use crate::store::{Actor, Store, StoreError};

/// Where the caller stands with the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No user is enrolled: the station runs unrestricted.
    Unrestricted,
    /// An enrolled, active user.
    Enrolled(Role),
    /// Not enrolled (or deactivated): may only read the status.
    Reader,
}

/// The caller of one request, as the station loop sees them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub standing: Standing,
    /// A signature given with the request and granted.
    pub signed: Option<Signed>,
}

impl Caller {
    pub fn role_name(&self) -> String {
        match self.standing {
            Standing::Unrestricted => "unrestricted".to_string(),
            Standing::Enrolled(role) => role.as_str().to_string(),
            Standing::Reader => "not enrolled".to_string(),
        }
    }

    /// A caller for work the daemon does on its own (no socket peer).
    pub fn unrestricted(actor: Actor) -> Caller {
        Caller {
            actor,
            standing: Standing::Unrestricted,
            signed: None,
        }
    }
}

/// The daemon's own store connection for users and signatures.
#[derive(Clone)]
pub struct Access {
    store: Arc<Mutex<Store>>,
    resume: SharedResumeKind,
}

/// What the daemon's loop last saw of the active batch, for the meaning of a
/// resume's signature (the connection task does not see the station).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResumeKind {
    #[default]
    Plain,
    AfterRejectStop,
    OverrideChallenge,
}

impl ResumeKind {
    /// What resuming the batch in `status` would be.
    pub fn of(status: Option<&BatchStatus>) -> ResumeKind {
        match status {
            Some(s) if s.state == BatchState::ChallengeFailed => ResumeKind::OverrideChallenge,
            Some(s) if matches!(s.hold, Some(HoldReason::ConsecutiveRejects(_))) => {
                ResumeKind::AfterRejectStop
            }
            _ => ResumeKind::Plain,
        }
    }
}

/// Shared between the loop (writer) and the connection tasks (readers).
pub type SharedResumeKind = Arc<Mutex<ResumeKind>>;

/// What a request's signature means, and what it is for.
pub fn signature_meaning(
    request: &Request,
    resume: ResumeKind,
) -> Option<(&'static str, &'static str, String)> {
    match request {
        Request::BatchResume { batch, .. } if resume == ResumeKind::OverrideChallenge => Some((
            "failed challenge test overridden",
            "batch.resume",
            subject_batch(*batch),
        )),
        Request::BatchClose { batch, .. } => {
            Some(("closed with reason", "batch.close", subject_batch(*batch)))
        }
        Request::ItemDecommission { serial, .. } => Some((
            "decommissioned",
            "item.decommission",
            format!("serial {serial}"),
        )),
        Request::BatchResume { batch, .. } => Some((
            "resumed after a consecutive-reject stop",
            "batch.resume",
            subject_batch(*batch),
        )),
        Request::BatchRelease { batch, .. } => {
            Some(("approved", "batch.release", format!("batch {batch}")))
        }
        _ => None,
    }
}

fn subject_batch(batch: Option<i64>) -> String {
    batch.map_or_else(|| "active batch".to_string(), |b| format!("batch {b}"))
}

fn signature_of(request: &Request) -> Option<&SignatureInput> {
    match request {
        Request::BatchClose { signature, .. }
        | Request::ItemDecommission { signature, .. }
        | Request::BatchResume { signature, .. }
        | Request::BatchRelease { signature, .. } => signature.as_ref(),
        _ => None,
    }
}

impl Access {
    pub fn open(db: PathBuf, resume: SharedResumeKind) -> Result<Access, String> {
        let store = Store::open_another(&db).map_err(|e| e.to_string())?;
        Ok(Access {
            store: Arc::new(Mutex::new(store)),
            resume,
        })
    }

    /// Resolves the caller of `request` (user `login`) and checks the signature it
    /// carries. Errors are the refusal to send back.
    pub async fn resolve(&self, login: String, request: &Request) -> Result<Caller, String> {
        let store = Arc::clone(&self.store);
        let signature = signature_of(request).cloned();
        let resume = *self
            .resume
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let meaning = signature_meaning(request, resume);
        let read_only = matches!(request, Request::Status | Request::Whoami);
        let work = move || -> Result<Caller, String> {
            let mut store = store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let actor = Actor::new(login.clone());
            if !store.users_enrolled().map_err(|e| e.to_string())? {
                return Ok(Caller::unrestricted(actor));
            }
            let user = store.user(&login).map_err(|e| e.to_string())?;
            let standing = match &user {
                Some(user) if user.active => {
                    Standing::Enrolled(user.role().map_err(|e| e.to_string())?)
                }
                _ if read_only => Standing::Reader,
                Some(_) => {
                    return Err(format!(
                        "the account {login} is deactivated at this station: ask an administrator"
                    ));
                }
                None => {
                    return Err(format!(
                        "{login} is not enrolled at this station, so may not operate it: ask an administrator \
                         to enrol you (`serialstation user add {login} --role operator`)"
                    ));
                }
            };
            let signed = match (signature, meaning) {
                (Some(sig), Some((meaning, for_action, subject))) => Some(
                    store
                        .sign(&login, &sig.password, meaning, for_action, &subject)
                        .map_err(|e| match e {
                            StoreError::SignatureRefused(m) => m,
                            other => other.to_string(),
                        })?,
                ),
                _ => None,
            };
            Ok(Caller {
                actor,
                standing,
                signed,
            })
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result,
            Err(e) => Err(format!("checking the caller failed: {e}")),
        }
    }
}
