//! Parse + validate throughput for a typical pharma scan (`]d2` 01/17/10/21), and the
//! write forms. Target: at least 1,000,000 scans per second per core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serialstation_gs1::ElementString;
use serialstation_gs1::digital_link::CANONICAL_BASE;

const SCAN: &str = "]d2010950600013435217261231";

fn scan() -> String {
    format!("{SCAN}10ABC123\u{1d}21SN00012345678")
}

fn bench_parse(c: &mut Criterion) {
    let data = scan();
    let mut group = c.benchmark_group("gs1");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_validate_pharma_scan", |b| {
        b.iter(|| ElementString::parse_with_year(std::hint::black_box(&data), 2026))
    });
    let dl = "https://id.gs1.org/01/09506000134352/10/ABC123/21/SN00012345678?17=261231";
    group.bench_function("parse_validate_digital_link", |b| {
        b.iter(|| ElementString::parse_with_year(std::hint::black_box(dl), 2026))
    });
    let es = match ElementString::parse_with_year(&data, 2026) {
        Ok(es) => es,
        Err(e) => panic!("benchmark input is invalid: {e}"),
    };
    group.bench_function("write_encoder_data", |b| {
        b.iter(|| std::hint::black_box(&es).to_encoder_data())
    });
    group.bench_function("write_digital_link", |b| {
        b.iter(|| std::hint::black_box(&es).to_digital_link(CANONICAL_BASE))
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
