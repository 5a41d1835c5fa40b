//! `serialstation batch report N --html -o FILE` on a real store with a finished
//! batch (written through the store's line records, no daemon): the record is one
//! self-contained HTML file with every chart, the item-level reconciliation whose
//! numbers explain each other, the signatures, and every store string escaped.

mod batch_record_support;

use batch_record_support::{finished_batch, run};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_html_record_has_charts_reconciliation_and_escaped_store_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let out_file = dir.path().join("record.html");
    let out = run(
        &db,
        &[
            "batch",
            "report",
            "1",
            "--html",
            "-o",
            out_file.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("batch record written to"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        !dir.path().join("record.html.partial").exists(),
        "the partial file is renamed"
    );
    let html = std::fs::read_to_string(&out_file).expect("the record is written");

    // One self-contained file: no script, nothing fetched from anywhere.
    assert!(html.starts_with("<!DOCTYPE html>"));
    for forbidden in [
        "<script", "http://", "https://", "<link", "<img", "@import", "url(", "<iframe",
    ] {
        assert!(
            !html.to_ascii_lowercase().contains(forbidden),
            "the record contains {forbidden:?}"
        );
    }
    assert!(html.contains("@page { size: A4; margin: 15mm; }"));
    assert!(html.contains("thead { display: table-header-group; }"));

    // Every chart, with real marks.
    for id in [
        "svg-rejects",
        "svg-grades",
        "svg-rate",
        "svg-latency",
        "svg-timeline",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "chart {id} missing");
    }
    for mark in [
        "class=\"mark reject r-grade\"",
        "class=\"mark reject r-no_read\"",
        "class=\"mark reject r-mismatch\"",
        "class=\"mark reject r-late\"",
        "class=\"mark grade g-a\"",
        "class=\"mark grade g-c\"",
        "class=\"mark rate-area\"",
        "class=\"mark rate-line\"",
        "class=\"mark latency\"",
        "class=\"mark state state-challenge\"",
        "class=\"mark state state-running\"",
        "class=\"mark state state-paused hold\"",
        "class=\"mark state state-closed\"",
    ] {
        assert!(html.contains(mark), "{mark} missing");
    }
    assert!(html.contains("items/min"));
    assert!(html.contains("time (UTC"));

    // The reconciliation explains its numbers, and they all add up.
    for line in [
        "40 allocated = 25 commissioned + 8 scrapped + 0 sampled + 2 invalidated + 5 returned",
        "11 rejected = 10 rejected_confirmed + 0 rejected_unconfirmed + 0 left through the good exit + 1 with no fate recorded",
        "8 scrapped = 3 identified on rejected items + 0 GOOD items rejected at the gate or without a fate + 5 never verified good",
        "25 commissioned = 25 on GOOD items past the good exit",
        "2 invalidated = 2 by the line + 0 by recovery",
        "printed and rejected: identified on a rejected item",
        "printed, never verified good (on no recorded item)",
        "printer reported them never printed",
        "never sent to a printer",
    ] {
        assert!(html.contains(line), "reconciliation line missing: {line}");
    }
    assert!(!html.contains("DOES NOT ADD UP"), "every check adds up");
    assert!(html.contains("2 of them during the challenge test"));

    // Challenge, hold, alarm, signatures, release, upload.
    assert!(html.contains(">passed</span>"));
    assert!(html.contains("held: 3 consecutive rejects"));
    assert!(html.contains("3 rejects in a row: &lt;check&gt; the printer"));
    assert!(html.contains("resumed after a consecutive-reject stop"));
    assert!(html.contains("1 wrong password(s) in a row"));
    assert!(html.contains("Released</span> by qa-lead"));
    assert!(html.contains("fine &lt;really&gt;"));
    assert!(html.contains("Upload delivery per client"));
    assert!(html.contains("<td>acme</td>"));
    // The decision latency the station stored: 18 items in three bins, the empty
    // bins between them drawn too.
    assert!(html.contains("18 items timed from the station taking in the camera readout"));
    assert!(
        html.contains(
            "median in the 0–1 ms bin, 99th percentile in the 8–10 ms bin, largest 9.4 ms"
        )
    );
    assert_eq!(
        html.matches("class=\"mark latency\"").count(),
        8,
        "bins 0 to 8–10 ms"
    );
    assert!(!html.contains("mark not-recorded"));

    // Store text is escaped wherever it appears.
    assert!(html.contains("L&lt;script&gt;&amp;1"), "the lot is escaped");
    assert!(html.contains("X&lt;i&gt;&amp;Y"), "the serial is escaped");
    assert!(
        html.contains("&lt;b&gt;odd&lt;/b&gt;"),
        "the reason is escaped"
    );
    assert!(!html.contains("<i>&"), "no unescaped serial");
    assert!(!html.contains("<b>odd"), "no unescaped reason");
    assert!(html.contains("generated at "));
    assert!(html.contains("by serialstation "));
}

#[test]
fn html_needs_an_output_file_and_the_text_report_is_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = finished_batch(dir.path());
    let out = run(&db, &["batch", "report", "1", "--html"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run(&db, &["batch", "report", "1", "-o", "x.html"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run(&db, &["batch", "report", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("[balanced]"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&db, &["batch", "report", "1", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let missing = dir.path().join("no-such-dir").join("record.html");
    let out = run(
        &db,
        &[
            "batch",
            "report",
            "1",
            "--html",
            "-o",
            missing.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot write the batch record"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        &db,
        &[
            "batch",
            "report",
            "7",
            "--html",
            "-o",
            dir.path().join("r.html").to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("there is no batch 7"));
}
