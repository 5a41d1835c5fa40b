//! The chunker: turns a client's per-serial outbox rows (written by the line, one per
//! commissioned, scrapped or invalidated serial) into EPCIS document chunks for the
//! sender.
//!
//! Rows are grouped by (batch, kind). A group is chunked when it holds at least one
//! full event (`max_epcs_per_event` rows; then only whole events are taken while
//! the batch runs), when its batch is no longer running (stopped or closed), or when
//! its oldest row is older than `flush_after_s`. Groups are queued in the order of
//! their oldest row, so a client's chunks follow the order its serials were
//! recorded. Commissioned serials become commissioning events (lot and expiry in
//! `ilmd`), scrapped and invalidated ones the client's used-up event; read point
//! and business location come from the client's configuration. A chunk, once
//! queued, is never re-chunked.
//!
//! Container rows (SSCCs commissioned or decommissioned, children packed or unpacked)
//! become one event each ([`super::container_events`]) and are chunked in id order,
//! each only once every per-serial row before it is chunked; decommissioned and
//! destroyed packs' rows wait for the container rows before them in turn (see
//! `store::outbox`). A round alternates between the two until neither moves.
//!
//! [`plan_takes`] is the pure decision; [`chunk_client`] runs it with the store, one
//! transaction per at most [`MAX_ROWS_PER_TRANSACTION`] rows (chunks inserted and
//! rows marked together, all or nothing).

use serialstation_gs1::{Gs1Date, Gtin};

use crate::config::Client;
use crate::config::model::{EpcisFormat, UsedUpReport};
use crate::store::outbox::{AggregationRow, GroupTake, QueuedChunk, SerialChunker, SerialRowGroup};
use crate::store::{BatchState, Store, StoreResult, clock};
use crate::upload::container_events;
use crate::upload::sender::exchange::AnnouncedLimits;
use crate::upload::sender::{OUTBOX_KIND_EPCIS, chunk_payloads};
use crate::upload::{
    ChunkLimits, DocumentFormat, EventKind, EventTemplate, EventTime, LotMasterData, Sgln,
    TimeZoneOffset,
};

/// Most per-serial rows turned into chunks in one store transaction: the write lock
/// is held that long (about half a second for this many), and the station's own
/// commits wait behind it.
pub const MAX_ROWS_PER_TRANSACTION: u64 = 100_000;

/// Most container rows turned into chunks in one store transaction (each may name a
/// pallet's worth of children).
pub const MAX_CONTAINER_ROWS_PER_TRANSACTION: u64 = 1_000;

/// Most alternations between per-serial and container rows in one call of
/// [`chunk_client`]; what is left waits for the next round.
const MAX_ALTERNATIONS: usize = 16;

/// When a client's groups are due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRule {
    pub max_epcs_per_event: u64,
    /// Rows created at or before this instant (store text form) are due.
    pub flush_cutoff: String,
    /// Chunk every pending row now.
    pub force: bool,
    /// Most rows to take.
    pub max_rows: u64,
}

/// Which groups to chunk and how many rows of each, in queue order (pure).
///
/// `groups` come oldest first row first. A group whose batch still runs (created,
/// running, paused) and whose oldest row is younger than the cutoff gives only whole
/// events; any other group gives all its rows. At most `max_rows` rows are taken;
/// a group cut by that limit gives whole events only, so that the next transaction
/// continues at an event boundary.
pub fn plan_takes(groups: &[SerialRowGroup], rule: &ChunkRule) -> Vec<GroupTake> {
    let per_event = rule.max_epcs_per_event.max(1);
    let mut budget = rule.max_rows;
    let mut takes = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        if budget == 0 {
            break;
        }
        let running = matches!(
            group.batch_state,
            BatchState::Created | BatchState::Running | BatchState::Paused
        );
        let due_all = rule.force
            || !running
            || group.oldest_created_at.as_str() <= rule.flush_cutoff.as_str();
        let mut rows = if due_all {
            group.rows
        } else {
            group.rows / per_event * per_event
        };
        if rows > budget {
            rows = budget / per_event * per_event;
        }
        if rows == 0 {
            continue;
        }
        budget -= rows;
        takes.push(GroupTake { group: index, rows });
    }
    takes
}

/// A client's chunking settings, from its configuration and what its site server
/// announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientChunking {
    pub client_id: String,
    pub format: DocumentFormat,
    pub limits: ChunkLimits,
    pub read_point: Sgln,
    pub biz_location: Sgln,
    pub used_up: EventKind,
    pub flush_after_ms: i64,
}

