//! Drawing the console with ratatui: header, banner, progress, rate, counts,
//! devices, alarms, last rejects, upload backlog, the status line, the key help and
//! the open dialog. Works from 80×24 up and gives extra room to the lists. Every
//! text that comes from the daemon or the store is escaped
//! ([`crate::config::text::escape_unsafe`]) before it reaches the terminal.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Sparkline, Wrap};

use crate::config::text::escape_unsafe;
use crate::control::protocol::BatchView;
use crate::limits::thousands;

use super::forms::Form;
use super::state::{Confirm, Connection, Console, Dialog, PasswordPrompt, Tone, grade_letter};

/// The smallest terminal the console draws in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Widest dialog.
const DIALOG_WIDTH: u16 = 76;
/// Width of a form's input box.
const INPUT_WIDTH: usize = 22;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, console: &Console) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = vec![
            Line::from(Span::styled(
                "enlarge the terminal to at least 80×24".to_string(),
                bold(),
            )),
            Line::from(format!("(it is {}×{} now)", area.width, area.height)),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let banner = banner_lines(console, usize::from(area.width));
    let banner_height = wrapped_rows(&banner, usize::from(area.width)).min(4) as u16;
    let footer = footer_lines(console, area.width);
    let tall = area.height >= 32;
    let [
        header_area,
        banner_area,
        gauge_area,
        rate_area,
        main_area,
        status_area,
        footer_area,
    ] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(banner_height),
        Constraint::Length(1),
        Constraint::Length(if tall { 3 } else { 1 }),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(footer.len().min(3) as u16),
    ])
    .areas(area);
    draw_header(frame, header_area, console);
    if !banner.is_empty() {
        frame.render_widget(
            Paragraph::new(banner).wrap(Wrap { trim: false }),
            banner_area,
        );
    }
    draw_progress(frame, gauge_area, console);
    draw_rate(frame, rate_area, console);
    draw_main(frame, main_area, console);
    frame.render_widget(Paragraph::new(status_line(console)), status_area);
    frame.render_widget(Paragraph::new(footer), footer_area);
    if let Some(dialog) = &console.dialog {
        draw_dialog(frame, area, dialog);
    }
}

fn safe(text: &str) -> String {
    escape_unsafe(text).into_owned()
}

/// `text` cut to `width` characters, with "…" when cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// The last `width` characters of `text` (an input box shows the end being typed).
fn tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(width)).collect()
}

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn red() -> Style {
    Style::new().fg(Color::Red)
}

fn green() -> Style {
    Style::new().fg(Color::Green)
}

fn yellow() -> Style {
    Style::new().fg(Color::Yellow)
}

/// HH:MM:SS of an ISO 8601 time, or the text itself.
fn time_of(at: &str) -> String {
    match at.split_once('T') {
        Some((_, time)) => time.chars().take(8).collect(),
        None => at.to_string(),
    }
}

/// "12 min" (or "1 h 5 min", "under 1 min").
pub fn format_eta(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".to_string();
    }
    let total = seconds.max(0.0).round() as u64;
    if total < 60 {
        "under 1 min".to_string()
    } else if total < 3600 {
        format!("{} min", (total + 30) / 60)
    } else {
        format!("{} h {} min", total / 3600, (total % 3600) / 60)
    }
}

/// A GS1 YYMMDD expiry as YYYY-MM-DD (other text as it is).
fn expiry_text(expiry: &str, current_year: i32) -> String {
    let bytes = expiry.as_bytes();
    if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
        return safe(expiry);
    }
    let yy = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
    let year = crate::gs1::date::full_year(yy, current_year);
    format!("{year:04}-{}-{}", &expiry[2..4], &expiry[4..6])
}

fn state_style(batch: &BatchView) -> Style {
    let color = match batch.state.as_str() {
        "running" | "challenge" => Color::Green,
        "paused" | "stopping" => Color::Yellow,
        "challenge_failed" => Color::Red,
        _ => Color::Cyan,
    };
    Style::new().fg(color).add_modifier(Modifier::BOLD)
}

