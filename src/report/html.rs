//! The electronic batch record as ONE self-contained HTML file: inline CSS with
//! print rules for A4, inline SVG charts drawn here by hand, no script, no external
//! font, image, style sheet or link. Every string that comes from the store is
//! HTML-escaped. [`render`] is pure.
//!
//! The chart marks carry stable classes (`mark` plus the chart's own) and the
//! distinctive fill colours below, so that a rendering of the page can be checked
//! for real data marks (`tests/batch_record_browser.rs`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::report::record::{BatchRecord, ReconLine, StateSpan, TimeBucket};
use crate::store::clock;
use crate::store::line_records::grade_letter;

/// Fill colours of the rejects-over-time chart, by reject reason.
pub const REASON_COLOURS: [(&str, &str); 7] = [
    ("no_read", "#8e24aa"),
    ("grade", "#d81b60"),
    ("mismatch", "#f4511e"),
    ("duplicate", "#6d4c41"),
    ("not_gs1", "#afb42b"),
    ("invalid_data", "#00897b"),
    ("late", "#3949ab"),
];
/// Fill of a reject reason not in [`REASON_COLOURS`].
pub const OTHER_REASON_COLOUR: &str = "#78909c";
/// Fill of the grade distribution's bars.
pub const GRADE_COLOUR: &str = "#1565c0";
/// Fill under the rate curve, and the curve itself.
pub const RATE_AREA_COLOUR: &str = "#81c784";
pub const RATE_LINE_COLOUR: &str = "#1b5e20";
/// Fill of the decision-latency histogram's bars.
pub const LATENCY_COLOUR: &str = "#00acc1";
/// Fill of the box that says a chart's data is not recorded.
pub const NOT_RECORDED_COLOUR: &str = "#ffcc80";
/// Fill of the timeline's bands, by batch state.
pub const STATE_COLOURS: [(&str, &str); 8] = [
    ("created", "#cfd8dc"),
    ("challenge", "#5e35b1"),
    ("running", "#43a047"),
    ("paused", "#ffca28"),
    ("stopping", "#8d6e63"),
    ("stopped", "#9e9e9e"),
    ("challenge_failed", "#c62828"),
    ("closed", "#37474f"),
];
/// Fill of a band where the line held the batch (paused with a reason).
pub const HELD_COLOUR: &str = "#ff6f00";
/// Fill of a state not in [`STATE_COLOURS`].
pub const OTHER_STATE_COLOUR: &str = "#bdbdbd";

const CSS: &str = r#"
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
       font-size: 10.5pt; color: #222; background: #fff; margin: 0 auto; max-width: 1180px;
       padding: 16px 20px; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2px; }
h2 { font-size: 13pt; border-bottom: 1.5px solid #444; padding-bottom: 2px; margin: 20px 0 8px;
     break-after: avoid; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 12px 0 4px; break-after: avoid; page-break-after: avoid; }
