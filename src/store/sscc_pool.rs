//! SSCC pools: the SSCCs a client's containers are labelled with, generated on the
//! station from the client's GS1 Company Prefix, imported from a file, or taken from
//! the site server or SerialBox (`crate::pool::request::sscc`). Every way in goes
//! through the same unique column, so an SSCC is never in the store twice and never
//! issued twice; a generated range only moves forward (a trigger refuses the rest).
//! The SSCC states are the serial states (ARCHITECTURE.md, "Aggregation").

use rusqlite::{OptionalExtension, params};
use serde_json::json;

use crate::gs1::Sscc;
use crate::pool::{LineProblem, SerialLine};
use crate::store::audit::{self, AuditRecord};
use crate::store::error::{SqlContext, StoreError, StoreResult};
use crate::store::serials::{ImportOutcome, keep_lowest_lines, sort_and_drop_duplicates};
use crate::store::state::SerialState;
use crate::store::{Actor, Store, clock};

/// Shortest GS1 Company Prefix an SSCC may be issued under here: SSCCs reach the
/// site server as EPC URIs, whose company prefix has 6 to 12 digits.
pub const MIN_EPC_COMPANY_PREFIX: usize = 6;

/// What generating SSCCs produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SsccsGenerated {
    pub client_id: String,
    pub count: u64,
    pub first: String,
    pub last: String,
}

/// A client's SSCCs by state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SsccPoolStatus {
    pub client_id: String,
    pub available: u64,
    pub allocated: u64,
    pub printed: u64,
    pub commissioned: u64,
    pub invalidated: u64,
    pub decommissioned: u64,
}