fn draw_header(frame: &mut Frame<'_>, area: Rect, console: &Console) {
    let caller = console
        .status
        .as_ref()
        .and_then(|s| s.caller.as_ref())
        .map(|c| format!("{} ({})  ", safe(&c.user), safe(&c.role)))
        .unwrap_or_default();
    let right = format!("{caller}{} UTC", console.clock);
    let right_width = (right.chars().count() as u16 + 1).min(area.width / 2);
    let [top, second_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_width)]).areas(top);
    let title = Span::styled(
        "SERIALSTATION  ".to_string(),
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    );
    let (first_line, second_line) = match (console.status.as_ref(), console.batch()) {
        (_, Some(batch)) => {
            let mut first = vec![
                title,
                Span::styled(format!("batch {}  ", batch.id), bold()),
                Span::styled(
                    batch.state.replace('_', " ").to_uppercase(),
                    state_style(batch),
                ),
            ];
            if let Some(hold) = &batch.hold {
                first.push(Span::styled(format!("  held: {}", safe(hold)), yellow()));
            }
            (
                Line::from(first),
                Line::from(vec![
                    Span::styled("GTIN ".to_string(), dim()),
                    Span::raw(safe(&batch.gtin)),
                    Span::styled("  lot ".to_string(), dim()),
                    Span::raw(safe(&batch.lot)),
                    Span::styled("  expiry ".to_string(), dim()),
                    Span::raw(expiry_text(&batch.expiry, console.today.year)),
                    Span::styled("  client ".to_string(), dim()),
                    Span::raw(safe(&batch.client)),
                ]),
            )
        }
        (Some(status), None) => (
            Line::from(vec![title, Span::raw("no active batch".to_string())]),
            Line::from(Span::styled(
                format!("store {}", safe(&status.store)),
                dim(),
            )),
        ),
        (None, None) => (
            Line::from(vec![
                title,
                Span::raw("waiting for the station daemon…".to_string()),
            ]),
            Line::from(""),
        ),
    };
    frame.render_widget(Paragraph::new(first_line), left_area);
    frame.render_widget(Paragraph::new(second_line), second_area);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(right, bold())).right_aligned()),
        right_area,
    );
}

/// Rows `lines` take when wrapped to `width` (word wrapping may need one more row
/// than the characters alone; a long line gets it).
fn wrapped_rows(lines: &[Line<'_>], width: usize) -> usize {
    let width = width.max(1);
    lines
        .iter()
        .map(|line| {
            let chars = line.width();
            if chars <= width {
                1
            } else {
                chars.div_ceil(width) + 1
            }
        })
        .sum()
}

fn banner_lines(console: &Console, width: usize) -> Vec<Line<'static>> {
    let alert = Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    match &console.connection {
        Connection::Lost { reason } => {
            let contact = console
                .last_contact
                .as_ref()
                .map_or("no contact yet".to_string(), |t| {
                    format!("last contact {t}")
                });
            lines.push(Line::from(Span::styled(
                format!(
                    "reconnecting to the station daemon at {}… ({contact} UTC)",
                    safe(&console.socket)
                ),
                alert,
            )));
            lines.push(Line::from(Span::styled(
                fit(&safe(reason), width),
                yellow(),
            )));
        }
        Connection::Connecting => lines.push(Line::from(Span::styled(
            format!(
                "connecting to the station daemon at {}…",
                safe(&console.socket)
            ),
            yellow(),
        ))),
        Connection::Connected => {}
    }
    if let Some(note) = &console.status_note {
        lines.push(Line::from(Span::styled(safe(note), yellow())));
    }
    if let Some(recovering) = console.status.as_ref().and_then(|s| s.recovering.as_ref()) {
        lines.push(Line::from(Span::styled(
            format!("RECOVERING: {}", safe(recovering)),
            alert,
        )));
    }
    lines
}