impl ClientChunking {
    /// The settings of `client`, the configured limits tightened by `announced`.
    /// Fails (with what to change) when the configuration cannot make events.
    pub fn from_client(client: &Client, announced: AnnouncedLimits) -> Result<Self, String> {
        let upload = &client.upload;
        let location = |value: &Option<String>, name: &str| match value {
            Some(uri) => Sgln::parse(uri).map_err(|e| format!("upload.{name}: {e}")),
            None => Err(format!(
                "client {} has no upload.{name}: set it (an SGLN such as urn:epc:id:sgln:9506000.00001.0) and load the configuration again",
                client.id
            )),
        };
        let limits = ChunkLimits {
            max_epcs_per_event: upload.max_epcs_per_event.max(1) as usize,
            max_events_per_document: upload.max_events_per_document.max(1) as usize,
            max_document_bytes: usize::try_from(upload.max_document_bytes).unwrap_or(usize::MAX),
        }
        .tightened_by_capture_limits(announced.events_per_capture, announced.bytes_per_capture);
        limits.validate().map_err(|e| e.to_string())?;
        Ok(ClientChunking {
            client_id: client.id.clone(),
            format: match upload.format {
                EpcisFormat::Epcis2JsonLd => DocumentFormat::Epcis2JsonLd,
                EpcisFormat::Epcis12Xml => DocumentFormat::Epcis12Xml,
            },
            limits,
            read_point: location(&upload.read_point, "read_point")?,
            biz_location: location(&upload.biz_location, "biz_location")?,
            used_up: match upload.used_up {
                UsedUpReport::Decommission => EventKind::Decommissioning,
                UsedUpReport::Destroy => EventKind::Destroying,
            },
            flush_after_ms: i64::from(upload.flush_after_s) * 1000,
        })
    }
}

/// The [`SerialChunker`] of one client for one transaction.
struct Chunker<'a> {
    settings: &'a ClientChunking,
    rule: ChunkRule,
    creation_date: EventTime,
    current_year: i32,
}

impl Chunker<'_> {
    fn template(&self, group: &SerialRowGroup) -> Result<EventTemplate, String> {
        let kind = match group.kind.as_str() {
            "commissioned" => {
                let expiry = Gs1Date::parse_yymmdd(&group.expiry, false, self.current_year)
                    .map_err(|e| format!("expiry {:?} of the batch: {e}", group.expiry))?;
                EventKind::Commissioning(
                    LotMasterData::new(&group.lot, expiry).map_err(|e| e.to_string())?,
                )
            }
            "scrapped" | "invalidated" => self.settings.used_up.clone(),
            // A commissioned pack taken out by an operator (sample, damage) or destroyed.
            "decommissioned" => EventKind::Decommissioning,
            "destroyed" => EventKind::Destroying,
            other => return Err(format!("unknown per-serial row kind {other:?}")),
        };
        // Every serial of the event was recorded at or before its newest row.
        let event_time = EventTime::parse_rfc3339(&group.newest_created_at)
            .map_err(|e| format!("time of the newest serial: {e}"))?;
        Ok(EventTemplate {
            kind,
            event_time,
            read_point: self.settings.read_point.clone(),
            biz_location: self.settings.biz_location.clone(),
        })
    }
}

