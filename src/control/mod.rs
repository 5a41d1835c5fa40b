//! The station daemon's local control API: one JSON request per line on a Unix
//! socket, one JSON response line back.
//!
//! - [`protocol`]: the requests, responses and the status report (pure data);
//! - [`client`]: what the CLI uses to call the daemon (blocking, no runtime);
//! - [`peer`]: who is calling, from the socket's peer credentials.
//!
//! The socket's file mode (0660) decides who may operate the line; the peer's user
//! name goes into the audit trail of everything the request changes.

pub mod client;
pub mod peer;
pub mod protocol;

pub use client::{ControlError, call, default_socket_path};
pub use protocol::{BatchView, DeviceView, Request, Response, StatusReport};