fn draw_progress(frame: &mut Frame<'_>, area: Rect, console: &Console) {
    let Some(batch) = console.batch() else {
        let text = if console.status.is_some() {
            "no batch running — press s to start one"
        } else {
            ""
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(text.to_string(), bold()))),
            area,
        );
        return;
    };
    let ratio = if batch.quantity == 0 {
        0.0
    } else {
        batch.commissioned as f64 / batch.quantity as f64
    };
    let ratio = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eta = match batch.eta_s {
        Some(seconds) if batch.hold.is_none() => format!("ETA {}", format_eta(seconds)),
        _ => "ETA —".to_string(),
    };
    let label = format!(
        "{} / {} commissioned · {:.1} % · {eta}",
        thousands(batch.commissioned),
        thousands(batch.quantity),
        ratio * 100.0
    );
    let color = if batch.hold.is_some() {
        Color::Yellow
    } else {
        Color::Green
    };
    let gauge = Gauge::default()
        .ratio(ratio)
        .label(Span::styled(
            label,
            Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
        ))
        .gauge_style(Style::new().fg(color).bg(Color::Black))
        .use_unicode(true);
    frame.render_widget(gauge, area);
}

fn draw_rate(frame: &mut Frame<'_>, area: Rect, console: &Console) {
    let [text_area, spark_area] =
        Layout::horizontal([Constraint::Length(30), Constraint::Fill(1)]).areas(area);
    let rate = console.batch().map_or(0.0, |b| b.rate_per_min);
    let rate = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("rate now ".to_string(), dim()),
            Span::styled(
                format!("{} items/min", thousands(rate.round() as u64)),
                bold(),
            ),
        ])),
        text_area,
    );
    let history: &[f64] = match &console.status {
        Some(status) => &status.rate_history,
        None => &[],
    };
    let width = usize::from(spark_area.width);
    let values: Vec<u64> = history
        .iter()
        .skip(history.len().saturating_sub(width))
        .map(|v| {
            if v.is_finite() && *v > 0.0 {
                v.round() as u64
            } else {
                0
            }
        })
        .collect();
    if values.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                "no rate history yet".to_string(),
                dim(),
            ))),
            spark_area,
        );
    } else {
        frame.render_widget(
            Sparkline::default()
                .data(&values)
                .style(Style::new().fg(Color::Cyan)),
            spark_area,
        );
    }
}

fn section(title: &str) -> Block<'static> {
    Block::new()
        .borders(Borders::TOP)
        .border_style(dim())
        .title(Line::from(Span::styled(format!(" {title} "), bold())))
}

fn draw_main(frame: &mut Frame<'_>, area: Rect, console: &Console) {
    let upload = upload_lines(console, usize::from(area.width));
    let upload_height = upload.len().clamp(1, 4) as u16 + 1;
    let [columns, upload_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(upload_height)]).areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(columns);
    let devices = device_lines(console);
    let devices_height = devices.len().clamp(1, 6) as u16 + 1;
    let [counts_area, devices_area, line_area] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Length(devices_height),
        Constraint::Fill(1),
    ])
    .areas(left);
    let [alarms_area, rejects_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(right);

    frame.render_widget(
        Paragraph::new(count_lines(console)).block(section("Counts")),
        counts_area,
    );
    frame.render_widget(
        Paragraph::new(devices).block(section("Devices")),
        devices_area,
    );
    frame.render_widget(
        Paragraph::new(line_lines(console)).block(section("Line")),
        line_area,
    );
    let alarm_rows = usize::from(alarms_area.height.saturating_sub(1));
    frame.render_widget(
        Paragraph::new(alarm_lines(console, alarm_rows))
            .block(section("Alarms  ↑↓ select · a ack")),
        alarms_area,
    );
    frame.render_widget(
        Paragraph::new(reject_lines(console, usize::from(rejects_area.width)))
            .block(section("Last rejects")),
        rejects_area,
    );
    frame.render_widget(
        Paragraph::new(upload).block(section("Upload backlog")),
        upload_area,
    );
}

