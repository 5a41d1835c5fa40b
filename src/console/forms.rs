//! The console's forms, pure: start a batch, close a batch, decommission an item,
//! release a batch. Every field is checked as the operator types, with a message
//! that says what is wrong in words (never range syntax or debug output); a form
//! submits only when every field is valid, and then becomes a [`Submission`]: the
//! request to send, the yes/no question to ask first, and whether a signature is
//! asked for up front.

use crate::config::text::is_unsafe_char;
use crate::control::protocol::{BatchView, Request};
use crate::gs1::Gs1Date;
use crate::gs1::cset::{describe_char_at, first_non_cset82};
use crate::gs1::date::{days_in_month, month_name};
use crate::limits::{MAX_BATCH_QUANTITY, MAX_CHALLENGE_ITEMS, thousands};

use super::state::Key;

/// Longest serial or lot (AI 21, AI 10).
const MAX_SERIAL_OR_LOT: usize = 20;
/// Longest free text (reasons, comments).
const MAX_TEXT_CHARS: usize = 200;
/// Longest client id.
const MAX_CLIENT_CHARS: usize = 64;

/// What a field holds; decides its label, its hint and its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Gtin,
    Lot,
    Expiry,
    Quantity,
    Challenge,
    Client,
    /// Why a batch is closed; `required` when the batch does not balance.
    CloseReason {
        required: bool,
    },
    Serial,
    DecommissionReason,
    /// The GTIN of the item to decommission (optional).
    ItemGtin,
    BatchNumber,
    Comment,
}

impl FieldKind {
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Gtin | FieldKind::ItemGtin => "GTIN",
            FieldKind::Lot => "lot",
            FieldKind::Expiry => "expiry",
            FieldKind::Quantity => "quantity",
            FieldKind::Challenge => "challenge",
            FieldKind::Client => "client",
            FieldKind::CloseReason { .. } | FieldKind::DecommissionReason => "reason",
            FieldKind::Serial => "serial",
            FieldKind::BatchNumber => "batch",
            FieldKind::Comment => "comment",
        }
    }

    /// What to type, shown while the field has no error.
    pub fn hint(self) -> &'static str {
        match self {
            FieldKind::Gtin => "14 digits",
            FieldKind::ItemGtin => "optional, 14 digits",
            FieldKind::Lot => "1 to 20 characters",
            FieldKind::Expiry => "YYYY-MM-DD",
            FieldKind::Quantity => "packs, 1 to 10,000,000",
            FieldKind::Challenge => "known-bad items first, 0 to 100",
            FieldKind::Client => "optional",
            FieldKind::CloseReason { required: true } => "required: the batch does not balance",
            FieldKind::CloseReason { required: false } => "optional",
            FieldKind::Serial => "as printed after (21)",
            FieldKind::DecommissionReason => "sample, damaged or destroyed",
            FieldKind::BatchNumber => "the closed batch's number",
            FieldKind::Comment => "optional",
        }
    }

    fn max_chars(self) -> usize {
        match self {
            FieldKind::Gtin | FieldKind::ItemGtin => 20,
            FieldKind::Lot | FieldKind::Serial => 30,
            FieldKind::Expiry => 12,
            FieldKind::Quantity => 14,
            FieldKind::Challenge => 6,
            FieldKind::Client => MAX_CLIENT_CHARS + 10,
            FieldKind::CloseReason { .. } | FieldKind::Comment => MAX_TEXT_CHARS,
            FieldKind::DecommissionReason => 20,
            FieldKind::BatchNumber => 12,
        }
    }

    /// The field's check: `Err` is the message shown next to it.
    pub fn check(self, value: &str, today: Gs1Date) -> Result<(), String> {
        match self {
            FieldKind::Gtin => check_gtin(value).map(|_| ()),
            FieldKind::ItemGtin => check_optional_gtin(value).map(|_| ()),
            FieldKind::Lot => check_lot(value).map(|_| ()),
            FieldKind::Expiry => parse_expiry(value, today).map(|_| ()),
            FieldKind::Quantity => check_quantity(value).map(|_| ()),
            FieldKind::Challenge => check_challenge(value).map(|_| ()),
            FieldKind::Client => check_client(value).map(|_| ()),
            FieldKind::CloseReason { required } => check_reason(value, required).map(|_| ()),
            FieldKind::Serial => check_serial(value).map(|_| ()),
            FieldKind::DecommissionReason => check_decommission_reason(value).map(|_| ()),
            FieldKind::BatchNumber => check_batch_number(value).map(|_| ()),
            FieldKind::Comment => check_comment(value).map(|_| ()),
        }
    }
}

