//! Per-core parse+validate throughput of a typical pharma scan (`]d2` 01/17/10/21),
//! measured in CPU time of this thread, so that a busy shared machine does not distort
//! it (criterion's `benches/parse.rs` measures wall time).
//!
//! Usage: `cargo run --release -p serialstation-gs1 --example parse_throughput [ITERATIONS]`
//! (Linux: reads the thread's CPU time from /proc/thread-self/schedstat).

use std::time::{Duration, Instant};

use serialstation_gs1::ElementString;

/// CPU time this thread has run, from /proc (nanoseconds), if available.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3_000_000);
    let scan = format!(
        "]d2010950600013435217261231{}",
        "10ABC123\u{1d}21SN00012345678"
    );
    if let Err(e) = ElementString::parse_with_year(&scan, 2026) {
        eprintln!("the sample scan is invalid: {e}");
        std::process::exit(1);
    }
    let cpu_start = thread_cpu_time();
    let wall_start = Instant::now();
    let mut valid = 0u32;
    for _ in 0..iterations {
        if ElementString::parse_with_year(std::hint::black_box(&scan), 2026).is_ok() {
            valid += 1;
        }
    }
    let wall = wall_start.elapsed();
    println!("{valid} of {iterations} scans valid");
    println!(
        "wall time: {:.0} ns per scan, {:.2} million scans per second",
        wall.as_nanos() as f64 / f64::from(iterations),
        f64::from(iterations) / wall.as_secs_f64() / 1e6
    );
    match (cpu_start, thread_cpu_time()) {
        (Some(a), Some(b)) => {
            let cpu = b.saturating_sub(a);
            println!(
                "CPU time:  {:.0} ns per scan, {:.2} million scans per second per core",
                cpu.as_nanos() as f64 / f64::from(iterations),
                f64::from(iterations) / cpu.as_secs_f64() / 1e6
            );
        }
        _ => println!("CPU time: not available on this system"),
    }
}
