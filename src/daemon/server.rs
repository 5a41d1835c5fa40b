//! The control socket: binds it (mode 0660, refusing to take over a live daemon's
//! socket), accepts connections, reads one request line per call, identifies the
//! caller from the kernel's peer credentials and hands the call to the station loop.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use crate::control::peer::actor_name;
use crate::control::protocol::{MAX_LINE_BYTES, Request, Response};
use crate::daemon::access::{Access, Caller};

/// One request on its way to the station loop, with who sent it and where to answer.
pub struct ControlCall {
    pub request: Request,
    pub caller: Caller,
    pub reply: oneshot::Sender<Response>,
}

/// Binds the control socket at `path` with mode 0660. A socket file left by a daemon
/// that is gone is replaced; one that answers means a daemon is running.
pub fn bind(path: &Path) -> Result<UnixListener, String> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "a station daemon is already running on {}: stop it first, or give this one its own --db/--socket",
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(|e| {
            format!(
                "cannot remove the stale control socket {}: {e}",
                path.display()
            )
        })?;
    }
    let listener = UnixListener::bind(path).map_err(|e| {
        format!(
            "cannot create the control socket {}: {e} (the path must be writable and at most 107 bytes long)",
            path.display()
        )
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(|e| {
        format!(
            "cannot set the mode of the control socket {}: {e}",
            path.display()
        )
    })?;
    Ok(listener)
}

/// Accepts connections until the station loop goes away.
pub async fn accept_loop(listener: UnixListener, calls: mpsc::Sender<ControlCall>, access: Access) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let calls = calls.clone();
                let access = access.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_connection(stream, calls, access).await {
                        tracing::info!("control connection: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("accepting on the control socket failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        if calls.is_closed() {
            return;
        }
    }
}

async fn serve_connection(
    stream: UnixStream,
    calls: mpsc::Sender<ControlCall>,
    access: Access,
) -> Result<(), String> {
    let login = match stream.peer_cred() {
        Ok(cred) => actor_name(cred.uid()),
        Err(e) => return Err(format!("peer credentials unavailable: {e}")),
    };
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_LINE_BYTES as u64));
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .await
        .map_err(|e| format!("reading a request: {e}"))?;
    let response = match serde_json::from_str::<Request>(line.trim()) {
        Err(e) => Response::refused(format!(
            "the request is not understood ({e}); use the serialstation command line"
        )),
        Ok(request) => match access.resolve(login, &request).await {
            Err(refusal) => Response::refused(refusal),
            Ok(caller) => {
                let (reply, answer) = oneshot::channel();
                let call = ControlCall {
                    request,
                    caller,
                    reply,
                };
                if calls.send(call).await.is_err() {
                    Response::refused("the station daemon is shutting down")
                } else {
                    answer.await.unwrap_or_else(|_| {
                        Response::refused("the station daemon stopped before answering")
                    })
                }
            }
        },
    };
    let mut text = serde_json::to_string(&response)
        .unwrap_or_else(|e| format!(r#"{{"ok":false,"message":"cannot encode the answer: {e}"}}"#));
    text.push('\n');
    write
        .write_all(text.as_bytes())
        .await
        .map_err(|e| format!("writing the answer: {e}"))
}

/// Removes the socket file when the daemon stops.
pub struct SocketGuard(pub PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