/// One input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub kind: FieldKind,
    pub value: String,
    /// Edited or left once: an empty field shows its error only then.
    pub touched: bool,
}

impl Field {
    fn new(kind: FieldKind) -> Field {
        Field {
            kind,
            value: String::new(),
            touched: false,
        }
    }

    fn with_value(kind: FieldKind, value: &str) -> Field {
        Field {
            kind,
            value: value.to_string(),
            touched: false,
        }
    }
}

/// What the form is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    StartBatch,
    CloseBatch {
        batch: i64,
        balanced: bool,
        /// The batch's numbers in words, shown in the form.
        summary: String,
    },
    Decommission,
    Release,
}

/// A form being filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub purpose: Purpose,
    pub fields: Vec<Field>,
    /// The field being typed into.
    pub focus: usize,
    /// Submit was tried: every error shows, empty fields included.
    pub attempted: bool,
    today: Gs1Date,
}

/// What a key did to a form.
#[allow(clippy::large_enum_variant)] // short-lived
#[derive(Debug, Clone, PartialEq)]
pub enum FormOutcome {
    Editing,
    Cancelled,
    Submitted(Submission),
}

/// A checked action, ready to be confirmed and sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The request, without a signature.
    pub request: Request,
    /// What it does, for the status line: "pause batch 3".
    pub what: String,
    /// The yes/no question: "Pause batch 3?"
    pub question: String,
    /// The meaning of the signature asked for before sending ("approved"), or `None`
    /// when it is sent unsigned (the daemon may still ask for one).
    pub sign: Option<String>,
}

impl Form {
    /// The start-batch form.
    pub fn start(today: Gs1Date) -> Form {
        Form::new(
            Purpose::StartBatch,
            vec![
                Field::new(FieldKind::Gtin),
                Field::new(FieldKind::Lot),
                Field::new(FieldKind::Expiry),
                Field::new(FieldKind::Quantity),
                Field::new(FieldKind::Challenge),
                Field::new(FieldKind::Client),
            ],
            today,
        )
    }

    /// The close form of a stopped batch: the reason is required when it does not
    /// balance.
    pub fn close(batch: &BatchView, today: Gs1Date) -> Form {
        let balanced = batch_balances(batch);
        Form::new(
            Purpose::CloseBatch {
                batch: batch.id,
                balanced,
                summary: balance_summary(batch),
            },
            vec![Field::new(FieldKind::CloseReason {
                required: !balanced,
            })],
            today,
        )
    }

    /// The decommission form; `gtin` (the running batch's product) is filled in.
    pub fn decommission(gtin: Option<&str>, today: Gs1Date) -> Form {
        Form::new(
            Purpose::Decommission,
            vec![
                Field::new(FieldKind::Serial),
                Field::new(FieldKind::DecommissionReason),
                Field::with_value(FieldKind::ItemGtin, gtin.unwrap_or("")),
            ],
            today,
        )
    }

    /// The release form (QA's approval of a closed batch).
    pub fn release(batch: Option<i64>, today: Gs1Date) -> Form {
        let number = batch.map(|b| b.to_string()).unwrap_or_default();
        Form::new(
            Purpose::Release,
            vec![
                Field::with_value(FieldKind::BatchNumber, &number),
                Field::new(FieldKind::Comment),
            ],
            today,
        )
    }

