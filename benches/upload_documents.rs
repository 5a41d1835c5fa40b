//! Document build rate of the upload builders: 1,000,000 commissioned serials, 10,000
//! EPCs per event, from serial strings to finished EPCIS 2.0 JSON-LD and EPCIS 1.2 XML
//! documents (EPC URIs, checks, event hashes, rendering), in EPCs per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serialstation::gs1::{Gs1Date, Gtin};
use serialstation::upload::{
    ChunkLimits, DocumentFormat, EventKind, EventTemplate, EventTime, LotMasterData, Sgln,
    documents_for_serials,
};

const SERIALS: usize = 1_000_000;

fn build_all(format: DocumentFormat, gtin: &Gtin, serials: &[String]) -> usize {
    let time = EventTime::parse_rfc3339("2026-05-04T13:14:15.678+02:00").expect("valid time");
    let template = EventTemplate {
        kind: EventKind::Commissioning(
            LotMasterData::new("LOT-7", Gs1Date::from_ymd(2027, 6, 30).expect("valid date"))
                .expect("valid lot"),
        ),
        event_time: time,
        read_point: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").expect("valid SGLN"),
        biz_location: Sgln::parse("urn:epc:id:sgln:9506000.00001.0").expect("valid SGLN"),
    };
    let limits = ChunkLimits {
        max_epcs_per_event: 10_000,
        max_events_per_document: 10,
        max_document_bytes: 64 << 20,
    };
    documents_for_serials(format, limits, time, template, gtin, 7, serials)
        .expect("valid limits")
        .map(|document| document.expect("valid document").bytes.len())
        .sum()
}

fn bench_documents(c: &mut Criterion) {
    let gtin = Gtin::parse("09506000134352").expect("valid GTIN");
    let serials: Vec<String> = (0..SERIALS).map(|i| format!("{i:012}")).collect();
    let mut group = c.benchmark_group("upload_documents_1M_serials");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SERIALS as u64));
    for (name, format) in [
        ("epcis2_json_ld", DocumentFormat::Epcis2JsonLd),
        ("epcis12_xml", DocumentFormat::Epcis12Xml),
    ] {
        group.bench_function(name, |b| b.iter(|| build_all(format, &gtin, &serials)));
    }
    group.finish();
}

criterion_group!(benches, bench_documents);
criterion_main!(benches);