p { margin: 4px 0 8px; }
.sub { color: #555; margin-bottom: 10px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 10px; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eceff1; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead { display: table-header-group; }
tfoot { display: table-footer-group; }
tr, figure, svg, pre, .keep { break-inside: avoid; page-break-inside: avoid; }
table.kv th { width: 24%; }
tr.d0 td { font-weight: bold; }
tr.d1 td:first-child { padding-left: 20px; }
tr.d2 td:first-child { padding-left: 40px; color: #333; }
.ok { color: #2e7d32; font-weight: bold; }
.bad { color: #b71c1c; font-weight: bold; }
.note { color: #555; font-size: 9pt; }
.banner { border: 2px solid #444; padding: 6px 10px; margin: 8px 0; font-weight: bold; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
figure { margin: 0 0 10px; border: 1px solid #ddd; padding: 6px 8px; }
figcaption { font-weight: bold; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; display: block; }
svg text { fill: #222; }
table.data { font-size: 9pt; }
code, pre { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 8.5pt; }
code { word-break: break-all; }
pre { white-space: pre-wrap; border: 1px solid #ddd; padding: 6px; background: #fafafa; }
footer { margin-top: 24px; border-top: 1px solid #444; padding-top: 6px; color: #444; font-size: 9pt; }
@media print {
  body { max-width: none; padding: 0; font-size: 9pt; }
  .charts { grid-template-columns: 1fr; }
  h2 { break-before: auto; }
}
"#;

/// The record as one HTML document.
pub fn render(record: &BatchRecord) -> String {
    let mut out = String::with_capacity(64 * 1024);
    head(&mut out, record);
    header_section(&mut out, record);
    signatures_section(&mut out, record);
    reconciliation_section(&mut out, record);
    charts_section(&mut out, record);
    timeline_section(&mut out, record);
    actions_section(&mut out, record);
    challenge_section(&mut out, record);
    rejects_section(&mut out, record);
    delivery_section(&mut out, record);
    footer(&mut out, record);
    out.push_str("</body>\n</html>\n");
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A CSS string literal's content: everything but plain letters, digits, spaces
/// and a few safe marks becomes a CSS escape.
fn css_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || " -_.,:()/".contains(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\{:x} ", u32::from(c));
        }
    }
    out
}

/// A class name made from store text: only `[a-z0-9_-]`.
fn css_class(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn or_dash(text: Option<&str>) -> String {
    text.map_or_else(|| "–".to_string(), escape)
}

/// `HH:MM` of store time text.
fn hhmm(text: &str) -> &str {
    text.get(11..16).unwrap_or(text)
}

/// A duration for people.
fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 10_000 {
        return format!("{:.1} s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    if s < 3600 {
        return format!("{} min {:02} s", s / 60, s % 60);
    }
    format!("{} h {:02} min", s / 3600, (s / 60) % 60)
}

fn reason_label(reason: &str) -> &str {
    if reason.is_empty() {
        "(no reason)"
    } else {
        reason
    }
}

fn reason_colour(reason: &str) -> &'static str {
    REASON_COLOURS
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or(OTHER_REASON_COLOUR, |(_, c)| *c)
}

fn state_colour(span: &StateSpan) -> &'static str {
    if span.hold {
        return HELD_COLOUR;
    }
    STATE_COLOURS
        .iter()
        .find(|(s, _)| *s == span.state)
        .map_or(OTHER_STATE_COLOUR, |(_, c)| *c)
}

fn state_label(span: &StateSpan) -> String {
    if span.hold {
        format!(
            "held: {}",
            span.reason.as_deref().unwrap_or(span.state.as_str())
        )
    } else {
        span.state.clone()
    }
}

/// Reasons present in the buckets: the known ones in their order, then the rest.
fn reasons_in(buckets: &[TimeBucket]) -> Vec<String> {
    let mut seen: BTreeSet<String> = buckets
        .iter()
        .flat_map(|b| b.rejects_by_reason.keys().cloned())
        .collect();
    let mut out = Vec::new();
    for (known, _) in REASON_COLOURS {
        if seen.remove(known) {
            out.push(known.to_string());
        }
    }
    out.extend(seen);
    out
}

fn head(out: &mut String, record: &BatchRecord) {
    let r = &record.report;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{}\">\n\
         <title>Batch record: batch {} lot {}</title>\n<style>{CSS}",
        escape(&record.generator),
        r.batch,
        escape(&r.lot)
    );
    let _ = write!(
        out,
        "@page {{ @top-center {{ content: \"Electronic batch record: batch {} lot {} GTIN {}\"; \
         font-size: 8pt; color: #555; }} @bottom-right {{ content: \"page \" counter(page) \" of \" \
         counter(pages); font-size: 8pt; color: #555; }} }}\n</style>\n</head>\n<body>\n",
        r.batch,
        css_string(&r.lot),
        css_string(&r.gtin)
    );
}

fn kv(out: &mut String, key: &str, value_html: &str) {
    let _ = writeln!(
        out,
        "<tr><th>{}</th><td>{value_html}</td></tr>",
        escape(key)
    );
}

fn header_section(out: &mut String, record: &BatchRecord) {
    let r = &record.report;
    let _ = writeln!(
        out,
        "<header>\n<h1>Electronic batch record: batch {}</h1>\n<p class=\"sub\">{} · lot {} · \
         GTIN {}</p>",
        r.batch,
        or_dash(record.product_name.as_deref()),
        escape(&r.lot),
        escape(&r.gtin)
    );
    let adds_up = record.reconciliation.adds_up();
    let _ = writeln!(
        out,
        "<div class=\"banner keep\">Reconciliation: <span class=\"{}\">{}</span>; item-level \
         checks: <span class=\"{}\">{}</span>; signatures: {}</div>",
        if r.balanced { "ok" } else { "bad" },
        if r.balanced {
            "balanced"
        } else {
            "NOT balanced"
        },
        if adds_up { "ok" } else { "bad" },
        if adds_up {
            "all add up"
        } else {
            "something does not add up (see below)"
        },
        if record.signatures.is_empty() {
            "none recorded".to_string()
        } else {
            format!("{} recorded", record.signatures.len())
        }
    );
    out.push_str("<table class=\"kv\">\n<tbody>\n");
    kv(
        out,
        "Product",
        &format!(
            "GTIN {} · {}",
            escape(&r.gtin),
            or_dash(record.product_name.as_deref())
        ),
    );
    kv(
        out,
        "Client",
        &match (&record.client_id, &record.client_name) {
            (Some(id), Some(name)) => format!("{} ({})", escape(id), escape(name)),
            (Some(id), None) => escape(id),
            _ => "–".to_string(),
        },
    );
    kv(out, "Lot", &escape(&r.lot));
    kv(
        out,
        "Expiry",
        &format!("{} (YYMMDD, as printed in AI 17)", escape(&r.expiry)),
    );
    kv(
        out,
        "Quantity",
        &format!(
            "{} packs ordered; {} commissioned",
            r.quantity, r.serials.commissioned
        ),
    );
    kv(out, "Batch state", &escape(&r.state));
    kv(out, "Created", &escape(&record.created_at));
    kv(
        out,
        "Closed",
        &record
            .closed_at
            .as_deref()
            .map_or_else(|| "not closed".to_string(), escape),
    );
    kv(
        out,
        "Items on the line",
        &if record.items == 0 {
            "no items recorded".to_string()
        } else {
            format!(
                "{} recorded, first {}, last {}",
                record.items,
                or_dash(record.first_item_at.as_deref()),
                or_dash(record.last_item_at.as_deref())
            )
        },
    );
    kv(
        out,
        "Station store",
        &format!("<code>{}</code>", escape(&record.store_path)),
    );
    kv(
        out,
        "Audit trail at this record",
        &format!(
            "{} rows, head hash <code>{}</code> (a later <code>serialstation audit verify</code> \
             must still find row {} with this hash)",
            r.audit_rows,
            escape(&r.audit_head),
            r.audit_rows
        ),
    );
    kv(
        out,
        "Record generated",
        &format!(
            "{} by {}",
            escape(&record.generated_at),
            escape(&record.generator)
        ),
    );
    out.push_str("</tbody>\n</table>\n</header>\n");
}

fn signatures_section(out: &mut String, record: &BatchRecord) {
    out.push_str("<section id=\"signatures\">\n<h2>Signatures</h2>\n");
    if record.signatures.is_empty() {
        out.push_str("<p>No signatures are recorded for this batch.</p>\n");
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>signer</th><th>role</th><th>meaning</th><th>for</th>\
             <th>subject</th><th>time (UTC)</th><th class=\"n\">audit row</th></tr></thead>\n<tbody>\n",
        );
        for s in &record.signatures {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&s.signer),
                escape(&s.role),
                escape(&s.meaning),
                escape(&s.signed_for),
                subject_cell(&s.subject),
                escape(&s.at),
                s.audit_id
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    match &record.release {
        Some(r) => {
            let _ = writeln!(
                out,
                "<p><span class=\"ok\">Released</span> by {} at {} (audit row {}){}{}.</p>",
                escape(&r.actor),
                escape(&r.at),
                r.audit_id,
                match (&r.signer, &r.meaning) {
                    (Some(signer), Some(meaning)) => format!(
                        ", signed by {} ({}) meaning \"{}\"",
                        escape(signer),
                        or_dash(r.role.as_deref()),
                        escape(meaning)
                    ),
                    _ => ", without a signature (no users enrolled at the station)".to_string(),
                },
                r.comment
                    .as_deref()
                    .map_or_else(String::new, |c| format!("; comment: {}", escape(c)))
            );
        }
        None => out.push_str("<p class=\"note\">QA release: this batch is not released.</p>\n"),
    }
    out.push_str("<h3>Failed signature attempts</h3>\n");
    if record.failed_signatures.is_empty() {
        out.push_str("<p>None recorded.</p>\n");
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>signer</th><th>meaning</th><th>for</th><th>subject</th>\
             <th>what happened</th><th>time (UTC)</th><th class=\"n\">audit row</th></tr></thead>\n<tbody>\n",
        );
        for s in &record.failed_signatures {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&s.signer),
                escape(&s.meaning),
                escape(&s.signed_for),
                subject_cell(&s.subject),
                or_dash(s.detail.as_deref()),
                escape(&s.at),
                s.audit_id
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn subject_cell(subject: &str) -> String {
    if subject == "active batch" {
        "active batch (this batch, by time)".to_string()
    } else {
        escape(subject)
    }
}

fn recon_table(out: &mut String, lines: &[ReconLine]) {
    out.push_str(
        "<table>\n<thead><tr><th>what</th><th class=\"n\">count</th><th>note</th></tr></thead>\n<tbody>\n",
    );
    for l in lines {
        let _ = writeln!(
            out,
            "<tr class=\"d{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"note\">{}</td></tr>",
            l.depth.min(2),
            escape(&l.label),
            l.count,
            escape(&l.note)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn reconciliation_section(out: &mut String, record: &BatchRecord) {
    let recon = &record.reconciliation;
    out.push_str("<section id=\"reconciliation\">\n<h2>Reconciliation at item level</h2>\n");
    if record.items == 0 {
        out.push_str("<p>No items were recorded for this batch (no items on the line).</p>\n");
    }
    out.push_str("<h3>Items on the line</h3>\n");
    recon_table(out, &recon.items);
    out.push_str(
        "<h3>Verdicts against fates at the reject gate</h3>\n<table>\n<thead><tr><th>verdict</th>",
    );
    for fate in &recon.gate.fates {
        let _ = write!(out, "<th class=\"n\">{}</th>", escape(fate));
    }
    out.push_str("<th class=\"n\">total</th></tr></thead>\n<tbody>\n");
    for (label, cells, total) in &recon.gate.rows {
        let _ = write!(out, "<tr><td>{}</td>", escape(label));
        for cell in cells {
            let _ = write!(out, "<td class=\"n\">{cell}</td>");
        }
        let _ = writeln!(out, "<td class=\"n\">{total}</td></tr>");
    }
    out.push_str("</tbody>\n</table>\n<h3>Serials of the batch</h3>\n");
    recon_table(out, &recon.serials);
    out.push_str(
        "<h3>Checks</h3>\n<table>\n<thead><tr><th>result</th><th>sum</th></tr></thead>\n<tbody>\n",
    );
    for c in &recon.checks {
        let _ = writeln!(
            out,
            "<tr><td class=\"{}\">{}</td><td>{}</td></tr>",
            if c.holds { "ok" } else { "bad" },
            if c.holds {
                "adds up"
            } else {
                "DOES NOT ADD UP"
            },
            escape(&c.text)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    let _ = writeln!(
        out,
        "<h3>Reconciliation report (as <code>serialstation batch report {}</code> prints it)</h3>\n<pre>{}</pre>",
        record.report.batch,
        escape(&record.report.to_text())
    );
    out.push_str("</section>\n");
}

/// A chart's drawing area in SVG user units.
struct Frame {
    w: f64,
    h: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn new(w: f64, h: f64) -> Frame {
        Frame {
            w,
            h,
            x0: 62.0,
            x1: w - 14.0,
            y0: 16.0,
            y1: h - 60.0,
        }
    }

    fn pw(&self) -> f64 {
        self.x1 - self.x0
    }

    fn ph(&self) -> f64 {
        self.y1 - self.y0
    }

    fn y_of(&self, value: f64, top: f64) -> f64 {
        let share = if top > 0.0 { value / top } else { 0.0 };
        self.y1 - share.clamp(0.0, 1.0) * self.ph()
    }
}

/// A scale top and tick step for values up to `max` (whole steps for counts).
fn nice_scale(max: f64, whole: bool) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    let mut step = nice * magnitude;
    if whole {
        step = step.ceil().max(1.0);
    }
    let top = (max / step).ceil() * step;
    (top.max(step), step)
}

fn tick_text(value: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{}", value.round() as i64)
    } else if step >= 0.1 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn svg_open(out: &mut String, id: &str, frame: &Frame, title: &str) {
    let _ = writeln!(
        out,
        "<svg class=\"chart\" id=\"{id}\" viewBox=\"0 0 {:.0} {:.0}\" role=\"img\" aria-label=\"{t}\" font-size=\"11\"><title>{t}</title>",
        frame.w,
        frame.h,
        t = escape(title)
    );
}

fn y_axis(out: &mut String, frame: &Frame, top: f64, step: f64, label: &str) {
    let mut value = 0.0;
    let mut guard = 0;
    while value <= top + step * 0.001 && guard < 40 {
        let y = frame.y_of(value, top);
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e0e0e0\" stroke-width=\"1\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            frame.x0,
            frame.x1,
            frame.x0 - 6.0,
            y + 4.0,
            tick_text(value, step)
        );
        value += step;
        guard += 1;
    }
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444\" stroke-width=\"1\"/>\
         <text class=\"axis-label\" transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">{}</text>",
        frame.y0,
        frame.y1,
        (frame.y0 + frame.y1) / 2.0,
        escape(label),
        x = frame.x0
    );
}

fn x_axis(out: &mut String, frame: &Frame, label: &str) {
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#444\" stroke-width=\"1\"/>\
         <text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">{}</text>",
        frame.x0,
        frame.x1,
        (frame.x0 + frame.x1) / 2.0,
        frame.y1 + 32.0,
        escape(label),
        y = frame.y1
    );
}

fn no_data(out: &mut String, frame: &Frame, text: &str) {
    let _ = writeln!(
        out,
        "<text class=\"no-data\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"15\">{}</text>",
        (frame.x0 + frame.x1) / 2.0,
        (frame.y0 + frame.y1) / 2.0,
        escape(text)
    );
}

/// Labels under the buckets, at most about eight.
fn bucket_labels(out: &mut String, frame: &Frame, buckets: &[TimeBucket]) {
    let n = buckets.len();
    if n == 0 {
        return;
    }
    let slot = frame.pw() / n as f64;
    let every = n.div_ceil(8).max(1);
    for (i, b) in buckets.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            frame.x0 + slot * (i as f64 + 0.5),
            frame.y1 + 15.0,
            escape(hhmm(&b.start))
        );
    }
}

/// A legend row at the bottom of a chart.
fn legend(out: &mut String, frame: &Frame, entries: &[(String, &str)]) {
    let mut x = frame.x0;
    let y = frame.h - 10.0;
    for (label, colour) in entries {
        let _ = writeln!(
            out,
            "<rect class=\"legend\" x=\"{x:.1}\" y=\"{:.1}\" width=\"9\" height=\"9\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
            y - 8.5,
            x + 12.0,
            escape(label)
        );
        x += 12.0 + 6.5 * label.chars().count() as f64 + 14.0;
    }
}

fn figure_open(out: &mut String, id: &str, title: &str, wide: bool) {
    let _ = writeln!(
        out,
        "<figure id=\"{id}\" class=\"keep{}\">\n<figcaption>{}</figcaption>",
        if wide { " wide" } else { "" },
        escape(title)
    );
}

fn chart_rejects(out: &mut String, record: &BatchRecord) {
    let title = "Rejects by reason over time";
    figure_open(out, "chart-rejects", title, false);
    let frame = Frame::new(560.0, 280.0);
    svg_open(out, "svg-rejects", &frame, title);
    let buckets = &record.buckets;
    let reasons = reasons_in(buckets);
    let max = buckets.iter().map(TimeBucket::rejects).max().unwrap_or(0);
    let (top, step) = nice_scale(max as f64, true);
    y_axis(out, &frame, top, step, "rejected items per bucket");
    x_axis(
        out,
        &frame,
        &format!(
            "time (UTC, bucket start; {} min buckets)",
            bucket_minutes(record)
        ),
    );
    if buckets.is_empty() {
        no_data(out, &frame, "no items");
    } else if max == 0 {
        no_data(out, &frame, "no rejects");
    } else {
        let slot = frame.pw() / buckets.len() as f64;
        let width = (slot * 0.8).max(1.0);
        for (i, b) in buckets.iter().enumerate() {
            let x = frame.x0 + slot * i as f64 + (slot - width) / 2.0;
            let mut below = 0u64;
            for reason in &reasons {
                let n = b.rejects_by_reason.get(reason).copied().unwrap_or(0);
                if n == 0 {
                    continue;
                }
                let y_top = frame.y_of((below + n) as f64, top);
                let y_bottom = frame.y_of(below as f64, top);
                let _ = writeln!(
                    out,
                    "<rect class=\"mark reject r-{}\" x=\"{x:.1}\" y=\"{y_top:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {n} from {}</title></rect>",
                    css_class(reason),
                    (y_bottom - y_top).max(0.5),
                    reason_colour(reason),
                    escape(reason_label(reason)),
                    escape(&b.start)
                );
                below += n;
            }
        }
        bucket_labels(out, &frame, buckets);
    }
    let entries: Vec<(String, &str)> = reasons
        .iter()
        .map(|r| (reason_label(r).to_string(), reason_colour(r)))
        .collect();
    legend(out, &frame, &entries);
    out.push_str("</svg>\n");
    // Text fallback.
    out.push_str("<table class=\"data\">\n<thead><tr><th>from (UTC)</th><th class=\"n\">min</th><th class=\"n\">good</th>");
    for reason in &reasons {
        let _ = write!(out, "<th class=\"n\">{}</th>", escape(reason_label(reason)));
    }
    out.push_str("<th class=\"n\">rejects</th></tr></thead>\n<tbody>\n");
    if buckets.is_empty() {
        let _ = writeln!(
            out,
            "<tr><td colspan=\"{}\">no items</td></tr>",
            reasons.len() + 4
        );
    }
    for b in buckets {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            escape(&b.start),
            b.minutes,
            b.good
        );
        for reason in &reasons {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                b.rejects_by_reason.get(reason).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(out, "<td class=\"n\">{}</td></tr>", b.rejects());
    }
    out.push_str("</tbody>\n</table>\n</figure>\n");
}

fn bucket_minutes(record: &BatchRecord) -> u32 {
    record.buckets.first().map_or(1, |b| b.minutes)
}

fn chart_grades(out: &mut String, record: &BatchRecord) {
    let title = "Grade distribution (ISO/IEC 15415)";
    figure_open(out, "chart-grades", title, false);
    let frame = Frame::new(560.0, 280.0);
    svg_open(out, "svg-grades", &frame, title);
    let grades = &record.grades;
    let max = grades.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let total: u64 = grades.iter().map(|(_, n)| n).sum();
    let (top, step) = nice_scale(max as f64, true);
    y_axis(out, &frame, top, step, "items");
    x_axis(out, &frame, "grade (A best, F fail)");
    if record.items == 0 {
        no_data(out, &frame, "no items");
    } else if total == 0 {
        no_data(out, &frame, "no graded reads");
    } else {
        let slot = frame.pw() / grades.len().max(1) as f64;
        let width = slot * 0.6;
        for (i, (letter, n)) in grades.iter().enumerate() {
            let x = frame.x0 + slot * i as f64 + (slot - width) / 2.0;
            if *n > 0 {
                let y = frame.y_of(*n as f64, top);
                let _ = writeln!(
                    out,
                    "<rect class=\"mark grade g-{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{GRADE_COLOUR}\"><title>grade {}: {n}</title></rect>\
                     <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{n}</text>",
                    css_class(letter),
                    (frame.y1 - y).max(0.5),
                    escape(letter),
                    x + width / 2.0,
                    y - 4.0
                );
            }
        }
    }
    let slot = frame.pw() / grades.len().max(1) as f64;
    for (i, (letter, _)) in grades.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">{}</text>",
            frame.x0 + slot * (i as f64 + 0.5),
            frame.y1 + 15.0,
            escape(letter)
        );
    }
    out.push_str("</svg>\n");
    out.push_str(
        "<table class=\"data\">\n<thead><tr><th>grade</th><th class=\"n\">items</th><th class=\"n\">share</th></tr></thead>\n<tbody>\n",
    );
    let all = total + record.ungraded;
    for (letter, n) in grades
        .iter()
        .map(|(l, n)| (l.as_str(), *n))
        .chain([("no grade (no read, or no verdict)", record.ungraded)])
    {
        let share = if all == 0 {
            0.0
        } else {
            n as f64 * 100.0 / all as f64
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{n}</td><td class=\"n\">{share:.1} %</td></tr>",
            escape(letter)
        );
    }
    if record.items == 0 {
        out.push_str("<tr><td colspan=\"3\">no items</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</figure>\n");
}

fn chart_rate(out: &mut String, record: &BatchRecord) {
    let title = "Rate over time";
    figure_open(out, "chart-rate", title, false);
    let frame = Frame::new(560.0, 280.0);
    svg_open(out, "svg-rate", &frame, title);
    let buckets = &record.buckets;
    let max = buckets
        .iter()
        .map(TimeBucket::rate_per_min)
        .fold(0.0f64, f64::max);
    let (top, step) = nice_scale(max, false);
    y_axis(out, &frame, top, step, "items/min");
    x_axis(
        out,
        &frame,
        &format!(
            "time (UTC, bucket start; {} min buckets)",
            bucket_minutes(record)
        ),
    );
    if buckets.is_empty() {
        no_data(out, &frame, "no items");
    } else {
        let slot = frame.pw() / buckets.len() as f64;
        let mut line = String::new();
        for (i, b) in buckets.iter().enumerate() {
            let y = frame.y_of(b.rate_per_min(), top);
            let xs = frame.x0 + slot * i as f64;
            let _ = write!(line, "{xs:.1},{y:.1} {:.1},{y:.1} ", xs + slot);
        }
        let line = line.trim_end();
        let _ = writeln!(
            out,
            "<polygon class=\"mark rate-area\" points=\"{:.1},{y1:.1} {line} {:.1},{y1:.1}\" fill=\"{RATE_AREA_COLOUR}\"/>\
             <polyline class=\"mark rate-line\" points=\"{line}\" fill=\"none\" stroke=\"{RATE_LINE_COLOUR}\" stroke-width=\"2.5\"/>",
            frame.x0,
            frame.x1,
            y1 = frame.y1
        );
        bucket_labels(out, &frame, buckets);
    }
    out.push_str("</svg>\n");
    out.push_str(
        "<table class=\"data\">\n<thead><tr><th>from (UTC)</th><th class=\"n\">min</th><th class=\"n\">items decided</th><th class=\"n\">items/min</th></tr></thead>\n<tbody>\n",
    );
    if buckets.is_empty() {
        out.push_str("<tr><td colspan=\"4\">no items</td></tr>\n");
    }
    for b in buckets {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td></tr>",
            escape(&b.start),
            b.minutes,
            b.decided(),
            b.rate_per_min()
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if record.unplaced_items > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} items have a time the record cannot read and are in no bucket.</p>",
            record.unplaced_items
        );
    }
    out.push_str("</figure>\n");
}

/// Splits text into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn chart_latency(out: &mut String, record: &BatchRecord) {
    let title = "Decision latency (camera read to verdict)";
    figure_open(out, "chart-latency", title, false);
    let frame = Frame::new(560.0, 280.0);
    svg_open(out, "svg-latency", &frame, title);
    let latency = &record.latency;
    let bins = &latency.histogram;
    if latency.recorded && !bins.is_empty() {
        let max = bins.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let (top, step) = nice_scale(max as f64, true);
        y_axis(out, &frame, top, step, "items");
        x_axis(out, &frame, "decision latency (ms)");
        let slot = frame.pw() / bins.len() as f64;
        let width = (slot * 0.9).max(1.0);
        for (i, (label, n)) in bins.iter().enumerate() {
            let x = frame.x0 + slot * i as f64 + (slot - width) / 2.0;
            let y = frame.y_of(*n as f64, top);
            let _ = writeln!(
                out,
                "<rect class=\"mark latency\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{LATENCY_COLOUR}\"><title>{}: {n}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                (frame.y1 - y).max(0.5),
                escape(label),
                x + width / 2.0,
                frame.y1 + 15.0,
                escape(label)
            );
        }
    } else {
        let (top, step) = nice_scale(1.0, true);
        y_axis(out, &frame, top, step, "items");
        x_axis(out, &frame, "decision latency (ms)");
        let _ = writeln!(
            out,
            "<rect class=\"mark not-recorded\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{NOT_RECORDED_COLOUR}\" stroke=\"#bf360c\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">not recorded</text>",
            frame.x0 + 10.0,
            frame.y0 + 10.0,
            frame.pw() - 20.0,
            frame.ph() - 20.0,
            (frame.x0 + frame.x1) / 2.0,
            frame.y0 + 50.0
        );
        for (i, text) in wrap(&latency.note, 66).iter().take(6).enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                (frame.x0 + frame.x1) / 2.0,
                frame.y0 + 78.0 + 16.0 * i as f64,
                escape(text)
            );
        }
    }
    out.push_str("</svg>\n");
    if latency.recorded && !bins.is_empty() {
        out.push_str("<table class=\"data\">\n<thead><tr><th>latency (ms)</th><th class=\"n\">items</th></tr></thead>\n<tbody>\n");
        for (label, n) in bins {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
                escape(label)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">Decision latency: {}.</p>",
        escape(&latency.note)
    );
    out.push_str("</figure>\n");
}

fn charts_section(out: &mut String, record: &BatchRecord) {
    out.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n<div class=\"charts\">\n");
    chart_rejects(out, record);
    chart_grades(out, record);
    chart_rate(out, record);
    chart_latency(out, record);
    out.push_str("</div>\n</section>\n");
}

fn time_tick(ms: i64, span_ms: i64) -> String {
    let text = clock::format_unix_ms(ms);
    if span_ms >= 2 * 86_400_000 {
        text.get(5..16).unwrap_or(&text).replace('T', " ")
    } else {
        text.get(11..19).unwrap_or(&text).to_string()
    }
}

fn event_colour(kind: &str) -> &'static str {
    match kind {
        "signature" => "#283593",
        "signature.failed" => "#b71c1c",
        "alarm" => "#d50000",
        _ => "#616161",
    }
}