impl SerialChunker for Chunker<'_> {
    fn plan(&mut self, groups: &[SerialRowGroup]) -> Vec<GroupTake> {
        plan_takes(groups, &self.rule)
    }

    fn build(
        &mut self,
        group: &SerialRowGroup,
        serials: &mut dyn Iterator<Item = String>,
        emit: &mut dyn FnMut(String) -> StoreResult<()>,
    ) -> Result<(), String> {
        let template = self.template(group)?;
        let gtin = Gtin::parse(&group.gtin).map_err(|e| format!("GTIN {}: {e}", group.gtin))?;
        let chunks = chunk_payloads(
            self.settings.format,
            self.settings.limits,
            self.creation_date,
            template,
            &gtin,
            usize::from(group.company_prefix_length),
            serials,
        )
        .map_err(|e| e.to_string())?;
        for chunk in chunks {
            let chunk = chunk.map_err(|e| e.to_string())?;
            emit(chunk.to_stored()).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// What chunking one client did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientChunkReport {
    /// Chunks queued, from per-serial and container rows.
    pub chunks: u64,
    /// Per-serial rows consumed.
    pub rows: u64,
    /// Container rows consumed.
    pub container_rows: u64,
}

/// Chunks what is due for one client (`force`: every pending per-serial row), in as
/// many transactions of at most [`MAX_ROWS_PER_TRANSACTION`] per-serial rows or
/// [`MAX_CONTAINER_ROWS_PER_TRANSACTION`] container rows as it takes.
pub fn chunk_client(
    store: &mut Store,
    settings: &ClientChunking,
    force: bool,
) -> Result<ClientChunkReport, String> {
    let now_ms = clock::now_unix_ms();
    let creation_date =
        EventTime::from_unix_millis(now_ms, TimeZoneOffset::UTC).map_err(|e| e.to_string())?;
    let per_event = settings.limits.max_epcs_per_event.max(1) as u64;
    let max_rows = (MAX_ROWS_PER_TRANSACTION / per_event * per_event).max(per_event);
    let mut chunker = Chunker {
        settings,
        rule: ChunkRule {
            max_epcs_per_event: per_event,
            flush_cutoff: clock::format_unix_ms(now_ms.saturating_sub(settings.flush_after_ms)),
            force,
            max_rows,
        },
        creation_date,
        current_year: clock::year_of_unix_ms(now_ms),
    };
    let mut report = ClientChunkReport::default();
    for _ in 0..MAX_ALTERNATIONS {
        chunk_serials(
            store,
            settings,
            &mut chunker,
            per_event,
            max_rows,
            &mut report,
        )?;
        // Container rows chunked now may let decommissioned packs' rows follow.
        if chunk_containers(store, settings, creation_date, &mut report)? == 0 {
            break;
        }
    }
    Ok(report)
}

/// The per-serial rows that are due, in transactions of at most `max_rows`.
fn chunk_serials(
    store: &mut Store,
    settings: &ClientChunking,
    chunker: &mut Chunker<'_>,
    per_event: u64,
    max_rows: u64,
    report: &mut ClientChunkReport,
) -> Result<(), String> {
    loop {
        let outcome = store
            .chunk_serial_rows(&settings.client_id, OUTBOX_KIND_EPCIS, &mut *chunker)
            .map_err(|e| e.to_string())?;
        report.chunks += outcome.chunks;
        report.rows += outcome.rows;
        // Fewer rows than the budget less one event: the budget did not cut.
        if outcome.rows + per_event <= max_rows {
            return Ok(());
        }
    }
}

/// The container rows that may go now; returns how many were taken.
fn chunk_containers(
    store: &mut Store,
    settings: &ClientChunking,
    creation_date: EventTime,
    report: &mut ClientChunkReport,
) -> Result<u64, String> {
    let mut taken = 0;
    loop {
        let outcome = store
            .chunk_aggregation_rows(
                &settings.client_id,
                OUTBOX_KIND_EPCIS,
                MAX_CONTAINER_ROWS_PER_TRANSACTION,
                &mut |rows: &[AggregationRow]| container_chunks(settings, creation_date, rows),
            )
            .map_err(|e| e.to_string())?;
        report.chunks += outcome.chunks;
        report.container_rows += outcome.rows;
        taken += outcome.rows;
        if outcome.rows < MAX_CONTAINER_ROWS_PER_TRANSACTION {
            return Ok(taken);
        }
    }
}

/// The chunks of container rows (oldest first), for [`Store::chunk_aggregation_rows`].
fn container_chunks(
    settings: &ClientChunking,
    creation_date: EventTime,
    rows: &[AggregationRow],
) -> Result<Vec<QueuedChunk>, String> {
    let mut sequence = Vec::with_capacity(rows.len());
    for row in rows {
        let events = container_events::row_events(
            &row.kind,
            &row.payload,
            &settings.read_point,
            &settings.biz_location,
            settings.limits.max_epcs_per_event,
        )
        .map_err(|why| format!("outbox row {} ({}): {why}", row.id.0, row.kind))?;
        sequence.push((row.batch, events));
    }
    let chunks =
        container_events::pack_chunks(settings.format, settings.limits, creation_date, sequence)
            .map_err(|e| e.to_string())?;
    Ok(chunks
        .into_iter()
        .map(|(batch, chunk)| QueuedChunk {
            batch,
            payload: chunk.to_stored(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BatchId, OutboxId};

    fn group(first: i64, rows: u64, oldest: &str, state: BatchState) -> SerialRowGroup {
        SerialRowGroup {
            batch: BatchId(1),
            kind: "commissioned".into(),
            rows,
            first_id: OutboxId(first),
            oldest_created_at: oldest.into(),
            newest_created_at: oldest.into(),
            gtin: "09506000134352".into(),
            lot: "L1".into(),
            expiry: "301231".into(),
            batch_state: state,
            company_prefix_length: 7,
        }
    }

    fn rule(force: bool, max_rows: u64) -> ChunkRule {
        ChunkRule {
            max_epcs_per_event: 10,
            flush_cutoff: "2026-01-01T00:00:05.000Z".into(),
            force,
            max_rows,
        }
    }

    const YOUNG: &str = "2026-01-01T00:00:09.000Z";
    const OLD: &str = "2026-01-01T00:00:01.000Z";

    #[test]
    fn running_young_groups_give_whole_events_only() {
        let groups = [group(1, 25, YOUNG, BatchState::Running)];
        assert_eq!(
            plan_takes(&groups, &rule(false, 1000)),
            vec![GroupTake { group: 0, rows: 20 }]
        );
        let groups = [group(1, 9, YOUNG, BatchState::Paused)];
        assert!(plan_takes(&groups, &rule(false, 1000)).is_empty());
    }

    #[test]
    fn old_stopped_or_forced_groups_give_everything() {
        let groups = [
            group(1, 9, OLD, BatchState::Running),
            group(2, 3, YOUNG, BatchState::Stopped),
            group(3, 4, YOUNG, BatchState::Closed),
            group(4, 5, YOUNG, BatchState::Running),
        ];
        assert_eq!(
            plan_takes(&groups, &rule(false, 1000)),
            vec![
                GroupTake { group: 0, rows: 9 },
                GroupTake { group: 1, rows: 3 },
                GroupTake { group: 2, rows: 4 },
            ]
        );
        assert_eq!(plan_takes(&groups, &rule(true, 1000)).len(), 4);
    }

    #[test]
    fn the_row_budget_cuts_at_event_boundaries() {
        let groups = [
            group(1, 35, OLD, BatchState::Stopped),
            group(2, 50, OLD, BatchState::Stopped),
        ];
        assert_eq!(
            plan_takes(&groups, &rule(false, 30)),
            vec![GroupTake { group: 0, rows: 30 }]
        );
        assert_eq!(
            plan_takes(&groups, &rule(false, 40)),
            vec![GroupTake { group: 0, rows: 35 }]
        );
    }

    fn settings(format: DocumentFormat) -> ClientChunking {
        ClientChunking {
            client_id: "acme".into(),
            format,
            limits: ChunkLimits::default(),
            read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
            biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").unwrap(),
            used_up: EventKind::Decommissioning,
            flush_after_ms: 5000,
        }
    }

    fn row(id: i64, kind: &str, batch: i64, payload: serde_json::Value) -> AggregationRow {
        AggregationRow {
            id: OutboxId(id),
            kind: kind.into(),
            batch: Some(BatchId(batch)),
            payload: payload.to_string(),
        }
    }

    #[test]
    fn container_rows_become_chunks_in_row_order() {
        let at = "2026-05-04T12:00:00.000Z";
        let case = serde_json::json!({"sscc": "095060000000000176", "company_prefix_length": 7});
        let rows = [
            row(
                10,
                "sscc-commissioned",
                1,
                serde_json::json!({"sscc": "095060000000000176", "company_prefix_length": 7, "at": at}),
            ),
            row(
                11,
                "aggregation-add",
                1,
                serde_json::json!({"parent": case, "at": at, "children": [
                    {"gtin": "09506000134352", "serial": "A1", "company_prefix_length": 7}]}),
            ),
        ];
        let creation = EventTime::parse_rfc3339("2026-05-04T14:00:00.000Z").unwrap();
        for format in [DocumentFormat::Epcis2JsonLd, DocumentFormat::Epcis12Xml] {
            let chunks = container_chunks(&settings(format), creation, &rows).unwrap();
            assert_eq!(chunks.len(), 1);
            assert_eq!(chunks[0].batch, Some(BatchId(1)));
            let chunk =
                crate::upload::sender::ChunkPayload::from_stored(&chunks[0].payload).unwrap();
            assert_eq!((chunk.events.len(), chunk.aggregation_events.len()), (1, 1));
            assert_eq!(chunk.format, format);
            assert_eq!(chunk.render().unwrap().events.len(), 2);
        }
        let broken = [row(
            12,
            "aggregation-add",
            1,
            serde_json::json!({"parent": case}),
        )];
        let why = container_chunks(&settings(DocumentFormat::Epcis2JsonLd), creation, &broken)
            .unwrap_err();
        assert!(
            why.contains("outbox row 12") && why.contains("aggregation-add"),
            "{why}"
        );
    }
}