    fn new(purpose: Purpose, fields: Vec<Field>, today: Gs1Date) -> Form {
        Form {
            purpose,
            fields,
            focus: 0,
            attempted: false,
            today,
        }
    }

    /// The form's title.
    pub fn title(&self) -> String {
        match &self.purpose {
            Purpose::StartBatch => "Start a batch".to_string(),
            Purpose::CloseBatch { batch, .. } => format!("Close batch {batch}"),
            Purpose::Decommission => "Decommission an item".to_string(),
            Purpose::Release => "Release a closed batch (QA approval)".to_string(),
        }
    }

    /// A line of explanation under the fields, if the form has one.
    pub fn note(&self) -> Option<String> {
        match &self.purpose {
            Purpose::CloseBatch { summary, .. } => Some(summary.clone()),
            Purpose::Decommission | Purpose::Release => {
                Some("you will be asked for your password to sign".to_string())
            }
            Purpose::StartBatch => None,
        }
    }

    /// The current error of field `index`, shown or not.
    pub fn error(&self, index: usize) -> Option<String> {
        let field = self.fields.get(index)?;
        field.kind.check(&field.value, self.today).err()
    }

    /// The error to show next to field `index`: a field with text shows its error at
    /// once; an empty one once it was left, edited, or submit was tried.
    pub fn visible_error(&self, index: usize) -> Option<String> {
        let field = self.fields.get(index)?;
        if field.value.is_empty() && !field.touched && !self.attempted {
            return None;
        }
        self.error(index)
    }

    /// Whether every field is valid.
    pub fn is_valid(&self) -> bool {
        (0..self.fields.len()).all(|i| self.error(i).is_none())
    }

    /// Applies one key.
    pub fn key(&mut self, key: Key) -> FormOutcome {
        match key {
            Key::Esc => return FormOutcome::Cancelled,
            Key::Tab | Key::Down => self.move_focus(true),
            Key::BackTab | Key::Up => self.move_focus(false),
            Key::Enter => {
                self.attempted = true;
                match self.submission() {
                    Ok(submission) => return FormOutcome::Submitted(submission),
                    Err(_) => {
                        if let Some(first) =
                            (0..self.fields.len()).find(|i| self.error(*i).is_some())
                        {
                            self.focus = first;
                        }
                    }
                }
            }
            Key::Backspace => {
                if let Some(field) = self.fields.get_mut(self.focus) {
                    field.value.pop();
                    field.touched = true;
                }
            }
            Key::Ctrl('u') => {
                if let Some(field) = self.fields.get_mut(self.focus) {
                    field.value.clear();
                    field.touched = true;
                }
            }
            Key::Char(c) if !is_unsafe_char(c) => {
                if let Some(field) = self.fields.get_mut(self.focus)
                    && field.value.chars().count() < field.kind.max_chars()
                {
                    field.value.push(c);
                    field.touched = true;
                }
            }
            _ => {}
        }
        FormOutcome::Editing
    }

    fn move_focus(&mut self, forward: bool) {
        let count = self.fields.len();
        if count == 0 {
            return;
        }
        if let Some(field) = self.fields.get_mut(self.focus) {
            field.touched = true;
        }
        self.focus = if forward {
            (self.focus + 1) % count
        } else {
            (self.focus + count - 1) % count
        };
    }

    fn value(&self, kind: FieldKind) -> &str {
        self.fields
            .iter()
            .find(|f| f.kind == kind)
            .map_or("", |f| f.value.as_str())
    }