fn count_lines(console: &Console) -> Vec<Line<'static>> {
    let Some(batch) = console.batch() else {
        return vec![Line::from(Span::styled("no batch".to_string(), dim()))];
    };
    let decided = batch.good_verdicts + batch.rejects;
    let share = if decided == 0 {
        0.0
    } else {
        batch.rejects as f64 * 100.0 / decided as f64
    };
    let reasons = if batch.rejects_by_reason.is_empty() {
        "none".to_string()
    } else {
        batch
            .rejects_by_reason
            .iter()
            .map(|(reason, n)| format!("{} {}", safe(reason), thousands(*n)))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let grades = if console.history.batch == Some(batch.id) && console.history.error.is_none() {
        ["A", "B", "C", "D", "F"]
            .iter()
            .map(|letter| {
                format!(
                    "{letter} {}",
                    thousands(console.history.grades.get(*letter).copied().unwrap_or(0))
                )
            })
            .collect::<Vec<_>>()
            .join("  ")
    } else {
        "reading the store…".to_string()
    };
    vec![
        Line::from(vec![
            Span::styled("good ".to_string(), dim()),
            Span::styled(
                thousands(batch.good_verdicts),
                green().add_modifier(Modifier::BOLD),
            ),
            Span::styled("   rejected ".to_string(), dim()),
            Span::styled(thousands(batch.rejects), red().add_modifier(Modifier::BOLD)),
            Span::styled(format!(" ({share:.1} %)"), dim()),
        ]),
        Line::from(vec![
            Span::styled("by reason ".to_string(), dim()),
            Span::raw(reasons),
        ]),
        Line::from(vec![
            Span::styled("grades ".to_string(), dim()),
            Span::raw(grades),
        ]),
        Line::from(vec![
            Span::styled("allocated ".to_string(), dim()),
            Span::raw(thousands(batch.allocated)),
            Span::styled("  scrapped ".to_string(), dim()),
            Span::raw(thousands(batch.scrapped)),
            Span::styled("  sampled ".to_string(), dim()),
            Span::raw(thousands(batch.sampled)),
        ]),
        Line::from(vec![
            Span::styled("invalidated ".to_string(), dim()),
            Span::raw(thousands(batch.invalidated)),
            Span::styled("  returned ".to_string(), dim()),
            Span::raw(thousands(batch.returned)),
            Span::styled("  in flight ".to_string(), dim()),
            Span::raw(thousands(batch.items_in_flight)),
        ]),
    ]
}

fn device_lines(console: &Console) -> Vec<Line<'static>> {
    let Some(status) = &console.status else {
        return vec![Line::from(Span::styled("unknown".to_string(), dim()))];
    };
    if status.devices.is_empty() {
        return vec![Line::from(Span::styled("no devices".to_string(), dim()))];
    }
    status
        .devices
        .iter()
        .map(|device| {
            let mut spans = vec![
                Span::raw(format!("{:<10}", fit(&safe(&device.name), 10))),
                if device.online {
                    Span::styled("online ".to_string(), green())
                } else {
                    Span::styled("OFFLINE".to_string(), red().add_modifier(Modifier::BOLD))
                },
            ];
            if let Some(since) = &device.since {
                spans.push(Span::styled(
                    format!("  since {}", safe(&time_of(since))),
                    dim(),
                ));
            }
            Line::from(spans)
        })
        .collect()
}

fn line_lines(console: &Console) -> Vec<Line<'static>> {
    let Some(status) = &console.status else {
        return Vec::new();
    };
    let mut lines = vec![if status.plc_alarms.is_empty() {
        Line::from(vec![
            Span::styled("PLC alarms ".to_string(), dim()),
            Span::raw("none".to_string()),
        ])
    } else {
        Line::from(vec![
            Span::styled("PLC alarms ".to_string(), dim()),
            Span::styled(safe(&status.plc_alarms), red().add_modifier(Modifier::BOLD)),
        ])
    }];
    if let Some(batch) = &status.batch {
        lines.push(Line::from(vec![
            Span::styled("printer queue ".to_string(), dim()),
            Span::raw(thousands(batch.printer_queue)),
            Span::styled("  holds ".to_string(), dim()),
            Span::raw(thousands(batch.holds)),
        ]));
    }
    lines
}

