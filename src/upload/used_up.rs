//! How each client's site server learns that serials are used up (scrapped, sampled or
//! invalidated) so that it never issues them again: an EPCIS event (decommissioning /
//! inactive or destroying / destroyed) or the site server's own "return serials" call,
//! which takes a plain list of serials per GTIN.

use serialstation_gs1::Gtin;

use super::error::DocumentError;
use super::model::EventKind;

/// A client's choice of how used-up serials are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsedUpReporting {
    /// ObjectEvent DELETE / decommissioning / inactive (common lot reports do this).
    Decommission,
    /// ObjectEvent DELETE / destroying / destroyed.
    Destroy,
    /// The site server's own return call with a plain list of serials.
    ReturnCall,
}

impl UsedUpReporting {
    /// The EPCIS event kind to report with, or `None` for [`UsedUpReporting::ReturnCall`].
    pub fn event_kind(self) -> Option<EventKind> {
        match self {
            UsedUpReporting::Decommission => Some(EventKind::Decommissioning),
            UsedUpReporting::Destroy => Some(EventKind::Destroying),
            UsedUpReporting::ReturnCall => None,
        }
    }
}

/// Serials of one GTIN to hand back through the site server's return call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReturnList {
    pub gtin: Gtin,
    pub serials: Vec<String>,
}

/// Splits `serials` of `gtin` into return lists of at most `max_per_call` serials,
/// lazily. Every serial is checked against the station's serial policy.
pub fn return_lists<'a, I>(
    gtin: &'a Gtin,
    serials: I,
    max_per_call: usize,
) -> Result<impl Iterator<Item = Result<ReturnList, DocumentError>> + 'a, DocumentError>
where
    I: IntoIterator + 'a,
    I::Item: AsRef<str>,
{
    if max_per_call == 0 {
        return Err(DocumentError::Limits(
            "max serials per return call must be at least 1; correct the client's upload limits"
                .into(),
        ));
    }
    let mut serials = serials.into_iter();
    let mut failed = false;
    Ok(std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let mut list = Vec::new();
        for serial in serials.by_ref() {
            let serial = serial.as_ref();
            if let Err(e) = serialstation_gs1::policy::check_serial(serial) {
                failed = true;
                return Some(Err(DocumentError::from(e)));
            }
            list.push(serial.to_string());
            if list.len() == max_per_call {
                break;
            }
        }
        if list.is_empty() {
            None
        } else {
            Some(Ok(ReturnList {
                gtin: gtin.clone(),
                serials: list,
            }))
        }
    }))
}
