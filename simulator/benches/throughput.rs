//! Simulator throughput in items/s: the line model, printer, camera (render,
//! decode and grade a real image, or throughput mode without images) and the
//! ground-truth log, driven as fast as possible with a controller that writes a
//! verdict for every read. Criterion reports elements/s = items/s.

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serialstation_devices::readout::ReadOutcome;
use serialstation_simulator::SimConfig;
use serialstation_simulator::ground_truth::GroundTruthWriter;
use serialstation_simulator::imaging::shoot;
use serialstation_simulator::model::Verdict;
use serialstation_simulator::runtime::core::LineCore;

fn data(n: u64) -> Vec<u8> {
    format!("010950600013435217271231101234\u{1d}21SN{n:08}").into_bytes()
}

/// Runs the line until `items` items have left it (or an alarm stops it); returns
/// how many left.
fn run_line(core: &mut LineCore, items: u64, images: bool) -> u64 {
    let mut next_id = 1u64;
    let step = Duration::from_micros(500);
    let left = |core: &LineCore| {
        u64::from(core.model.plc.good_exit_count) + u64::from(core.model.plc.reject_confirm_count)
    };
    while left(core) < items {
        while core.printer.buffer_len() < 50 {
            let _ = core.printer.queue(next_id as u32, data(next_id), 256);
            next_id += 1;
        }
        let out = core.tick(step);
        for job in out.camera_jobs {
            let shot = shoot(&job, images, 4);
            core.record_camera(
                shot.item_no,
                serialstation_simulator::camera::worker::report_of(&shot),
                None,
            );
            if let ReadOutcome::Read { .. } = shot.readout.outcome {
                let mut events = Vec::new();
                core.model
                    .write_verdict(shot.seq, Verdict::Good, &mut events);
                core.handle_events(events);
            }
        }
        if core.model.plc.alarm_bits() != 0 {
            break;
        }
    }
    left(core)
}

fn setup(images: bool, dir: &tempfile::TempDir, n: u64) -> LineCore {
    let mut cfg = SimConfig::loopback_any_port(dir.path().join(format!("bench-{n}.sqlite")));
    cfg.simulator.images = images;
    cfg.simulator.autostart = true;
    cfg.line.rate_per_min = 60_000.0;
    cfg.plc.consecutive_reject_limit = 1000;
    let writer = GroundTruthWriter::create(&cfg.simulator.ground_truth, &[]).ok();
    let mut core = LineCore::new(&cfg, writer);
    core.printer.select_job("bench");
    core.printer.running = true;
    core
}

fn throughput(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("simulator_throughput");
    group.sample_size(10);
    for (name, images, items) in [
        ("with_images", true, 200u64),
        ("without_images", false, 5_000u64),
    ] {
        group.throughput(Throughput::Elements(items));
        let mut n = 0;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    n += 1;
                    setup(images, &dir, n)
                },
                |mut core| run_line(&mut core, items, images),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