fn alarm_lines(console: &Console, rows: usize) -> Vec<Line<'static>> {
    let Some(status) = &console.status else {
        return Vec::new();
    };
    let alarms = console.alarms();
    if alarms.is_empty() {
        // A daemon without alarm ids: the texts alone.
        if !status.alarms.is_empty() {
            return status
                .alarms
                .iter()
                .rev()
                .take(rows.max(1))
                .map(|text| Line::from(Span::styled(safe(text), yellow())))
                .collect();
        }
        return vec![Line::from(Span::styled("no alarms".to_string(), dim()))];
    }
    let selected = alarms
        .iter()
        .position(|a| Some(a.id) == console.selected_alarm)
        .unwrap_or(0);
    let rows = rows.max(1);
    let first = (selected + 1).saturating_sub(rows);
    alarms
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, alarm)| {
            let is_selected = i == selected && console.selected_alarm.is_some();
            let (mark, style) = if alarm.acknowledged {
                ("✓", dim())
            } else {
                ("!", yellow().add_modifier(Modifier::BOLD))
            };
            let style = if is_selected {
                style.add_modifier(Modifier::REVERSED)
            } else {
                style
            };
            Line::from(Span::styled(
                format!(
                    "{}{mark} #{} {} {}",
                    if is_selected { "▶" } else { " " },
                    alarm.id,
                    safe(&time_of(&alarm.at)),
                    safe(&alarm.text)
                ),
                style,
            ))
        })
        .collect()
}

fn reject_lines(console: &Console, width: usize) -> Vec<Line<'static>> {
    let history = &console.history;
    if let Some(error) = &history.error {
        return vec![Line::from(Span::styled(
            format!("cannot read the store (retrying): {}", safe(error)),
            red(),
        ))];
    }
    let Some(batch) = console.batch().map(|b| b.id).or(console.last_batch) else {
        return vec![Line::from(Span::styled("no batch".to_string(), dim()))];
    };
    if history.batch != Some(batch) {
        return vec![Line::from(Span::styled(
            "reading the store…".to_string(),
            dim(),
        ))];
    }
    if history.rejects.is_empty() {
        return vec![Line::from(Span::styled(
            "no rejects yet".to_string(),
            dim(),
        ))];
    }
    // seq (7) + serial + reason (12) + grade (8), one space between.
    let serial_width = width.saturating_sub(7 + 1 + 1 + 12 + 1 + 8).max(6);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:>7} {:<serial_width$} {:<12} grade",
            "seq", "serial", "reason"
        ),
        dim(),
    ))];
    for item in &history.rejects {
        let serial = item.serial.as_deref().map_or("—".to_string(), safe);
        let reason = item.reason.as_deref().map_or("—".to_string(), safe);
        let grade = item
            .grade
            .map_or("—".to_string(), |g| format!("{} {g:.1}", grade_letter(g)));
        lines.push(Line::from(format!(
            "{:>7} {:<serial_width$} {:<12} {grade}",
            item.seq,
            fit(&serial, serial_width),
            fit(&reason, 12)
        )));
    }
    lines
}

fn upload_lines(console: &Console, width: usize) -> Vec<Line<'static>> {
    let history = &console.history;
    if let Some(error) = &history.error {
        return vec![Line::from(Span::styled(
            fit(
                &format!("cannot read the store (retrying): {}", safe(error)),
                width,
            ),
            red(),
        ))];
    }
    if history.backlog.is_empty() {
        return vec![Line::from(Span::styled(
            "nothing waiting for any site server".to_string(),
            dim(),
        ))];
    }
    history
        .backlog
        .iter()
        .map(|row| {
            let mut spans = vec![
                Span::styled(format!("{}: ", safe(&row.client)), bold()),
                Span::raw(format!(
                    "{} serials waiting · {} pending · {} in flight · ",
                    thousands(row.waiting),
                    thousands(row.pending),
                    thousands(row.in_flight)
                )),
                Span::styled(
                    format!("{} parked", thousands(row.parked)),
                    if row.parked > 0 { red() } else { Style::new() },
                ),
            ];
            if let Some(error) = &row.last_error {
                spans.push(Span::styled(
                    format!(" · last error: {}", safe(error)),
                    red(),
                ));
            }
            Line::from(spans)
        })
        .collect()
}

