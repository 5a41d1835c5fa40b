//! The client (`[client]`): its id, the name operators read, the two tables it
//! must have, the serial source and the upload target, and the SSCC settings it may
//! have.

use toml::Spanned;

use crate::config::located::Locator;
use crate::config::model::{Client, SerialSource};
use crate::config::raw::RawClient;

use super::fields::{operator_text, required, span_of};
use super::serial_source::validate_serial_source;
use super::sscc::validate_sscc;
use super::upload::validate_upload;

/// `[client]`: its id and name; its serial source, upload target and SSCC settings
/// are checked in `serial_source.rs`, `upload.rs` and `sscc.rs`.
pub(super) fn validate_client(raw: &Spanned<RawClient>, loc: &mut Locator<'_>) -> Option<Client> {
    let span = span_of(raw);
    let c = raw.get_ref();
    let id = required(&c.id, span.clone(), "client.id", loc).and_then(|id| {
        let text = id.get_ref();
        let ok = !text.is_empty()
            && text.len() <= 32
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && text.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if !ok {
            loc.error(span_of(id), "client.id", format!(
                "{text:?} is not a valid client id: use 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit"
            ));
        }
        ok.then(|| text.clone())
    });
    let name = required(&c.name, span.clone(), "client.name", loc)
        .and_then(|n| operator_text(n, "client.name", loc));
    let serial_source = required(&c.serial_source, span.clone(), "client.serial_source", loc)
        .and_then(|s| validate_serial_source(s, loc));
    let upload =
        required(&c.upload, span, "client.upload", loc).and_then(|u| validate_upload(u, loc));
    let sscc = match &c.sscc {
        None => Some(None),
        Some(s) => validate_sscc(s, loc).map(Some),
    };
    let not_serialbox = serial_source
        .as_ref()
        .is_some_and(|s| !matches!(s, SerialSource::Serialbox { .. }));
    if not_serialbox
        && let Some(pool) = c
            .sscc
            .as_ref()
            .and_then(|s| s.get_ref().serialbox_pool.as_ref())
    {
        loc.error(
            span_of(pool),
            "client.sscc.serialbox_pool",
            "the client's serial source is not SerialBox, so no SerialBox pool issues its SSCCs: remove serialbox_pool, or take serials and SSCCs from SerialBox".to_string(),
        );
        return None;
    }
    Some(Client {
        id: id?,
        name: name?,
        serial_source: serial_source?,
        upload: upload?,
        sscc: sscc?,
    })
}