    /// The checked action, or why not (every field's own message shows beside it).
    pub fn submission(&self) -> Result<Submission, String> {
        if !self.is_valid() {
            return Err("fix the fields marked in red first".to_string());
        }
        match &self.purpose {
            Purpose::StartBatch => {
                let gtin = check_gtin(self.value(FieldKind::Gtin))?;
                let lot = check_lot(self.value(FieldKind::Lot))?;
                let expiry_text = self.value(FieldKind::Expiry).trim().to_string();
                let expiry = parse_expiry(&expiry_text, self.today)?;
                let quantity = check_quantity(self.value(FieldKind::Quantity))?;
                let challenge = check_challenge(self.value(FieldKind::Challenge))?;
                let client = check_client(self.value(FieldKind::Client))?;
                let mut question = format!(
                    "Start a batch of {} packs: GTIN {gtin}, lot {lot}, expiry {expiry_text}",
                    thousands(u64::from(quantity))
                );
                if challenge > 0 {
                    question.push_str(&format!(", challenge test of {challenge} items"));
                }
                if let Some(client) = &client {
                    question.push_str(&format!(", client {client}"));
                }
                question.push('?');
                Ok(Submission {
                    what: format!("start a batch (lot {lot})"),
                    request: Request::BatchStart {
                        gtin,
                        lot,
                        expiry,
                        quantity,
                        client,
                        challenge,
                    },
                    question,
                    sign: None,
                })
            }
            Purpose::CloseBatch {
                batch, balanced, ..
            } => {
                let required = !*balanced;
                let reason =
                    check_reason(self.value(FieldKind::CloseReason { required }), required)?;
                let question = match &reason {
                    Some(reason) => format!("Close batch {batch} with the reason \"{reason}\"?"),
                    None => format!("Close batch {batch}?"),
                };
                Ok(Submission {
                    what: format!("close batch {batch}"),
                    sign: reason.as_ref().map(|_| "closed with reason".to_string()),
                    request: Request::BatchClose {
                        batch: Some(*batch),
                        reason,
                        signature: None,
                    },
                    question,
                })
            }
            Purpose::Decommission => {
                let serial = check_serial(self.value(FieldKind::Serial))?;
                let reason = check_decommission_reason(self.value(FieldKind::DecommissionReason))?;
                let gtin = check_optional_gtin(self.value(FieldKind::ItemGtin))?;
                let question = match &gtin {
                    Some(gtin) => {
                        format!("Decommission serial {serial} of GTIN {gtin} as {reason}?")
                    }
                    None => format!("Decommission serial {serial} as {reason}?"),
                };
                Ok(Submission {
                    what: format!("decommission serial {serial}"),
                    request: Request::ItemDecommission {
                        serial,
                        gtin,
                        reason,
                        signature: None,
                    },
                    question,
                    sign: Some("decommissioned".to_string()),
                })
            }
            Purpose::Release => {
                let batch = check_batch_number(self.value(FieldKind::BatchNumber))?;
                let comment = check_comment(self.value(FieldKind::Comment))?;
                Ok(Submission {
                    what: format!("release batch {batch}"),
                    request: Request::BatchRelease {
                        batch,
                        comment,
                        signature: None,
                    },
                    question: format!("Release batch {batch} (QA approval)?"),
                    sign: Some("approved".to_string()),
                })
            }
        }
    }
}

/// Whether a batch balances: every allocated serial accounted for and nothing
/// still on its way.
pub fn batch_balances(batch: &BatchView) -> bool {
    let accounted =
        batch.commissioned + batch.scrapped + batch.sampled + batch.invalidated + batch.returned;
    accounted == batch.allocated && batch.items_in_flight == 0 && batch.printer_queue == 0
}

/// The batch's reconciliation in words.
pub fn balance_summary(batch: &BatchView) -> String {
    let accounted =
        batch.commissioned + batch.scrapped + batch.sampled + batch.invalidated + batch.returned;
    let counts = format!(
        "allocated {}; commissioned {}, scrapped {}, sampled {}, invalidated {}, returned {}",
        thousands(batch.allocated),
        thousands(batch.commissioned),
        thousands(batch.scrapped),
        thousands(batch.sampled),
        thousands(batch.invalidated),
        thousands(batch.returned)
    );
    if batch_balances(batch) {
        format!("the batch balances ({counts})")
    } else {
        format!(
            "the batch does not balance: {} of {} serials accounted for ({counts}); give a reason, you will sign it",
            thousands(accounted),
            thousands(batch.allocated)
        )
    }
}

