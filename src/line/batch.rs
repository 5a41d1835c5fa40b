//! Batch lifecycle: the checks a batch start must pass (turned into operator errors
//! that say what to do), the batch's phases (challenge, producing, stopping,
//! stopped) and the state the store records for each.

use crate::gs1::{Gs1Date, policy};

use super::command::BatchState;
use super::error::{OperatorError, OperatorErrorKind};
use super::event::{BatchStart, TemplateField};
use super::printing::CodePlan;
use super::supervision::HoldReason;
use super::types::Device;

/// Where a batch is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    /// Known-bad items are being fed; production starts when all are confirmed rejected.
    Challenge { expected: u32, confirmed: u32 },
    /// Printing and verifying.
    Producing,
    /// No more prints; waiting for in-flight prints and items to finish.
    Stopping,
    /// Finished; waiting to be closed.
    Stopped,
    /// The challenge test failed; nothing was produced.
    ChallengeFailed,
}

/// The state the store records for a phase and hold.
pub(super) fn recorded_state(phase: &Phase, hold: Option<&HoldReason>) -> BatchState {
    match (phase, hold) {
        (Phase::Stopped, _) => BatchState::Stopped,
        (Phase::ChallengeFailed, _) => BatchState::ChallengeFailed,
        (_, Some(_)) => BatchState::Paused,
        (Phase::Challenge { .. }, None) => BatchState::Challenge,
        (Phase::Producing, None) => BatchState::Running,
        (Phase::Stopping, None) => BatchState::Stopping,
    }
}

/// A validated batch start: everything the engine needs to produce.
#[derive(Debug, Clone)]
pub(super) struct BatchPlan {
    pub code: CodePlan,
}

fn refuse(kind: OperatorErrorKind, message: impl Into<String>) -> OperatorError {
    OperatorError::new(kind, message)
}

/// Checks a batch start. `devices_offline` lists devices that are not connected.
pub(super) fn check_start(
    start: &BatchStart,
    devices_offline: &[Device],
) -> Result<BatchPlan, OperatorError> {
    let product = &start.product;
    if start.quantity == 0 {
        return Err(refuse(
            OperatorErrorKind::InvalidQuantity,
            "quantity must be at least 1: give --quantity N",
        ));
    }
    if product.consecutive_reject_limit == 0 {
        return Err(refuse(
            OperatorErrorKind::InvalidProduct,
            format!(
                "product {} has a consecutive-reject limit of 0: set it to 1 or more in the product master",
                product.gtin
            ),
        ));
    }
    let count = |wanted: fn(&TemplateField) -> bool| {
        product.template.fields.iter().filter(|f| wanted(f)).count()
    };
    if count(|f| matches!(f, TemplateField::Serial)) != 1
        || count(|f| matches!(f, TemplateField::Gtin)) != 1
    {
        return Err(refuse(
            OperatorErrorKind::InvalidProduct,
            format!(
                "the code template of product {} must contain the GTIN (01) and the serial (21) exactly once: fix the product master",
                product.gtin
            ),
        ));
    }
    if let Err(error) = policy::check_lot(&start.lot) {
        return Err(refuse(
            OperatorErrorKind::InvalidLot,
            format!(
                "lot {:?} cannot be printed: {error}; give a lot of up to 20 letters, digits or GS1 punctuation, no spaces",
                start.lot
            ),
        ));
    }
    let expiry = Gs1Date::parse_yymmdd(&start.expiry, true, start.today.year).map_err(|error| {
        refuse(
            OperatorErrorKind::InvalidExpiry,
            format!(
                "expiry {:?} is not a date: {error}; give it as YYMMDD, e.g. 271231",
                start.expiry
            ),
        )
    })?;
    if expiry.day_was_zero {
        return Err(refuse(
            OperatorErrorKind::InvalidExpiry,
            format!(
                "expiry {} uses day 00, which healthcare codes may not (GSCN 21-040): give the real last day of the month, e.g. {:02}{:02}{:02}",
                start.expiry,
                expiry.year.rem_euclid(100),
                expiry.month,
                expiry.day
            ),
        ));
    }
    let today = &start.today;
    if (expiry.year, expiry.month, expiry.day) <= (today.year, today.month, today.day) {
        return Err(refuse(
            OperatorErrorKind::InvalidExpiry,
            format!(
                "expiry {} is not in the future (today is {}): check the date",
                expiry.to_iso(),
                today.to_iso()
            ),
        ));
    }
    if start.pool_available < u64::from(start.quantity) {
        return Err(refuse(
            OperatorErrorKind::PoolTooSmall,
            format!(
                "the pool for GTIN {} has {} unallocated serials, fewer than the quantity {}: import or generate more serials, or lower --quantity",
                product.gtin, start.pool_available, start.quantity
            ),
        ));
    }
    if let Some(device) = devices_offline.first() {
        return Err(refuse(
            OperatorErrorKind::DeviceOffline,
            format!(
                "the {device} is offline: connect it (check power and network), then start the batch again"
            ),
        ));
    }
    let fields = product
        .template
        .fields
        .iter()
        .map(|field| match field {
            TemplateField::Gtin => ("01".to_string(), Some(product.gtin.as_str().to_string())),
            TemplateField::Expiry => ("17".to_string(), Some(start.expiry.clone())),
            TemplateField::Lot => ("10".to_string(), Some(start.lot.clone())),
            TemplateField::Serial => ("21".to_string(), None),
            TemplateField::Fixed { ai, value } => (ai.clone(), Some(value.clone())),
        })
        .collect();
    let code = CodePlan::new(fields);
    if let Err(error) = code.element_for("1") {
        return Err(refuse(
            OperatorErrorKind::InvalidProduct,
            format!(
                "the code of product {} cannot be built: {error}; fix the product's code template",
                product.gtin
            ),
        ));
    }
    Ok(BatchPlan { code })
}