impl Store {
    /// Generates `count` SSCCs for `client_id` under `company_prefix` with
    /// `extension_digit`, continuing the range where it stopped last time, so a
    /// reference is never issued twice by this store.
    pub fn generate_ssccs(
        &mut self,
        client_id: &str,
        extension_digit: u8,
        company_prefix: &str,
        count: u64,
        actor: &Actor,
    ) -> StoreResult<SsccsGenerated> {
        check_epc_company_prefix(company_prefix)?;
        let space = crate::gs1::key::sscc_reference_digits(company_prefix)
            .map_err(|e| StoreError::Invalid(e.message))?;
        if extension_digit > 9 {
            return Err(StoreError::Invalid(format!(
                "extension digit {extension_digit} is not a single digit: use 0 to 9"
            )));
        }
        if count == 0 || count > 10_000_000 {
            return Err(StoreError::Invalid(format!(
                "--count {count}: generate 1 to 10,000,000 SSCCs at a time"
            )));
        }
        let what = format!("generating {count} SSCCs for client {client_id}");
        let tx = self.write_tx(&what)?;
        let known: Option<String> = tx
            .query_row("SELECT id FROM clients WHERE id = ?1", [client_id], |r| {
                r.get(0)
            })
            .optional()
            .context(&what)?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!(
                "client {client_id:?} is not in this store: load its file with `config load` first"
            )));
        }
        let next: i64 = tx
            .query_row(
                "SELECT next_reference FROM sscc_ranges
                 WHERE client_id = ?1 AND extension_digit = ?2 AND company_prefix = ?3",
                params![client_id, extension_digit, company_prefix],
                |r| r.get(0),
            )
            .optional()
            .context(&what)?
            .unwrap_or(0);
        let next = next.max(0) as u64;
        let limit = 10u64.pow(space as u32);
        if next + count > limit {
            return Err(StoreError::Invalid(format!(
                "company prefix {company_prefix} with extension digit {extension_digit} has {} SSCC references left, \
                 not {count}: use another extension digit",
                limit.saturating_sub(next)
            )));
        }
        let now_ms = clock::now_unix_ms();
        let (mut first, mut last) = (String::new(), String::new());
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO ssccs (sscc, client_id, company_prefix_len, state, batch_id, source, imported_at, state_changed_at)
                     VALUES (?1, ?2, ?3, 1, NULL, 'generated', ?4, ?4)",
                )
                .context(&what)?;
            for reference in next..next + count {
                let sscc = Sscc::build(extension_digit, company_prefix, reference)
                    .map_err(|e| StoreError::Invalid(e.message))?;
                insert
                    .execute(params![
                        sscc.as_str(),
                        client_id,
                        company_prefix.len() as i64,
                        now_ms
                    ])
                    .map_err(|e| match e {
                        rusqlite::Error::SqliteFailure(f, _)
                            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            StoreError::Invalid(format!(
                                "SSCC {sscc} is already in this store (imported earlier): \
                                 generating would issue it twice; use another extension digit"
                            ))
                        }
                        other => StoreError::Sqlite {
                            context: what.clone(),
                            source: other,
                        },
                    })?;
                if first.is_empty() {
                    first = sscc.to_string();
                }
                last = sscc.to_string();
            }
        }
        tx.execute(
            "INSERT INTO sscc_ranges (client_id, extension_digit, company_prefix, next_reference)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (client_id, extension_digit, company_prefix) DO UPDATE SET next_reference = excluded.next_reference",
            params![client_id, extension_digit, company_prefix, (next + count) as i64],
        )
        .context(&what)?;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "ssccs.generate",
                subject: format!("client {client_id}"),
                before: None,
                after: Some(json!({
                    "count": count, "first": first, "last": last,
                    "company_prefix": company_prefix, "extension_digit": extension_digit,
                })),
            },
        )?;
        tx.commit().context(&what)?;
        Ok(SsccsGenerated {
            client_id: client_id.to_string(),
            count,
            first,
            last,
        })
    }

    /// A client's SSCCs by state.
    pub fn sscc_pool_status(&self, client_id: &str) -> StoreResult<SsccPoolStatus> {
        let what = format!("reading the SSCC pool of client {client_id}");
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM ssccs WHERE client_id = ?1 GROUP BY state")
            .context(&what)?;
        let rows = stmt
            .query_map([client_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .context(&what)?;
        let mut status = SsccPoolStatus {
            client_id: client_id.to_string(),
            available: 0,
            allocated: 0,
            printed: 0,
            commissioned: 0,
            invalidated: 0,
            decommissioned: 0,
        };
        for row in rows {
            let (code, n) = row.context(&what)?;
            let n = n.max(0) as u64;
            match SerialState::from_code(code) {
                Some(SerialState::Unallocated) => status.available += n,
                Some(SerialState::Allocated) => status.allocated += n,
                Some(SerialState::Encoded) => status.printed += n,
                Some(SerialState::Commissioned) => status.commissioned += n,
                Some(SerialState::SnInvalid) => status.invalidated += n,
                _ => status.decommissioned += n,
            }
        }
        Ok(status)
    }

    /// Imports SSCCs issued elsewhere into the pool of `client_id`, all or nothing,
    /// in one transaction. Each line is an SSCC in any form a scanner or a file gives
    /// it (18 digits, `(00)…`, a GS1 element string or Digital Link, or an EPC URI
    /// `urn:epc:id:sscc:…`), with a right check digit, under `company_prefix` (the
    /// client's, or the one the SSCCs were issued under), and new to the input and to
    /// the store. `source` (the file, the server) goes to the audit row.
    pub fn import_ssccs<I>(
        &mut self,
        client_id: &str,
        company_prefix: &str,
        lines: I,
        source: &str,
        actor: &Actor,
    ) -> StoreResult<ImportOutcome>
    where
        I: IntoIterator<Item = Result<SerialLine, LineProblem>>,
    {
        check_epc_company_prefix(company_prefix)?;
        let what = format!("importing SSCCs for client {client_id}");
        let mut problems = std::collections::BinaryHeap::new();
        let mut total_problems = 0u64;
        let mut note = |p: LineProblem, total: &mut u64| {
            *total += 1;
            keep_lowest_lines(&mut problems, p);
        };
        let mut pending: Vec<SerialLine> = Vec::new();
        for item in lines {
            match item.and_then(|l| {
                read_sscc_line(&l.serial, company_prefix)
                    .map(|sscc| SerialLine {
                        line: l.line,
                        serial: sscc.as_str().to_string(),
                    })
                    .map_err(|reason| LineProblem {
                        line: l.line,
                        reason,
                    })
            }) {
                Ok(l) => pending.push(l),
                Err(p) => note(p, &mut total_problems),
            }
        }
        if pending.is_empty() && total_problems == 0 {
            return Err(StoreError::Invalid(
                "the input holds no SSCC: nothing was imported".to_string(),
            ));
        }
        let unique = sort_and_drop_duplicates(pending, |p| note(p, &mut total_problems));
        let tx = self.write_tx(&what)?;
        let known: Option<String> = tx
            .query_row("SELECT id FROM clients WHERE id = ?1", [client_id], |r| {
                r.get(0)
            })
            .optional()
            .context(&what)?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!(
                "client {client_id:?} is not in this store: load its file with `config load` first"
            )));
        }
        let now_ms = clock::now_unix_ms();
        {
            let mut find = tx
                .prepare_cached("SELECT client_id, state FROM ssccs WHERE sscc = ?1")
                .context(&what)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO ssccs (sscc, client_id, company_prefix_len, state, batch_id, source, imported_at, state_changed_at)
                     VALUES (?1, ?2, ?3, 1, NULL, 'imported', ?4, ?4)",
                )
                .context(&what)?;
            for SerialLine { line, serial } in &unique {
                let existing: Option<(String, i64)> = find
                    .query_row([serial], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .context(&what)?;
                if let Some((owner, state)) = existing {
                    let state = SerialState::from_code(state)
                        .map_or_else(|| format!("state code {state}"), |s| s.to_string());
                    note(
                        LineProblem {
                            line: *line,
                            reason: format!(
                                "SSCC {serial} is already in this store (client {owner}, {state}): an SSCC is never issued twice"
                            ),
                        },
                        &mut total_problems,
                    );
                    continue;
                }
                if total_problems == 0 {
                    insert
                        .execute(params![
                            serial,
                            client_id,
                            company_prefix.len() as i64,
                            now_ms
                        ])
                        .context(&what)?;
                }
            }
        }
        if total_problems > 0 {
            drop(tx); // rolls back: nothing is imported
            let mut problems: Vec<LineProblem> = problems.into_iter().map(|k| k.0).collect();
            problems.sort_by_key(|p| p.line);
            return Ok(ImportOutcome::Rejected {
                problems,
                total: total_problems,
            });
        }
        let count = unique.len() as u64;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "ssccs.import",
                subject: format!("client {client_id}"),
                before: None,
                after: Some(json!({
                    "count": count, "company_prefix": company_prefix, "source": source,
                    "first": unique.first().map(|l| l.serial.as_str()),
                    "last": unique.last().map(|l| l.serial.as_str()),
                })),
            },
        )?;
        tx.commit().context(&what)?;
        Ok(ImportOutcome::Imported { count })
    }
}

