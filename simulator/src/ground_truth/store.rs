//! The ground truth on disk: the SQLite schema, the writer thread that stores rows
//! in batched transactions, and the [`GroundTruth`] reader that tests use to judge
//! a controller from the log alone.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::record::{
    CameraReport, ItemRecord, LineNote, PhysicalExit, PrintOutcome, Row, VerdictArrival,
};
use crate::faults::FaultKind;
use crate::model::{Fate, Verdict};

const SCHEMA: &str = "
CREATE TABLE run (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    item_no INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    entered_encoder INTEGER NOT NULL,
    entered_ms REAL NOT NULL,
    printed INTEGER NOT NULL,
    print_message_id TEXT,
    printed_data TEXT,
    printed_serial TEXT,
    print_grade TEXT,
    print_defects TEXT,
    imaging TEXT NOT NULL,
    camera_reported INTEGER NOT NULL,
    camera_data TEXT,
    camera_grade TEXT,
    verdict_held TEXT,
    verdict_encoder INTEGER,
    verdict_ms REAL,
    late_verdicts INTEGER NOT NULL,
    released INTEGER,
    gate_fired INTEGER,
    exit TEXT NOT NULL,
    reject_seen_by_sensor INTEGER,
    plc_fate TEXT,
    faults TEXT NOT NULL
);
CREATE INDEX items_serial ON items(printed_serial);
CREATE TABLE verdicts (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    verdict TEXT,
    item_no INTEGER,
    late INTEGER NOT NULL,
    encoder INTEGER NOT NULL,
    time_ms REAL NOT NULL
);
CREATE TABLE decision_latency (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    camera_sent_ns INTEGER NOT NULL,
    verdict_received_ns INTEGER NOT NULL
);
CREATE TABLE line_events (id INTEGER PRIMARY KEY, time_ms REAL NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
";

/// An error of the ground-truth store.
#[derive(Debug, thiserror::Error)]
pub enum GroundTruthError {
    #[error("ground truth {path}: {source}; check that the directory exists and is writable")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("ground truth query failed: {0}")]
    Query(#[from] rusqlite::Error),
    #[error("ground truth {path}: cannot remove the old file ({source})")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the ground-truth writer has stopped (an earlier write failed: see the log)")]
    WriterGone,
    #[error("ground truth row {item_no}: unknown value `{value}` in column {column}")]
    BadValue {
        item_no: i64,
        column: &'static str,
        value: String,
    },
}

enum Command {
    Rows(Vec<Row>),
    Flush(mpsc::Sender<Result<(), String>>),
}

/// Handle of the writer thread; cloneable, cheap.
#[derive(Clone)]
pub struct GroundTruthWriter {
    tx: mpsc::Sender<Command>,
    path: PathBuf,
    /// Rows held back until there are `rows_per_send` of them or a flush (see
    /// [`GroundTruthWriter::batched`]); shared by the clones.
    held: Arc<Mutex<Vec<Row>>>,
    rows_per_send: usize,
}

impl GroundTruthWriter {
    /// Creates (or truncates) the file, writes the run metadata and starts the writer.
    pub fn create(
        path: &Path,
        run_info: &[(&str, String)],
    ) -> Result<GroundTruthWriter, GroundTruthError> {
        // The file and the journal files an interrupted earlier run may have left.
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = PathBuf::from(name);
            if file.exists() {
                std::fs::remove_file(&file).map_err(|source| GroundTruthError::Remove {
                    path: file.clone(),
                    source,
                })?;
            }
        }
        let open_err = |source| GroundTruthError::Open {
            path: path.into(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        for (k, v) in run_info {
            conn.execute("INSERT INTO run(key, value) VALUES (?1, ?2)", params![k, v])
                .map_err(open_err)?;
        }
        let (tx, rx) = mpsc::channel::<Command>();
        let thread_path = path.to_path_buf();
        thread::Builder::new()
            .name("ground-truth".into())
            .spawn(move || writer_loop(conn, rx, &thread_path))
            .map_err(|e| GroundTruthError::Open {
                path: path.into(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        Ok(GroundTruthWriter {
            tx,
            path: path.to_path_buf(),
            held: Arc::default(),
            rows_per_send: 1,
        })
    }

    /// The same writer, holding rows back until `rows` of them are waiting (or a
    /// flush): the in-process simulation sends thousands of small groups per second,
    /// and each send wakes the writer thread. Rows reach the file only at a flush or
    /// once enough have gathered, so use it where readers flush first.
    pub fn batched(mut self, rows: usize) -> GroundTruthWriter {
        self.rows_per_send = rows.max(1);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn send(&self, rows: Vec<Row>) -> Result<(), GroundTruthError> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = if self.rows_per_send > 1 {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.extend(rows);
            if held.len() < self.rows_per_send {
                return Ok(());
            }
            std::mem::take(&mut *held)
        } else {
            rows
        };
        self.tx
            .send(Command::Rows(rows))
            .map_err(|_| GroundTruthError::WriterGone)
    }

    /// Blocks until every row sent before is committed.
    pub fn flush(&self) -> Result<(), GroundTruthError> {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        if !held.is_empty() {
            self.tx
                .send(Command::Rows(held))
                .map_err(|_| GroundTruthError::WriterGone)?;
        }
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Command::Flush(tx))
            .map_err(|_| GroundTruthError::WriterGone)?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            _ => Err(GroundTruthError::WriterGone),
        }
    }
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Command>, path: &Path) {
    let mut failed: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let mut take = |c: Command| match c {
            Command::Rows(r) => batch.extend(r),
            Command::Flush(ack) => flushes.push(ack),
        };
        take(first);
        while let Ok(more) = rx.try_recv() {
            take(more);
        }
        if failed.is_none()
            && let Err(e) = write_batch(&mut conn, &batch)
        {
            let msg = format!("ground truth {}: write failed: {e}", path.display());
            tracing::error!("{msg}");
            failed = Some(msg);
        }
        for ack in flushes {
            let _ = ack.send(failed.clone().map_or(Ok(()), Err));
        }
    }
}

fn write_batch(conn: &mut Connection, rows: &[Row]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut item_stmt = tx.prepare(
            "INSERT OR REPLACE INTO items VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)",
        )?;
        let mut verdict_stmt =
            tx.prepare("INSERT INTO verdicts(seq, verdict, item_no, late, encoder, time_ms) VALUES (?1,?2,?3,?4,?5,?6)")?;
        let mut note_stmt =
            tx.prepare("INSERT INTO line_events(time_ms, kind, detail) VALUES (?1,?2,?3)")?;
        let mut latency_stmt = tx.prepare(
            "INSERT INTO decision_latency(seq, camera_sent_ns, verdict_received_ns) VALUES (?1,?2,?3)",
        )?;
        for row in rows {
            match row {
                Row::Item(r) => {
                    let p = r.print.as_ref();
                    let faults: Vec<&str> = r.faults.iter().map(|f| f.name()).collect();
                    item_stmt.execute(params![
                        r.item_no as i64,
                        r.seq,
                        r.entered_encoder,
                        r.entered_ms,
                        p.is_some(),
                        p.map(|p| p.message_id.clone()),
                        p.map(|p| p.data.clone()),
                        p.and_then(|p| p.serial.clone()),
                        p.and_then(|p| p.grade.clone()),
                        p.map(|p| p.defects.join(",")),
                        r.imaging,
                        r.camera.is_some(),
                        r.camera.as_ref().and_then(|c| c.data.clone()),
                        r.camera.as_ref().and_then(|c| c.grade.clone()),
                        r.verdict_held.map(verdict_name),
                        r.verdict_encoder,
                        r.verdict_ms,
                        r.late_verdicts,
                        r.released,
                        r.gate_fired,
                        r.exit.as_str(),
                        r.reject_seen_by_sensor,
                        r.plc_fate.map(fate_name),
                        faults.join(","),
                    ])?;
                }
                Row::Verdict(v) => {
                    verdict_stmt.execute(params![
                        v.seq,
                        v.verdict.map(verdict_name),
                        v.item_no.map(|n| n as i64),
                        v.late,
                        v.encoder,
                        v.time_ms
                    ])?;
                }
                Row::Note(n) => {
                    note_stmt.execute(params![n.time_ms, n.kind, n.detail])?;
                }
                Row::Latency(l) => {
                    latency_stmt.execute(params![
                        l.seq,
                        i64::try_from(l.camera_sent_ns).unwrap_or(i64::MAX),
                        i64::try_from(l.verdict_received_ns).unwrap_or(i64::MAX)
                    ])?;
                }
            }
        }
    }
    tx.commit()
}

pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Good => "good",
        Verdict::Reject => "reject",
    }
}

