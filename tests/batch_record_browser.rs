//! The HTML batch record rendered by a real browser: headless Chromium takes a
//! screenshot of `batch report 1 --html`, and every chart must show its data marks
//! (enough pixels of each chart's own mark colour), so that a chart that renders
//! empty in a browser fails even when its SVG text looks right.
//!
//! Without Chromium the test says "skipped"; under `CI=true` that is a failure
//! (`scripts/install-test-tools.sh` installs it).

mod batch_record_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use batch_record_support::{finished_batch, run};
use serialstation::report::html::{
    GRADE_COLOUR, HELD_COLOUR, LATENCY_COLOUR, RATE_AREA_COLOUR, REASON_COLOURS, STATE_COLOURS,
};

/// The page at A4's proportions, two pages tall (the charts are on the first).
const WINDOW: &str = "--window-size=1240,7016";

/// Fewest pixels of a chart's mark colour that count as "the chart shows data".
const MIN_PIXELS: usize = 200;

/// How close (per channel) a pixel must be to a mark colour.
const TOLERANCE: i32 = 4;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn rgb(hex: &str) -> [i32; 3] {
    let hex = hex.trim_start_matches('#');
    let channel = |i: usize| i32::from_str_radix(&hex[i..i + 2], 16).expect("hex colour");
    [channel(0), channel(2), channel(4)]
}

fn screenshot(browser: &Path, html: &Path, png: &Path, work: &Path) {
    let log = work.join("chromium.log");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--force-device-scale-factor=1",
            "--force-color-profile=srgb",
            WINDOW,
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join("chromium-profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("browser log file"))
        .spawn()
        .expect("the browser starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the browser") {
            assert!(
                png.is_file(),
                "the browser ({status}) wrote no screenshot: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser did not finish its screenshot within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_chart_of_the_record_shows_its_marks_in_a_browser() {
    let Some(browser) = find_browser() else {
        assert!(
            !in_ci(),
            "chromium is not installed (scripts/install-test-tools.sh installs it)"
        );
        println!("skipped: chromium not installed (scripts/install-test-tools.sh installs it)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let html = dir.path().join("record.html");
    let out = run(
        &db,
        &[
            "batch",
            "report",
            "1",
            "--html",
            "-o",
            html.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = html.canonicalize().expect("absolute path");
    let png = dir.path().join("record.png");
    screenshot(&browser, &html, &png, dir.path());

    let image = image::open(&png)
        .expect("the screenshot is a PNG")
        .to_rgba8();
    let colour_of = |name: &str, table: &[(&str, &str)]| -> String {
        table
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c.to_string())
            .expect("a known colour")
    };
    let checks: Vec<(String, String)> = vec![
        (
            "rejects: grade".to_string(),
            colour_of("grade", &REASON_COLOURS),
        ),
        (
            "rejects: no_read".to_string(),
            colour_of("no_read", &REASON_COLOURS),
        ),
        (
            "rejects: mismatch".to_string(),
            colour_of("mismatch", &REASON_COLOURS),
        ),
        (
            "rejects: late".to_string(),
            colour_of("late", &REASON_COLOURS),
        ),
        ("grade distribution".to_string(), GRADE_COLOUR.to_string()),
        ("rate over time".to_string(), RATE_AREA_COLOUR.to_string()),
        ("decision latency".to_string(), LATENCY_COLOUR.to_string()),
        (
            "timeline: running".to_string(),
            colour_of("running", &STATE_COLOURS),
        ),
        ("timeline: held".to_string(), HELD_COLOUR.to_string()),
    ];
    let targets: Vec<[i32; 3]> = checks.iter().map(|(_, c)| rgb(c)).collect();
    let mut counts = vec![0usize; targets.len()];
    for pixel in image.pixels() {
        let [r, g, b, _] = pixel.0;
        let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
        for (count, target) in counts.iter_mut().zip(&targets) {
            if (r - target[0]).abs() <= TOLERANCE
                && (g - target[1]).abs() <= TOLERANCE
                && (b - target[2]).abs() <= TOLERANCE
            {
                *count += 1;
            }
        }
    }
    let report: Vec<String> = checks
        .iter()
        .zip(&counts)
        .map(|((what, colour), n)| format!("{what} ({colour}): {n} pixels"))
        .collect();
    println!("{}", report.join("\n"));
    for ((what, colour), n) in checks.iter().zip(&counts) {
        assert!(
            *n >= MIN_PIXELS,
            "the {what} chart shows {n} pixels of its mark colour {colour} (fewer than \
             {MIN_PIXELS}): it renders empty\n{}",
            report.join("\n")
        );
    }
}