/// Refuses a company prefix SSCCs cannot be issued under here (see
/// [`MIN_EPC_COMPANY_PREFIX`]).
pub fn check_epc_company_prefix(company_prefix: &str) -> StoreResult<()> {
    crate::gs1::key::sscc_reference_digits(company_prefix)
        .map_err(|e| StoreError::Invalid(e.message))?;
    if company_prefix.len() < MIN_EPC_COMPANY_PREFIX {
        return Err(StoreError::Invalid(format!(
            "company prefix {company_prefix} has {} digits: SSCCs are reported to the site server as EPC URIs, \
             which need a GS1 Company Prefix of {MIN_EPC_COMPANY_PREFIX} to 12 digits",
            company_prefix.len()
        )));
    }
    Ok(())
}

/// One line of an SSCC file or answer, checked: an SSCC in any read form, under
/// `company_prefix` (pure).
pub fn read_sscc_line(text: &str, company_prefix: &str) -> Result<Sscc, String> {
    let sscc = if text.starts_with("urn:epc:id:sscc:") {
        let (sscc, prefix_len) =
            crate::gs1::epc::parse_sscc_uri(text).map_err(|e| format!("{text}: {}", e.message))?;
        if prefix_len != company_prefix.len() {
            return Err(format!(
                "{text} is under a {prefix_len}-digit company prefix, not under {company_prefix}"
            ));
        }
        sscc
    } else {
        match crate::aggregation::read_scan(text)? {
            crate::aggregation::Scanned::Container(sscc) => sscc,
            crate::aggregation::Scanned::Pack { .. } => {
                return Err(format!("{text:?} is a pack code (AI 01 + 21), not an SSCC"));
            }
        }
    };
    if !sscc.has_company_prefix(company_prefix) {
        return Err(format!(
            "SSCC {sscc} is not under company prefix {company_prefix}: import it with the prefix it was issued under (--company-prefix)"
        ));
    }
    Ok(sscc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sscc_lines_in_every_form_under_the_prefix() {
        let sscc = Sscc::build(1, "0614141", 123_456_789).unwrap();
        let digits = sscc.as_str().to_string();
        for text in [
            digits.clone(),
            format!("(00){digits}"),
            format!("00{digits}"),
            format!("urn:epc:id:sscc:0614141.1{}", &digits[8..17]),
        ] {
            assert_eq!(read_sscc_line(&text, "0614141"), Ok(sscc.clone()), "{text}");
        }
        let e = read_sscc_line(&digits, "0614142").unwrap_err();
        assert!(e.contains("not under company prefix 0614142"), "{e}");
        let mut wrong = digits.clone();
        wrong.replace_range(17.., if digits.ends_with('0') { "1" } else { "0" });
        let e = read_sscc_line(&wrong, "0614141").unwrap_err();
        assert!(e.contains("check digit"), "{e}");
        let e = read_sscc_line("urn:epc:id:sscc:06141410.123456789", "0614141").unwrap_err();
        assert!(e.contains("8-digit company prefix"), "{e}");
        let e = read_sscc_line("(01)09506000134352(21)A1", "0614141").unwrap_err();
        assert!(e.contains("pack code"), "{e}");
        assert!(read_sscc_line("", "0614141").is_err());
    }

    #[test]
    fn short_prefixes_cannot_carry_epc_uris() {
        assert!(check_epc_company_prefix("0614141").is_ok());
        let e = check_epc_company_prefix("95060").unwrap_err().to_string();
        assert!(e.contains("6 to 12 digits"), "{e}");
        assert!(check_epc_company_prefix("12ab567").is_err());
    }
}