/// A 14-digit GTIN with a valid check digit.
pub fn check_gtin(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("required: the product's 14-digit GTIN".to_string());
    }
    if let Some(c) = text.chars().find(|c| !c.is_ascii_digit()) {
        return Err(format!("digits only: '{c}' is not a digit"));
    }
    let count = text.len();
    if count < 14 {
        return Err(format!("{count} of 14 digits"));
    }
    if count > 14 {
        return Err(format!("{count} digits: a GTIN has 14"));
    }
    let expected = crate::gs1::check_digit(&text[..13]);
    let found = text.as_bytes()[13] - b'0';
    if let Some(expected) = expected
        && expected != found
    {
        return Err(format!("check digit should be {expected}, not {found}"));
    }
    crate::gs1::Gtin::parse(text)
        .map(|gtin| gtin.as_str().to_string())
        .map_err(|e| e.to_string())
}

/// An empty field, or a GTIN.
pub fn check_optional_gtin(text: &str) -> Result<Option<String>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    check_gtin(text).map(Some)
}

/// A GS1 CSET 82 field of 1 to 20 characters (lot or serial).
fn check_cset82(text: &str, what: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("required: the {what}, 1 to 20 characters"));
    }
    if let Some(offset) = first_non_cset82(text) {
        // Every byte before the first invalid one is ASCII, so the offset counts
        // characters too.
        return Err(format!(
            "{} at position {} is not allowed (GS1 CSET 82)",
            describe_char_at(text, offset),
            offset + 1
        ));
    }
    let count = text.chars().count();
    if count > MAX_SERIAL_OR_LOT {
        return Err(format!("{count} characters: at most {MAX_SERIAL_OR_LOT}"));
    }
    Ok(text.to_string())
}

/// A lot number the line may print (GS1 rules and the healthcare policy).
pub fn check_lot(text: &str) -> Result<String, String> {
    let lot = check_cset82(text, "lot")?;
    crate::gs1::policy::check_lot(&lot).map_err(|e| e.to_string())?;
    Ok(lot)
}

/// A serial number as printed after (21).
pub fn check_serial(text: &str) -> Result<String, String> {
    let serial = check_cset82(text, "serial")?;
    crate::gs1::policy::check_serial(&serial).map_err(|e| e.to_string())?;
    Ok(serial)
}

/// `YYYY-MM-DD`, a real date, not before `today` → GS1 `YYMMDD`.
pub fn parse_expiry(text: &str, today: Gs1Date) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("required: YYYY-MM-DD, e.g. 2028-12-31".to_string());
    }
    let format_error = || "give the date as YYYY-MM-DD, e.g. 2028-12-31".to_string();
    let parts: Vec<&str> = text.split('-').collect();
    if parts.len() != 3 {
        return Err(format_error());
    }
    let (year, month, day) = (parts[0], parts[1], parts[2]);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return Err(format_error());
    }
    let year: i32 = year.parse().map_err(|_| format_error())?;
    let month: u8 = month.parse().map_err(|_| format_error())?;
    let day: u8 = day.parse().map_err(|_| format_error())?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02} does not exist: give 01 to 12"));
    }
    let last = days_in_month(year, month);
    if day == 0 {
        return Err(format!(
            "day 00 is not allowed: give the real last day, {year:04}-{month:02}-{last:02}"
        ));
    }
    if day > last {
        return Err(format!("{} {year} has {last} days", month_name(month)));
    }
    if (year, month, day) < (today.year, today.month, today.day) {
        return Err("this date is in the past: a new batch cannot expire before today".to_string());
    }
    // GS1's two-digit years reach 50 years ahead.
    let latest = today.year + 49;
    if year > latest {
        return Err(format!(
            "{year} is too far ahead: a GS1 expiry date reaches {latest} at most"
        ));
    }
    Ok(format!("{:02}{month:02}{day:02}", year.rem_euclid(100)))
}