pub fn fate_name(f: Fate) -> &'static str {
    match f {
        Fate::ExitedGood => "exited_good",
        Fate::RejectedConfirmed => "rejected_confirmed",
        Fate::RejectedUnconfirmed => "rejected_unconfirmed",
    }
}

/// Read access to a ground-truth file.
pub struct GroundTruth {
    conn: Connection,
}

/// Counts over the whole run.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Summary {
    pub items: u64,
    pub printed: u64,
    pub good_exit: u64,
    pub reject_bin: u64,
    pub on_line: u64,
    pub rejects_confirmed: u64,
    pub rejects_unconfirmed: u64,
}

impl GroundTruth {
    pub fn open(path: &Path) -> Result<GroundTruth, GroundTruthError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| GroundTruthError::Open {
                path: path.into(),
                source,
            })?;
        Ok(GroundTruth { conn })
    }

    /// A run setting stored at start (seed, images, config).
    pub fn run_info(&self, key: &str) -> Result<Option<String>, GroundTruthError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM run WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Every item, in item order.
    pub fn items(&self) -> Result<Vec<ItemRecord>, GroundTruthError> {
        self.items_where("1=1", [])
    }

    pub fn item(&self, item_no: u64) -> Result<Option<ItemRecord>, GroundTruthError> {
        Ok(self
            .items_where("item_no = ?1", [item_no as i64])?
            .into_iter()
            .next())
    }

    /// Items whose seq is `seq` (more than one only after a u32 wrap).
    pub fn items_with_seq(&self, seq: u32) -> Result<Vec<ItemRecord>, GroundTruthError> {
        self.items_where("seq = ?1", [seq as i64])
    }

    /// Serials on items that physically left through the good exit, in item order.
    pub fn serials_exited_good(&self) -> Result<Vec<String>, GroundTruthError> {
        self.strings("SELECT printed_serial FROM items WHERE exit = 'good_exit' AND printed_serial IS NOT NULL ORDER BY item_no")
    }

    /// Serials on items that went into the reject bin.
    pub fn serials_rejected(&self) -> Result<Vec<String>, GroundTruthError> {
        self.strings("SELECT printed_serial FROM items WHERE exit = 'reject_bin' AND printed_serial IS NOT NULL ORDER BY item_no")
    }

    /// Serials physically printed on more than one item, with the count.
    pub fn serials_printed_more_than_once(&self) -> Result<Vec<(String, u64)>, GroundTruthError> {
        let mut stmt = self.conn.prepare(
            "SELECT printed_serial, COUNT(*) FROM items WHERE printed_serial IS NOT NULL GROUP BY printed_serial HAVING COUNT(*) > 1 ORDER BY printed_serial",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items that left through the good exit without an explicit GOOD verdict held at
    /// the gate (only possible through a gate failure): each one is an escape.
    pub fn good_exits_without_good_verdict(&self) -> Result<Vec<ItemRecord>, GroundTruthError> {
        self.items_where(
            "exit = 'good_exit' AND (verdict_held IS NULL OR verdict_held <> 'good')",
            [],
        )
    }

    /// Every verdict write in arrival order.
    pub fn verdicts(&self) -> Result<Vec<VerdictArrival>, GroundTruthError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, verdict, item_no, late, encoder, time_ms FROM verdicts ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, u32>(4)?,
                r.get::<_, f64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, verdict, item_no, late, encoder, time_ms) = row?;
            out.push(VerdictArrival {
                seq,
                verdict: verdict.as_deref().and_then(parse_verdict),
                item_no: item_no.map(|n| n as u64),
                late,
                encoder,
                time_ms,
            });
        }
        Ok(out)
    }

    /// Per item seq, in the order the verdicts arrived: the time from the camera
    /// sending its result to the PLC receiving the verdict write for that seq (one
    /// monotonic clock of the simulator process). Items without a camera result or
    /// without a verdict are not in it.
    pub fn decision_latencies(&self) -> Result<Vec<(u32, Duration)>, GroundTruthError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, camera_sent_ns, verdict_received_ns FROM decision_latency ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, sent, received) = row?;
            let nanos = u64::try_from(received.saturating_sub(sent)).unwrap_or(0);
            out.push((seq, Duration::from_nanos(nanos)));
        }
        Ok(out)
    }

    /// Alarms, state changes and control actions, in order.
    pub fn line_events(&self) -> Result<Vec<LineNote>, GroundTruthError> {
        let mut stmt = self
            .conn
            .prepare("SELECT time_ms, kind, detail FROM line_events ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(LineNote {
                time_ms: r.get(0)?,
                kind: r.get(1)?,
                detail: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn summary(&self) -> Result<Summary, GroundTruthError> {
        let count = |sql: &str| -> Result<u64, GroundTruthError> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        Ok(Summary {
            items: count("SELECT COUNT(*) FROM items")?,
            printed: count("SELECT COUNT(*) FROM items WHERE printed")?,
            good_exit: count("SELECT COUNT(*) FROM items WHERE exit = 'good_exit'")?,
            reject_bin: count("SELECT COUNT(*) FROM items WHERE exit = 'reject_bin'")?,
            on_line: count("SELECT COUNT(*) FROM items WHERE exit = 'on_line'")?,
            rejects_confirmed: count(
                "SELECT COUNT(*) FROM items WHERE plc_fate = 'rejected_confirmed'",
            )?,
            rejects_unconfirmed: count(
                "SELECT COUNT(*) FROM items WHERE plc_fate = 'rejected_unconfirmed'",
            )?,
        })
    }

    fn strings(&self, sql: &str) -> Result<Vec<String>, GroundTruthError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn items_where<P: rusqlite::Params>(
        &self,
        filter: &str,
        p: P,
    ) -> Result<Vec<ItemRecord>, GroundTruthError> {
        let sql = format!(
            "SELECT item_no, seq, entered_encoder, entered_ms, printed, print_message_id, printed_data, printed_serial,
                    print_grade, print_defects, imaging, camera_reported, camera_data, camera_grade, verdict_held,
                    verdict_encoder, verdict_ms, late_verdicts, released, gate_fired, exit, reject_seen_by_sensor,
                    plc_fate, faults FROM items WHERE {filter} ORDER BY item_no"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(p)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let item_no: i64 = r.get(0)?;
            let bad = |column: &'static str, value: &str| GroundTruthError::BadValue {
                item_no,
                column,
                value: value.into(),
            };
            let printed: bool = r.get(4)?;
            let print = if printed {
                let defects: Option<String> = r.get(9)?;
                Some(PrintOutcome {
                    message_id: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    data: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    serial: r.get(7)?,
                    grade: r.get(8)?,
                    defects: defects
                        .filter(|d| !d.is_empty())
                        .map(|d| d.split(',').map(str::to_string).collect())
                        .unwrap_or_default(),
                })
            } else {
                None
            };
            let camera = if r.get::<_, bool>(11)? {
                Some(CameraReport {
                    data: r.get(12)?,
                    grade: r.get(13)?,
                })
            } else {
                None
            };
            let verdict_held = match r.get::<_, Option<String>>(14)? {
                None => None,
                Some(v) => Some(parse_verdict(&v).ok_or_else(|| bad("verdict_held", &v))?),
            };
            let exit_s: String = r.get(20)?;
            let exit = PhysicalExit::parse(&exit_s).ok_or_else(|| bad("exit", &exit_s))?;
            let plc_fate = match r.get::<_, Option<String>>(22)? {
                None => None,
                Some(v) => Some(parse_fate(&v).ok_or_else(|| bad("plc_fate", &v))?),
            };
            let faults_s: String = r.get(23)?;
            let mut faults = Vec::new();
            for name in faults_s.split(',').filter(|s| !s.is_empty()) {
                faults.push(FaultKind::from_name(name).ok_or_else(|| bad("faults", name))?);
            }
            out.push(ItemRecord {
                item_no: item_no as u64,
                seq: r.get(1)?,
                entered_encoder: r.get(2)?,
                entered_ms: r.get(3)?,
                print,
                imaging: r.get(10)?,
                camera,
                verdict_held,
                verdict_encoder: r.get(15)?,
                verdict_ms: r.get(16)?,
                late_verdicts: r.get(17)?,
                released: r.get(18)?,
                gate_fired: r.get(19)?,
                exit,
                reject_seen_by_sensor: r.get(21)?,
                plc_fate,
                faults,
            });
        }
        Ok(out)
    }
}

fn parse_verdict(s: &str) -> Option<Verdict> {
    match s {
        "good" => Some(Verdict::Good),
        "reject" => Some(Verdict::Reject),
        _ => None,
    }
}

fn parse_fate(s: &str) -> Option<Fate> {
    match s {
        "exited_good" => Some(Fate::ExitedGood),
        "rejected_confirmed" => Some(Fate::RejectedConfirmed),
        "rejected_unconfirmed" => Some(Fate::RejectedUnconfirmed),
        _ => None,
    }
}
