//! Aggregation in the store: one case of 12 commissioned packs opened, packed (the
//! set checked child by child), closed, labelled and verified — five write
//! transactions, each with its audit row, the last with the SSCC commissioning and
//! AggregationEvent outbox rows — on a real SQLite file (WAL, synchronous=FULL).
//! Only the aggregation is timed; commissioning the packs is not. Then the pallet
//! station's decision per case: a verified case's read checked and packed onto
//! the pallet before its ACCEPT, and at every 4th case the pallet closed, its
//! label made (content and ZPL) and recorded, and its read back verified. Last,
//! the case station's decision per closed case, decode excluded: the camera's
//! reads checked against the tracked packs, the case built in one transaction,
//! its label made and recorded, the read back verified (three transactions).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serialstation::aggregation::{Level, Scanned};
use serialstation::config::parse_client_config;
use serialstation::gs1::Gtin;
use serialstation::pool::{Alphabet, GenerationPlan, SerialOrder};
use serialstation::store::line_records::{LineBatch, LineRecord, SerialOutcome};
use serialstation::store::{Actor, NewBatch, Store};

const GTIN: &str = "09506000134352";
const CASE: usize = 12;

/// Commissions one case's worth of packs; returns them as a scanner reads them.
fn commission(store: &mut Store, line: &LineBatch, gtin: &Gtin, next: &mut u64) -> Vec<Scanned> {
    let actor = Actor::new("bench");
    let serials: Vec<String> = store
        .allocate_block(line.batch, gtin, CASE, &actor)
        .expect("allocate")
        .into_iter()
        .map(|s| s.serial)
        .collect();
    let mut records = Vec::new();
    for serial in &serials {
        let outcome = |outcome| LineRecord::Serial {
            serial: serial.clone(),
            outcome,
            detail: "bench".to_string(),
        };
        records.push(LineRecord::PrintQueued {
            message_id: *next,
            serial: serial.clone(),
        });
        records.push(outcome(SerialOutcome::Encoded));
        records.push(LineRecord::ItemVerdict {
            seq: *next as u32,
            good: true,
            reason: None,
            serial: Some(serial.clone()),
            grade: Some(4.0),
        });
        records.push(LineRecord::ItemFate {
            seq: *next as u32,
            fate: "exited_good".to_string(),
            serial: Some(serial.clone()),
        });
        records.push(outcome(SerialOutcome::Commissioned));
        *next += 1;
    }
    store
        .apply_line_records(line, &records, &actor)
        .expect("commissioned");
    serials
        .into_iter()
        .map(|serial| Scanned::Pack {
            gtin: gtin.clone(),
            serial,
        })
        .collect()
}