/// Packs to commission: 1 to 10,000,000 (thousands separators allowed).
pub fn check_quantity(text: &str) -> Result<u32, String> {
    let allowed = format!("give 1 to {}", thousands(MAX_BATCH_QUANTITY));
    let digits: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    if digits.is_empty() {
        return Err(format!("required: {allowed}"));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("a whole number of packs: {allowed}"));
    }
    let too_many = || {
        format!(
            "more than the {} packs one batch may have: split the order",
            thousands(MAX_BATCH_QUANTITY)
        )
    };
    let quantity: u64 = digits.parse().map_err(|_| too_many())?;
    if quantity == 0 {
        return Err(format!("0 packs: {allowed}"));
    }
    if quantity > MAX_BATCH_QUANTITY {
        return Err(too_many());
    }
    u32::try_from(quantity).map_err(|_| too_many())
}

/// Known-bad items to feed first: 0 (or empty) to 100.
pub fn check_challenge(text: &str) -> Result<u32, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    let allowed = format!("give 0 to {MAX_CHALLENGE_ITEMS} (0: no challenge test)");
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("a whole number: {allowed}"));
    }
    match text.parse::<u32>() {
        Ok(n) if n <= MAX_CHALLENGE_ITEMS => Ok(n),
        _ => Err(format!("at most {MAX_CHALLENGE_ITEMS} items: {allowed}")),
    }
}

/// An optional client id: one word.
pub fn check_client(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().any(|c| c.is_whitespace() || is_unsafe_char(c)) {
        return Err("a client id is one word, without spaces".to_string());
    }
    let count = text.chars().count();
    if count > MAX_CLIENT_CHARS {
        return Err(format!("{count} characters: at most {MAX_CLIENT_CHARS}"));
    }
    Ok(Some(text.to_string()))
}

/// The close reason: required when the batch does not balance.
pub fn check_reason(text: &str, required: bool) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return if required {
            Err("required: say why the batch is closed anyway".to_string())
        } else {
            Ok(None)
        };
    }
    check_text(text).map(Some)
}

/// An optional comment.
pub fn check_comment(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    check_text(text).map(Some)
}

fn check_text(text: &str) -> Result<String, String> {
    if text.chars().any(is_unsafe_char) {
        return Err("control characters are not allowed".to_string());
    }
    let count = text.chars().count();
    if count > MAX_TEXT_CHARS {
        return Err(format!("{count} characters: at most {MAX_TEXT_CHARS}"));
    }
    Ok(text.to_string())
}

/// `sample`, `damaged` or `destroyed`.
pub fn check_decommission_reason(text: &str) -> Result<String, String> {
    let text = text.trim().to_ascii_lowercase();
    match text.as_str() {
        "sample" | "damaged" | "destroyed" => Ok(text),
        "" => Err("required: sample, damaged or destroyed".to_string()),
        _ => Err("give sample, damaged or destroyed".to_string()),
    }
}