fn status_line(console: &Console) -> Line<'static> {
    if let Some(flight) = &console.in_flight {
        return Line::from(Span::styled(
            format!(
                "sending… {} (waiting for the daemon's answer)",
                safe(&flight.what)
            ),
            yellow(),
        ));
    }
    match &console.message {
        Some(message) => match message.tone {
            Tone::Done => Line::from(Span::styled(format!("✔ {}", safe(&message.text)), green())),
            Tone::Refused => Line::from(Span::styled(
                format!("✘ {}", safe(&message.text)),
                red().add_modifier(Modifier::BOLD),
            )),
            Tone::Info => Line::from(safe(&message.text)),
        },
        None => Line::from(""),
    }
}

/// The keys that work now, wrapped to `width`.
fn footer_lines(console: &Console, width: u16) -> Vec<Line<'static>> {
    let keys: &[(&str, &str)] = match &console.dialog {
        None => &[
            ("s", "start"),
            ("p", "pause"),
            ("r", "resume"),
            ("t", "stop"),
            ("c", "close"),
            ("d", "decommission"),
            ("l", "release"),
            ("a", "ack alarm"),
            ("↑↓", "select"),
            ("q", "quit"),
        ],
        Some(Dialog::Form(_)) => &[
            ("Tab", "next field"),
            ("Shift-Tab", "previous"),
            ("Enter", "submit"),
            ("Ctrl-U", "clear field"),
            ("Esc", "cancel"),
            ("Ctrl-C", "quit"),
        ],
        Some(Dialog::Confirm(_)) => &[("y", "yes"), ("n", "no"), ("Ctrl-C", "quit")],
        Some(Dialog::Password(_)) => &[
            ("Enter", "sign and send"),
            ("Esc", "cancel"),
            ("Ctrl-C", "quit"),
        ],
    };
    let width = usize::from(width);
    let key_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0usize;
    for (key, label) in keys {
        let item = key.chars().count() + 1 + label.chars().count();
        let gap = if spans.is_empty() { 0 } else { 2 };
        if !spans.is_empty() && used + gap + item > width {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        }
        if !spans.is_empty() {
            spans.push(Span::raw("  ".to_string()));
            used += 2;
        }
        spans.push(Span::styled((*key).to_string(), key_style));
        spans.push(Span::raw(format!(" {label}")));
        used += item;
    }
    if !spans.is_empty() {
        lines.push(Line::from(spans));
    }
    lines
}

fn draw_dialog(frame: &mut Frame<'_>, area: Rect, dialog: &Dialog) {
    let width = area.width.saturating_sub(4).min(DIALOG_WIDTH);
    let inner = usize::from(width.saturating_sub(2));
    let (title, lines) = match dialog {
        Dialog::Form(form) => (form.title(), form_lines(form, inner)),
        Dialog::Confirm(confirm) => ("Confirm".to_string(), confirm_lines(confirm)),
        Dialog::Password(prompt) => ("Electronic signature".to_string(), password_lines(prompt)),
    };
    let rows = wrapped_rows(&lines, inner);
    let height = (rows as u16).saturating_add(2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width.saturating_sub(width)) / 2,
        area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    );
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .border_style(Style::new().fg(Color::Cyan))
                .title(Line::from(Span::styled(format!(" {title} "), bold()))),
        ),
        popup,
    );
}

fn input_box(shown: String, focused: bool) -> Span<'static> {
    let cursor = if focused { "▏" } else { "" };
    let text = format!("{shown}{cursor}");
    let style = if focused {
        Style::new().fg(Color::White).bg(Color::Blue)
    } else {
        Style::new().fg(Color::White).bg(Color::DarkGray)
    };
    Span::styled(format!("{text:<INPUT_WIDTH$}"), style)
}