/// A case of `packs` opened, packed, closed, labelled and verified, as
/// `container open|pack|close|label|verify` do it; its SSCC.
fn verified_case(
    store: &mut Store,
    batch: serialstation::store::BatchId,
    packs: &[Scanned],
    actor: &Actor,
) -> String {
    let case = store
        .open_container(batch, Level::Case, Level::Pack, CASE as u64, actor)
        .expect("open");
    let sscc = serialstation::gs1::Sscc::parse(&case.sscc).expect("sscc");
    store.pack(&sscc, packs, actor).expect("pack");
    store.close_container(&sscc, false, actor).expect("close");
    store
        .container_label_printed(&sscc, "bench", actor)
        .expect("label");
    store
        .container_label_verified(&sscc, &case.sscc, actor)
        .expect("verify");
    case.sscc
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path().join("bench.sqlite")).expect("store");
    let actor = Actor::new("bench");
    let config = parse_client_config("acme.toml", include_str!("../config/clients/acme.toml"))
        .config
        .expect("client");
    store.load_client_config(&config, &actor).expect("load");
    let gtin = Gtin::parse(GTIN).expect("gtin");
    let plan = GenerationPlan {
        count: 200_000,
        order: SerialOrder::Random,
        alphabet: Alphabet::Alphanumeric,
        length: 12,
    };
    store.generate_serials(&gtin, &plan, &actor).expect("pool");
    store
        .generate_ssccs("acme", 0, "9506000", 100_000, &actor)
        .expect("ssccs");
    let batch = store
        .create_batch(
            &NewBatch {
                gtin: gtin.clone(),
                lot: "B1".to_string(),
                expiry: "301231".to_string(),
                quantity: 1_000_000,
            },
            &actor,
        )
        .expect("batch");
    let line = LineBatch {
        batch,
        gtin: gtin.clone(),
        client_id: "acme".to_string(),
        lot: "B1".to_string(),
        expiry: "301231".to_string(),
    };
    let mut next = 1u64;
    let mut group = c.benchmark_group("aggregation");
    group.sample_size(30);
    group.bench_function("case_of_12_open_pack_close_label_verify", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                let packs = commission(&mut store, &line, &gtin, &mut next);
                let began = Instant::now();
                verified_case(&mut store, batch, &packs, &actor);
                spent += began.elapsed();
            }
            spent
        });
    });
    group.bench_function("pallet_station_case_read_to_answer", |b| {
        use serialstation::container_station::{CaseRead, CellIo, PalletSettings, PalletStation};
        struct Quiet;
        impl CellIo for Quiet {
            fn answer_case(&mut self, _connection: u64, _stack: bool) -> bool {
                true
            }
            fn print_label(&mut self, _zpl: &[u8]) -> Result<(), String> {
                Ok(())
            }
            fn say(&mut self, _line: &str) {}
        }
        let settings = PalletSettings {
            batch,
            capacity: 4,
            child_level: Level::Case,
            partial_allowed: true,
            label_attempts: 3,
            printer_name: "bench".to_string(),
        };
        let other = Store::open(dir.path().join("bench.sqlite")).expect("store");
        let mut station = PalletStation::new(other, settings, Actor::new("bench"), Quiet);
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                let packs = commission(&mut store, &line, &gtin, &mut next);
                let case = verified_case(&mut store, batch, &packs, &actor);
                let began = Instant::now();
                station
                    .on_case_read(CaseRead {
                        line: format!("]C100{case}"),
                        connection: 0,
                        at: Instant::now(),
                    })
                    .expect("read");
                station.settle().expect("settled");
                if let Some((pallet, _)) = station.awaiting_label() {
                    let read = format!("]C100{pallet}");
                    station.on_label_read(&read).expect("label read");
                }
                spent += began.elapsed();
            }
            spent
        });
    });
    group.bench_function("case_station_check_build_label_verify", |b| {
        use serialstation::aggregation::case_check::PlaceRead;
        use serialstation::container_station::{
            CaseCellIo, CaseExit, CaseSettings, CaseStation, Handled,
        };
        use serialstation_devices::plc::case_packer::WaitingCase;
        /// The case cell with the camera's reads given and the label read back
        /// as printed; no sockets.
        struct Given {
            places: Vec<PlaceRead>,
            printed: Option<String>,
        }
        impl CaseCellIo for Given {
            fn picture(&mut self, _number: u32) -> Result<Vec<PlaceRead>, String> {
                Ok(self.places.clone())
            }
            fn print_label(&mut self, _zpl: &[u8]) -> Result<(), String> {
                Ok(())
            }
            fn forget_label_reads(&mut self) {}
            fn next_label_read(&mut self) -> Option<String> {
                self.printed.take()
            }
            fn send_case(&mut self, _number: u32, _exit: CaseExit) -> Result<(), String> {
                Ok(())
            }
            fn say(&mut self, line: &str) {
                if let Some(rest) = line.strip_prefix("label of case ") {
                    self.printed = rest
                        .split_whitespace()
                        .next()
                        .map(|sscc| format!("]C100{sscc}"));
                }
            }
        }
        let settings = CaseSettings {
            batch,
            gtin: gtin.clone(),
            lot: "B1".to_string(),
            capacity: CASE as u64,
            partial_allowed: true,
            label_attempts: 2,
            printer_name: "bench".to_string(),
        };
        let other = Store::open(dir.path().join("bench.sqlite")).expect("store");
        let io = Given {
            places: Vec::new(),
            printed: None,
        };
        let mut station = CaseStation::new(other, settings, Actor::new("bench"), io);
        let mut number = 0u32;
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                // Every pack so far left through the good exit, one per seq.
                let first_pack = (next - 1) as u32;
                let packs = commission(&mut store, &line, &gtin, &mut next);
                station.io().places = packs
                    .iter()
                    .map(|pack| match pack {
                        Scanned::Pack { gtin, serial } => PlaceRead::Pack {
                            gtin: gtin.clone(),
                            serial: serial.clone(),
                            lot: Some("B1".to_string()),
                        },
                        Scanned::Container(_) => unreachable!("packs only"),
                    })
                    .collect();
                number += 1;
                let case = WaitingCase {
                    number,
                    first_pack,
                    packs: CASE as u16,
                };
                let began = Instant::now();
                let handled = station.handle(case).expect("handled");
                spent += began.elapsed();
                assert!(matches!(handled, Handled::Released(_)), "{handled:?}");
            }
            spent
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