/// A batch number: a whole number from 1.
pub fn check_batch_number(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("required: the batch number".to_string());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a batch number is a whole number".to_string());
    }
    match text.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("no such batch number: batches are numbered from 1".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn today() -> Gs1Date {
        Gs1Date {
            year: 2026,
            month: 5,
            day: 14,
            day_was_zero: false,
        }
    }

    fn type_text(form: &mut Form, text: &str) {
        for c in text.chars() {
            assert_eq!(form.key(Key::Char(c)), FormOutcome::Editing);
        }
    }

    fn batch(commissioned: u64, allocated: u64) -> BatchView {
        BatchView {
            id: 7,
            gtin: "09506000134352".into(),
            client: "acme".into(),
            lot: "L1".into(),
            expiry: "281231".into(),
            state: "stopped".into(),
            hold: None,
            quantity: 100,
            commissioned,
            good_verdicts: commissioned,
            rejects: 0,
            rejects_by_reason: BTreeMap::new(),
            scrapped: 0,
            sampled: 0,
            invalidated: 0,
            returned: 0,
            allocated,
            rate_per_min: 0.0,
            eta_s: None,
            printer_queue: 0,
            items_in_flight: 0,
            holds: 0,
        }
    }

    #[test]
    fn gtins_need_fourteen_digits_and_the_right_check_digit() {
        assert_eq!(check_gtin("09506000134352").unwrap(), "09506000134352");
        assert_eq!(check_gtin("0950600013").unwrap_err(), "10 of 14 digits");
        assert_eq!(
            check_gtin("09506000134353").unwrap_err(),
            "check digit should be 2, not 3"
        );
        assert!(
            check_gtin("0950600013435X")
                .unwrap_err()
                .contains("digits only")
        );
        assert!(check_gtin("").unwrap_err().starts_with("required"));
        assert_eq!(check_optional_gtin("  ").unwrap(), None);
    }

    #[test]
    fn lots_follow_the_gs1_rules() {
        assert_eq!(check_lot(" L2611A ").unwrap(), "L2611A");
        let space = check_lot("L2 611").unwrap_err();
        assert!(space.contains("position 3"), "{space}");
        assert!(space.contains("CSET 82"), "{space}");
        let long = check_lot("ABCDEFGHIJKLMNOPQRSTU").unwrap_err();
        assert_eq!(long, "21 characters: at most 20");
        assert!(check_lot("").unwrap_err().starts_with("required"));
    }

    #[test]
    fn expiry_is_a_real_future_date_as_yymmdd() {
        assert_eq!(parse_expiry("2028-12-31", today()).unwrap(), "281231");
        assert_eq!(parse_expiry("2026-05-14", today()).unwrap(), "260514");
        assert_eq!(
            parse_expiry("2028-13-01", today()).unwrap_err(),
            "month 13 does not exist: give 01 to 12"
        );
        assert_eq!(
            parse_expiry("2027-02-29", today()).unwrap_err(),
            "February 2027 has 28 days"
        );
        assert!(parse_expiry("2028-02-29", today()).is_ok());
        assert!(
            parse_expiry("2026-05-13", today())
                .unwrap_err()
                .contains("past")
        );
        assert!(
            parse_expiry("281231", today())
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(
            parse_expiry("2028-12-00", today())
                .unwrap_err()
                .contains("day 00")
        );
        assert!(
            parse_expiry("2090-01-01", today())
                .unwrap_err()
                .contains("too far")
        );
    }

    #[test]
    fn quantities_and_challenges_are_bounded_in_words() {
        assert_eq!(check_quantity("1,000").unwrap(), 1000);
        assert_eq!(check_quantity("10000000").unwrap(), 10_000_000);
        for bad in ["0", "10000001", "99999999999999999999999", "ten", ""] {
            let message = check_quantity(bad).unwrap_err();
            assert!(!message.contains(".."), "{message}");
            assert!(message.contains("10,000,000"), "{message}");
        }
        assert_eq!(check_challenge("").unwrap(), 0);
        assert_eq!(check_challenge("100").unwrap(), 100);
        let big = check_challenge("101").unwrap_err();
        assert!(big.contains("0 to 100"), "{big}");
        assert!(!big.contains(".."), "{big}");
    }

    #[test]
    fn the_start_form_shows_errors_as_typed_and_submits_only_when_valid() {
        let mut form = Form::start(today());
        // Nothing shows on an untouched form.
        assert!((0..form.fields.len()).all(|i| form.visible_error(i).is_none()));
        // Submitting it empty shows the required fields and keeps the form.
        assert_eq!(form.key(Key::Enter), FormOutcome::Editing);
        assert!(form.visible_error(0).unwrap().starts_with("required"));
        assert_eq!(form.focus, 0);
        type_text(&mut form, "0950600013435");
        assert_eq!(form.visible_error(0).unwrap(), "13 of 14 digits");
        type_text(&mut form, "2");
        assert_eq!(form.visible_error(0), None);
        form.key(Key::Tab);
        type_text(&mut form, "L1");
        form.key(Key::Tab);
        type_text(&mut form, "2028-13-01");
        assert_eq!(
            form.visible_error(2).unwrap(),
            "month 13 does not exist: give 01 to 12"
        );
        form.key(Key::Tab);
        type_text(&mut form, "500");
        // The bad expiry refuses the submit and takes the focus back to it.
        assert_eq!(form.key(Key::Enter), FormOutcome::Editing);
        assert_eq!(form.focus, 2);
        form.key(Key::Ctrl('u'));
        type_text(&mut form, "2028-12-31");
        assert!(form.is_valid());
        match form.key(Key::Enter) {
            FormOutcome::Submitted(submission) => {
                assert_eq!(
                    submission.request,
                    Request::BatchStart {
                        gtin: "09506000134352".into(),
                        lot: "L1".into(),
                        expiry: "281231".into(),
                        quantity: 500,
                        client: None,
                        challenge: 0,
                    }
                );
                assert_eq!(submission.sign, None);
                assert!(
                    submission
                        .question
                        .starts_with("Start a batch of 500 packs")
                );
            }
            other => panic!("expected a submission, got {other:?}"),
        }
    }

    #[test]
    fn control_characters_are_not_typed_and_escape_cancels() {
        let mut form = Form::start(today());
        form.key(Key::Char('\u{1b}'));
        form.key(Key::Char('\u{202e}'));
        assert_eq!(form.fields[0].value, "");
        assert_eq!(form.key(Key::Esc), FormOutcome::Cancelled);
    }

    #[test]
    fn an_unbalanced_batch_closes_only_with_a_reason_and_a_signature() {
        let balanced = batch(100, 100);
        assert!(batch_balances(&balanced));
        let mut form = Form::close(&balanced, today());
        match form.key(Key::Enter) {
            FormOutcome::Submitted(s) => {
                assert_eq!(s.sign, None);
                assert_eq!(
                    s.request,
                    Request::BatchClose {
                        batch: Some(7),
                        reason: None,
                        signature: None
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        let unbalanced = batch(90, 100);
        assert!(!batch_balances(&unbalanced));
        let mut form = Form::close(&unbalanced, today());
        assert!(form.note().unwrap().contains("does not balance"));
        assert_eq!(form.key(Key::Enter), FormOutcome::Editing);
        assert!(form.visible_error(0).unwrap().starts_with("required"));
        type_text(&mut form, "10 packs lost in a jam");
        match form.key(Key::Enter) {
            FormOutcome::Submitted(s) => {
                assert_eq!(s.sign.as_deref(), Some("closed with reason"));
                assert_eq!(
                    s.request,
                    Request::BatchClose {
                        batch: Some(7),
                        reason: Some("10 packs lost in a jam".into()),
                        signature: None
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decommission_takes_a_serial_and_one_of_three_reasons() {
        let mut form = Form::decommission(Some("09506000134352"), today());
        type_text(&mut form, "ABC123");
        form.key(Key::Tab);
        type_text(&mut form, "lost");
        assert_eq!(
            form.visible_error(1).unwrap(),
            "give sample, damaged or destroyed"
        );
        form.key(Key::Ctrl('u'));
        type_text(&mut form, "sample");
        match form.key(Key::Enter) {
            FormOutcome::Submitted(s) => {
                assert_eq!(s.sign.as_deref(), Some("decommissioned"));
                assert_eq!(
                    s.request,
                    Request::ItemDecommission {
                        serial: "ABC123".into(),
                        gtin: Some("09506000134352".into()),
                        reason: "sample".into(),
                        signature: None
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn release_is_signed_as_approved() {
        let mut form = Form::release(Some(4), today());
        match form.key(Key::Enter) {
            FormOutcome::Submitted(s) => {
                assert_eq!(s.sign.as_deref(), Some("approved"));
                assert_eq!(
                    s.request,
                    Request::BatchRelease {
                        batch: 4,
                        comment: None,
                        signature: None
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