fn form_lines(form: &Form, inner: usize) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from("")];
    let label_width = 12;
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let marker = if focused { "›" } else { " " };
        let label = Span::styled(
            format!("{marker} {:<10}", field.kind.label()),
            if focused { bold() } else { Style::new() },
        );
        let value = input_box(tail(&safe(&field.value), INPUT_WIDTH - 1), focused);
        let (message, style) = match form.visible_error(i) {
            Some(error) => (format!("  ✘ {}", safe(&error)), red()),
            None => (format!("  {}", field.kind.hint()), dim()),
        };
        if label_width + INPUT_WIDTH + message.chars().count() <= inner {
            lines.push(Line::from(vec![label, value, Span::styled(message, style)]));
        } else {
            lines.push(Line::from(vec![label, value]));
            lines.push(Line::from(Span::styled(
                format!("{:label_width$}{}", "", message.trim_start()),
                style,
            )));
        }
    }
    lines.push(Line::from(""));
    if let Some(note) = form.note() {
        lines.push(Line::from(Span::styled(safe(&note), dim())));
    }
    if form.attempted && !form.is_valid() {
        lines.push(Line::from(Span::styled(
            "fix the fields marked in red, then press Enter".to_string(),
            red().add_modifier(Modifier::BOLD),
        )));
    } else {
        lines.push(Line::from(Span::styled(
            "Enter submits once every field is valid; you confirm before anything is sent"
                .to_string(),
            dim(),
        )));
    }
    lines
}

fn confirm_lines(confirm: &Confirm) -> Vec<Line<'static>> {
    vec![
        Line::from(""),
        Line::from(Span::styled(safe(&confirm.question), bold())),
        Line::from(""),
        Line::from(vec![
            Span::styled("y".to_string(), bold()),
            Span::raw(" yes   ".to_string()),
            Span::styled("n".to_string(), bold()),
            Span::raw(" no (nothing is sent)".to_string()),
        ]),
    ]
}