fn timeline_section(out: &mut String, record: &BatchRecord) {
    out.push_str("<section id=\"timeline\">\n<h2>Alarms and holds</h2>\n");
    let title = "Batch states, holds and events over time";
    figure_open(out, "chart-timeline", title, true);
    let frame = Frame {
        w: 1100.0,
        h: 190.0,
        x0: 70.0,
        x1: 1084.0,
        y0: 18.0,
        y1: 122.0,
    };
    svg_open(out, "svg-timeline", &frame, title);
    let start = record.span_start_ms;
    let span = (record.span_end_ms - start).max(1);
    let sx = |ms: i64| -> f64 {
        frame.x0 + ((ms - start) as f64 / span as f64).clamp(0.0, 1.0) * frame.pw()
    };
    // Lanes.
    let (state_top, state_h) = (22.0, 56.0);
    let (event_top, event_h) = (88.0, 26.0);
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">state</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">events</text>\
         <text class=\"axis-label\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">lane</text>",
        frame.x0 - 6.0,
        state_top + state_h / 2.0 + 4.0,
        frame.x0 - 6.0,
        event_top + event_h / 2.0 + 4.0,
        (frame.y0 + frame.y1) / 2.0
    );
    for s in &record.timeline {
        let x = sx(s.from_ms);
        let width = (sx(s.to_ms) - x).max(2.0);
        let label = state_label(s);
        let _ = writeln!(
            out,
            "<rect class=\"mark state state-{}{}\" x=\"{x:.1}\" y=\"{state_top:.1}\" width=\"{width:.1}\" height=\"{state_h:.1}\" fill=\"{}\"><title>{} from {} to {}{}</title></rect>",
            css_class(&s.state),
            if s.hold { " hold" } else { "" },
            state_colour(s),
            escape(&label),
            escape(&s.from),
            s.to.as_deref()
                .map_or_else(|| "the time of this record".to_string(), escape),
            if s.actor.is_empty() {
                String::new()
            } else {
                format!(" (by {})", escape(&s.actor))
            }
        );
        if width > 8.0 * label.chars().count() as f64 {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" style=\"fill:#fff\">{}</text>",
                x + 4.0,
                state_top + state_h - 6.0,
                escape(&label)
            );
        }
    }
    let _ = writeln!(
        out,
        "<line class=\"lane\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#bbb\" stroke-width=\"1\"/>",
        frame.x0,
        event_top + event_h / 2.0,
        frame.x1,
        event_top + event_h / 2.0
    );
    for e in &record.events {
        let x = sx(e.at_ms);
        let _ = writeln!(
            out,
            "<path class=\"event event-{}\" d=\"M{x:.1} {:.1} l-5 -9 h10 z M{x:.1} {:.1} v{:.1}\" fill=\"{c}\" stroke=\"{c}\" stroke-width=\"1.5\"><title>{}: {}</title></path>",
            css_class(&e.kind),
            event_top + 12.0,
            event_top + 12.0,
            event_h - 12.0,
            escape(&e.at),
            escape(&e.text),
            c = event_colour(&e.kind)
        );
    }
    // Time axis.
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#444\" stroke-width=\"1\"/>\
         <line class=\"axis\" x1=\"{x0:.1}\" y1=\"{:.1}\" x2=\"{x0:.1}\" y2=\"{y:.1}\" stroke=\"#444\" stroke-width=\"1\"/>",
        frame.x0,
        frame.x1,
        frame.y0,
        y = frame.y1,
        x0 = frame.x0
    );
    for i in 0..=4 {
        let ms = start + span * i / 4;
        let x = sx(ms);
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            frame.y1,
            frame.y1 + 4.0,
            frame.y1 + 16.0,
            escape(&time_tick(ms, span))
        );
    }
    let _ = writeln!(
        out,
        "<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">time (UTC), {} from {} to {}</text>",
        (frame.x0 + frame.x1) / 2.0,
        frame.y1 + 34.0,
        escape(&duration(span)),
        escape(&clock::format_unix_ms(start)),
        escape(&clock::format_unix_ms(record.span_end_ms))
    );
    let mut seen: Vec<(String, &str)> = Vec::new();
    for s in &record.timeline {
        let label = if s.hold {
            "held".to_string()
        } else {
            s.state.clone()
        };
        if !seen.iter().any(|(l, _)| *l == label) {
            seen.push((label, state_colour(s)));
        }
    }
    legend(out, &frame, &seen);
    out.push_str("</svg>\n");
    out.push_str(
        "<table class=\"data\">\n<thead><tr><th>state</th><th>reason</th><th>from (UTC)</th><th>to (UTC)</th>\
         <th class=\"n\">duration</th><th>by</th></tr></thead>\n<tbody>\n",
    );
    for s in &record.timeline {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&state_label(s)),
            or_dash(s.reason.as_deref()),
            escape(&s.from),
            s.to.as_deref()
                .map_or_else(|| "(still)".to_string(), escape),
            escape(&duration(s.to_ms - s.from_ms)),
            escape(&s.actor)
        );
    }
    out.push_str("</tbody>\n</table>\n</figure>\n");
    let holds = record.timeline.iter().filter(|s| s.hold).count();
    let _ = writeln!(
        out,
        "<p>{holds} holds (the line paused the batch with a reason). The daemon keeps alarms in \
         memory and records them in the store only when an operator acknowledges them; an alarm \
         nobody acknowledged is not in this record, but the hold it caused is (above, as a state \
         change with its reason).</p>"
    );
    out.push_str("<h3>Acknowledged alarms</h3>\n");
    if record.alarms.is_empty() {
        out.push_str("<p>None recorded.</p>\n");
    } else {
        out.push_str(
            "<table class=\"data\">\n<thead><tr><th class=\"n\">alarm</th><th>raised (UTC)</th><th>text</th>\
             <th>acknowledged (UTC)</th><th>by</th></tr></thead>\n<tbody>\n",
        );
        for a in &record.alarms {
            let _ = writeln!(
                out,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a.id.map_or_else(|| "–".to_string(), |id| id.to_string()),
                escape(&a.raised_at),
                escape(&a.text),
                escape(&a.acknowledged_at),
                escape(&a.acknowledged_by)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn json_cell(text: Option<&str>) -> String {
    match text {
        None => "–".to_string(),
        Some(t) => format!("<code>{}</code>", escape(t)),
    }
}

fn actions_section(out: &mut String, record: &BatchRecord) {
    let b = &record.bookkeeping;
    out.push_str("<section id=\"actions\">\n<h2>Operator actions (audit trail)</h2>\n");
    let _ = writeln!(
        out,
        "<p>The audit rows of this batch, oldest first. Not listed: {} line-record group \
         commits (from {} to {}) and {} allocation rows handing out {} serials; their sums are in \
         the reconciliation.</p>",
        b.line_record_groups,
        or_dash(b.first_line_record_at.as_deref()),
        or_dash(b.last_line_record_at.as_deref()),
        b.allocation_rows,
        b.allocated_serials
    );
    if record.actions.is_empty() {
        out.push_str("<p>No audit rows.</p>\n");
    } else {
        out.push_str(
            "<table class=\"data\">\n<thead><tr><th class=\"n\">row</th><th>time (UTC)</th><th>actor</th>\
             <th>action</th><th>subject</th><th>before</th><th>after</th></tr></thead>\n<tbody>\n",
        );
        for a in &record.actions {
            let _ = writeln!(
                out,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a.id,
                escape(&a.at),
                escape(&a.actor),
                escape(&a.action),
                escape(&a.subject),
                json_cell(a.before.as_deref()),
                json_cell(a.after.as_deref())
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if record.actions_truncated {
        let _ = writeln!(
            out,
            "<p class=\"bad\">Only the first {} rows are listed: see <code>serialstation audit list</code>.</p>",
            record.actions.len()
        );
    }
    out.push_str("</section>\n");
}

fn challenge_section(out: &mut String, record: &BatchRecord) {
    let c = &record.challenge;
    out.push_str("<section id=\"challenge\">\n<h2>Challenge test evidence</h2>\n");
    let _ = writeln!(
        out,
        "<p><span class=\"{}\">{}</span>: {}</p>",
        match c.outcome.as_str() {
            "passed" => "ok",
            "not run" | "running" => "",
            _ => "bad",
        },
        escape(&c.outcome),
        escape(&c.summary)
    );
    if c.ran {
        out.push_str(
            "<table>\n<thead><tr><th>items recorded during the test</th><th class=\"n\">items</th></tr></thead>\n<tbody>\n",
        );
        let _ = writeln!(
            out,
            "<tr><td>all</td><td class=\"n\">{}</td></tr>\n<tr><td>rejected, reject confirmed</td><td class=\"n\">{}</td></tr>\n\
             <tr><td>rejected without a printed serial (blank items)</td><td class=\"n\">{}</td></tr>",
            c.items, c.rejected_confirmed, c.blank_rejects
        );
        for (what, n) in &c.other {
            let _ = writeln!(
                out,
                "<tr><td>other: {}</td><td class=\"n\">{n}</td></tr>",
                escape(what)
            );
        }
        out.push_str("</tbody>\n</table>\n");
        out.push_str(
            "<p class=\"note\">The items are those first recorded between the start of the \
             <code>challenge</code> state and the next state change. The number of challenge \
             items the operator asked for is not recorded in the store.</p>\n",
        );
    }
    out.push_str("</section>\n");
}

fn rejects_section(out: &mut String, record: &BatchRecord) {
    out.push_str("<section id=\"last-rejects\">\n<h2>Last rejected items</h2>\n");
    if record.last_rejects.is_empty() {
        out.push_str(if record.items == 0 {
            "<p>No rejects: no items were recorded.</p>\n"
        } else {
            "<p>No rejected items.</p>\n"
        });
        out.push_str("</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<p>The last {} rejected items, newest first.</p>",
        record.last_rejects.len()
    );
    out.push_str(
        "<table class=\"data\">\n<thead><tr><th class=\"n\">item (seq)</th><th>time (UTC)</th><th>serial</th>\
         <th>reason</th><th class=\"n\">grade</th><th>fate at the gate</th></tr></thead>\n<tbody>\n",
    );
    for r in &record.last_rejects {
        let _ = writeln!(
            out,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            r.seq,
            escape(&r.at),
            r.serial.as_deref().map_or_else(
                || "(none identified)".to_string(),
                |s| format!("<code>{}</code>", escape(s))
            ),
            escape(reason_label(r.reason.as_deref().unwrap_or(""))),
            r.grade.map_or_else(
                || "–".to_string(),
                |g| format!("{} ({g:.1})", grade_letter(g))
            ),
            or_dash(r.fate.as_deref())
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn delivery_status(d: &crate::store::record_reads::BatchDelivery) -> (&'static str, &'static str) {
    if d.documents_parked > 0 {
        (
            "bad",
            "PARKED: the site server refused a document; fix the cause, then `serialstation upload retry`",
        )
    } else if d.serial_rows_waiting > 0 || d.documents_pending > 0 || d.documents_in_flight > 0 {
        ("", "in progress")
    } else if d.documents_sent > 0 {
        ("ok", "delivered")
    } else {
        ("", "nothing sent")
    }
}

fn delivery_section(out: &mut String, record: &BatchRecord) {
    out.push_str("<section id=\"upload\">\n<h2>Upload delivery per client</h2>\n");
    if record.deliveries.is_empty() {
        out.push_str(
            "<p>This batch has no outbox rows (nothing to report to a site server yet).</p>\n",
        );
    } else {
        out.push_str(
            "<table class=\"data\">\n<thead><tr><th>client</th><th>serial rows by kind</th>\
             <th class=\"n\">waiting</th><th class=\"n\">in documents</th><th class=\"n\">documents sent</th>\
             <th class=\"n\">pending</th><th class=\"n\">in flight</th><th class=\"n\">parked</th>\
             <th>last sent</th><th>last error</th><th>status</th></tr></thead>\n<tbody>\n",
        );
        for d in &record.deliveries {
            let kinds: Vec<String> = d
                .serial_rows_by_kind
                .iter()
                .map(|(k, n)| format!("{} {n}", escape(k)))
                .collect();
            let (class, status) = delivery_status(d);
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>\
                 <td class=\"{class}\">{}</td></tr>",
                escape(&d.client_id),
                kinds.join(", "),
                d.serial_rows_waiting,
                d.serial_rows_chunked,
                d.documents_sent,
                d.documents_pending,
                d.documents_in_flight,
                d.documents_parked,
                or_dash(d.last_sent_at.as_deref()),
                or_dash(d.last_error.as_deref()),
                escape(status)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("<h3>Every client's outbox (all batches, as <code>serialstation upload status</code> shows it)</h3>\n");
    if record.outbox_overall.is_empty() {
        out.push_str("<p>No EPCIS documents in the outbox.</p>\n");
    } else {
        out.push_str(
            "<table class=\"data\">\n<thead><tr><th>client</th><th class=\"n\">pending</th><th class=\"n\">in flight</th>\
             <th class=\"n\">parked</th><th class=\"n\">sent</th><th>oldest unsent</th><th>last error</th></tr></thead>\n<tbody>\n",
        );
        for c in &record.outbox_overall {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.client_id),
                c.pending,
                c.in_flight,
                c.parked,
                c.sent,
                or_dash(c.oldest_unsent_created_at.as_deref()),
                or_dash(c.last_error.as_deref())
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn footer(out: &mut String, record: &BatchRecord) {
    let _ = writeln!(
        out,
        "<footer>generated at {} by {} from the store <code>{}</code>; audit trail {} rows, head \
         hash <code>{}</code></footer>",
        escape(&record.generated_at),
        escape(&record.generator),
        escape(&record.store_path),
        record.report.audit_rows,
        escape(&record.report.audit_head)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::line_records::{LineBatch, LineRecord, SerialOutcome};
    use crate::store::{Actor, BatchId, NewBatch, SerialLine, Store};

    const GTIN: &str = "09506000134352";

    fn store_with_batch(dir: &std::path::Path, lot: &str) -> (Store, LineBatch) {
        let mut store = Store::open(dir.join("record.sqlite")).expect("store opens");
        let actor = Actor::new("test");
        let config = crate::config::parse_client_config(
            "acme.toml",
            include_str!("../../config/clients/acme.toml"),
        )
        .config
        .expect("example client parses");
        store
            .load_client_config(&config, &actor)
            .expect("client loads");
        let gtin = crate::gs1::Gtin::parse(GTIN).expect("gtin");
        let batch = store
            .create_batch(
                &NewBatch {
                    gtin: gtin.clone(),
                    lot: lot.to_string(),
                    expiry: "301231".to_string(),
                    quantity: 10,
                },
                &actor,
            )
            .expect("batch");
        let line = LineBatch {
            batch,
            gtin,
            client_id: "acme".to_string(),
            lot: lot.to_string(),
            expiry: "301231".to_string(),
        };
        (store, line)
    }

    fn record_of(store: &Store, batch: BatchId) -> BatchRecord {
        BatchRecord::build(store, batch).expect("record builds")
    }

    #[test]
    fn store_text_is_escaped_everywhere() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, line) = store_with_batch(dir.path(), "<script>");
        let html = render(&record_of(&store, line.batch));
        assert!(!html.contains("<script"), "a lot must not open a script");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert!(!css_string("</style>\"").contains('<'));
        assert!(!css_string("</style>\"").contains('"'));
    }

    #[test]
    fn an_empty_batch_renders_and_says_no_items() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, line) = store_with_batch(dir.path(), "EMPTY1");
        let record = record_of(&store, line.batch);
        assert_eq!(record.items, 0);
        let html = render(&record);
        assert!(html.contains("no items"));
        assert!(html.contains("not recorded"));
        assert!(html.contains("@page { size: A4; margin: 15mm; }"));
        for id in [
            "svg-rejects",
            "svg-grades",
            "svg-rate",
            "svg-latency",
            "svg-timeline",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
        }
    }

    #[test]
    fn every_chart_has_data_marks_for_a_batch_with_items() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut store, line) = store_with_batch(dir.path(), "L<1>&2");
        let actor = Actor::new("test");
        let serials = ["SN1", "SN2", "SN3", "SN4"];
        let lines = serials.iter().enumerate().map(|(i, s)| {
            Ok(SerialLine {
                line: i as u64 + 1,
                serial: s.to_string(),
            })
        });
        store
            .import_serials(&line.gtin, lines, "test", &actor)
            .expect("import");
        store
            .allocate_block(line.batch, &line.gtin, 4, &actor)
            .expect("allocate");
        let mut records = vec![LineRecord::BatchState {
            state: "running".to_string(),
            reason: None,
        }];
        for (i, s) in serials.iter().enumerate() {
            records.push(LineRecord::PrintQueued {
                message_id: i as u64 + 1,
                serial: s.to_string(),
            });
            records.push(LineRecord::Serial {
                serial: s.to_string(),
                outcome: SerialOutcome::Encoded,
                detail: "test".to_string(),
            });
        }
        for (seq, s) in [(1u32, "SN1"), (2, "SN2")] {
            records.push(LineRecord::ItemVerdict {
                seq,
                good: true,
                reason: None,
                serial: Some(s.to_string()),
                grade: Some(3.7),
            });
            records.push(LineRecord::ItemFate {
                seq,
                fate: "exited_good".to_string(),
                serial: Some(s.to_string()),
            });
            records.push(LineRecord::Serial {
                serial: s.to_string(),
                outcome: SerialOutcome::Commissioned,
                detail: "test".to_string(),
            });
        }
        records.push(LineRecord::ItemVerdict {
            seq: 3,
            good: false,
            reason: Some("grade".to_string()),
            serial: Some("SN3".to_string()),
            grade: Some(1.0),
        });
        records.push(LineRecord::ItemFate {
            seq: 3,
            fate: "rejected_confirmed".to_string(),
            serial: Some("SN3".to_string()),
        });
        records.push(LineRecord::Serial {
            serial: "SN3".to_string(),
            outcome: SerialOutcome::Scrapped,
            detail: "test".to_string(),
        });
        records.push(LineRecord::ItemVerdict {
            seq: 4,
            good: false,
            reason: Some("no_read".to_string()),
            serial: None,
            grade: None,
        });
        records.push(LineRecord::Serial {
            serial: "SN4".to_string(),
            outcome: SerialOutcome::Scrapped,
            detail: "test".to_string(),
        });
        store
            .apply_line_records(&line, &records, &actor)
            .expect("records applied");
        let record = record_of(&store, line.batch);
        assert_eq!(record.items, 4);
        assert!(
            record.reconciliation.adds_up(),
            "{:#?}",
            record.reconciliation.checks
        );
        let html = render(&record);
        for class in [
            "class=\"mark reject r-grade\"",
            "class=\"mark reject r-no_read\"",
            "class=\"mark grade g-a\"",
            "class=\"mark rate-area\"",
            "class=\"mark not-recorded\"",
            "class=\"mark state state-running\"",
        ] {
            assert!(html.contains(class), "{class} missing");
        }
        assert!(html.contains("L&lt;1&gt;&amp;2"));
        assert!(!html.contains("L<1>"));
        assert!(!html.contains("no items"));
    }
}