fn password_lines(prompt: &PasswordPrompt) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(""),
        Line::from(vec![
            Span::styled("Sign: ".to_string(), dim()),
            Span::styled(safe(&prompt.submission.what), bold()),
        ]),
        Line::from(vec![
            Span::styled("meaning: ".to_string(), dim()),
            Span::raw(safe(&prompt.meaning)),
        ]),
    ];
    if let Some(note) = &prompt.note {
        lines.push(Line::from(Span::styled(safe(note), yellow())));
    }
    lines.push(Line::from(""));
    let dots = "•".repeat(prompt.input.chars().count().min(INPUT_WIDTH - 1));
    lines.push(Line::from(vec![
        Span::styled(format!("  {:<10}", "password"), bold()),
        input_box(dots, true),
    ]));
    if let Some(error) = &prompt.error {
        lines.push(Line::from(Span::styled(format!("  ✘ {error}"), red())));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "your password is never shown or kept; Enter signs and sends, Esc cancels".to_string(),
        dim(),
    )));
    lines
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::console::state::Key;
    use crate::control::protocol::{AlarmView, CallerView, DeviceView, Response, StatusReport};
    use crate::gs1::Gs1Date;

    fn screen(console: &Console, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| draw(frame, console)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..height {
            for x in 0..width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    fn today() -> Gs1Date {
        Gs1Date {
            year: 2026,
            month: 5,
            day: 14,
            day_was_zero: false,
        }
    }

    fn report(batch: Option<BatchView>) -> StatusReport {
        StatusReport {
            pid: 1,
            store: "/var/lib/station.sqlite".into(),
            recovering: None,
            devices: vec![
                DeviceView {
                    name: "printer".into(),
                    online: true,
                    since: Some("2026-05-14T09:00:00.000Z".into()),
                },
                DeviceView {
                    name: "cam\u{1b}[2Jera".into(),
                    online: false,
                    since: None,
                },
            ],
            plc_alarms: String::new(),
            batch,
            alarms: vec![],
            alarm_list: vec![AlarmView {
                id: 4,
                at: "2026-05-14T09:10:00Z".into(),
                text: "the camera went offline".into(),
                acknowledged: false,
            }],
            rate_history: vec![10.0, 20.0, 30.0, 25.0],
            caller: Some(CallerView {
                user: "alice".into(),
                role: "operator".into(),
            }),
        }
    }

    fn batch() -> BatchView {
        BatchView {
            id: 3,
            gtin: "09506000134352".into(),
            client: "acme".into(),
            lot: "L2611A".into(),
            expiry: "281130".into(),
            state: "running".into(),
            hold: None,
            quantity: 5000,
            commissioned: 1234,
            good_verdicts: 1240,
            rejects: 12,
            rejects_by_reason: BTreeMap::from([
                ("grade".to_string(), 5),
                ("no_read".to_string(), 7),
            ]),
            scrapped: 12,
            sampled: 0,
            invalidated: 2,
            returned: 0,
            allocated: 1300,
            rate_per_min: 412.0,
            eta_s: Some(720.0),
            printer_queue: 20,
            items_in_flight: 6,
            holds: 0,
        }
    }

    fn console(batch: Option<BatchView>) -> Console {
        let mut console = Console::new("/run/station.sock".into(), today());
        console.clock = "10:11:12".into();
        console.on_status(
            Ok(Response {
                ok: true,
                message: String::new(),
                batch: None,
                status: Some(report(batch)),
            }),
            "10:11:12",
        );
        console
    }

    #[test]
    fn the_main_screen_fits_80_by_24() {
        let text = screen(&console(Some(batch())), 80, 24);
        for needle in [
            "batch 3",
            "RUNNING",
            "09506000134352",
            "2028-11-30",
            "alice (operator)",
            "1,234 / 5,000 commissioned",
            "ETA 12 min",
            "412 items/min",
            "grade 5",
            "OFFLINE",
            "#4",
            "s start",
            "q quit",
        ] {
            assert!(text.contains(needle), "{needle:?} missing:\n{text}");
        }
        // The escape sequence in a device name is shown, not sent.
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("\\u{1b}"), "{text}");
    }

    #[test]
    fn without_a_batch_it_says_how_to_start_one_and_small_terminals_are_refused() {
        let text = screen(&console(None), 80, 24);
        assert!(
            text.contains("no batch running — press s to start one"),
            "{text}"
        );
        let small = screen(&console(None), 79, 24);
        assert!(
            small.contains("enlarge the terminal to at least 80×24"),
            "{small}"
        );
        let large = screen(&console(Some(batch())), 140, 45);
        assert!(large.contains("RUNNING"), "{large}");
    }

    #[test]
    fn a_lost_daemon_shows_the_reconnecting_banner() {
        let mut console = console(Some(batch()));
        console.on_status(Err("connection refused".into()), "10:11:20");
        console.clock = "10:11:30".into();
        let text = screen(&console, 80, 24);
        assert!(
            text.contains("reconnecting to the station daemon at /run/station.sock"),
            "{text}"
        );
        // The last contact (the clock shows another time).
        assert!(text.contains("10:11:12"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
        // The last status stays on screen.
        assert!(text.contains("RUNNING"), "{text}");
    }

    #[test]
    fn forms_show_errors_and_passwords_show_only_dots() {
        let mut console = console(None);
        console.handle_key(Key::Char('s'));
        for c in "0950".chars() {
            console.handle_key(Key::Char(c));
        }
        let text = screen(&console, 80, 24);
        assert!(text.contains("Start a batch"), "{text}");
        assert!(text.contains("4 of 14 digits"), "{text}");

        let mut console = console_with_held_batch();
        console.handle_key(Key::Char('r'));
        console.handle_key(Key::Char('y'));
        for c in "hunter2".chars() {
            console.handle_key(Key::Char(c));
        }
        let text = screen(&console, 80, 24);
        assert!(text.contains("•••••••"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    fn console_with_held_batch() -> Console {
        let mut held = batch();
        held.state = "paused".into();
        held.hold = Some("5 consecutive rejects".into());
        console(Some(held))
    }

    #[test]
    fn etas_read_in_minutes() {
        assert_eq!(format_eta(30.0), "under 1 min");
        assert_eq!(format_eta(720.0), "12 min");
        assert_eq!(format_eta(3900.0), "1 h 5 min");
    }
}
